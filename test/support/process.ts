/** Whether a process of this PID exists (signal 0): for tests that started it and stop it by PID. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
