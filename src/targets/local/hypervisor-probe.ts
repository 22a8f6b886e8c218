/**
 * The hypervisor probe: boots a kernel (the guest image's, with no initramfs: only its first
 * console line matters) under QEMU with KVM for a few seconds; if that line never comes, the same
 * kernel under TCG as the control, so the reason can tell "KVM hangs" from "this kernel prints
 * nothing". hypervisor.ts decides from what happened. The result is saved for the current boot of
 * the host (/proc/sys/kernel/random/boot_id): probing again needs a reboot, or deleting the file.
 * Each QEMU is killed by its PID as soon as the line shows or the time is up.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  type BootTrial,
  decideVirtType,
  firstConsoleLine,
  type ProbeObservation,
  type SavedProbe,
  savedProbeFor,
} from './hypervisor.js';

export interface ProbeOptions {
  /** The kernel to boot, asked for only when a boot is needed (building it can take a while). */
  kernel: () => Promise<string>;
  /** Where the result of this boot is kept. */
  cacheFile: string;
  qemu?: string;
  kvmDevice?: string;
  /** How long KVM gets to print the first line (default 10 s: it takes well under one when it works). */
  kvmSeconds?: number;
  /** How long TCG gets (default 60 s: emulation is slow, and the host may be busy). */
  tcgSeconds?: number;
  bootIdFile?: string;
}

export interface HypervisorProbe extends SavedProbe {
  /** Whether this came from the file of an earlier probe in this boot. */
  cached: boolean;
}

async function onPath(binary: string): Promise<boolean> {
  const dirs = binary.includes('/') ? [''] : (process.env.PATH ?? '/usr/bin:/bin').split(':');
  for (const d of [...dirs, '/usr/bin', '/usr/local/bin']) {
    try {
      await access(d ? join(d, binary) : binary, constants.X_OK);
      return true;
    } catch {
      // Not here.
    }
  }
  return false;
}

/** Boots `kernel` under `accel` until its first console line or `seconds`; QEMU is killed either way. */
function bootTrial(qemu: string, accel: 'kvm' | 'tcg', kernel: string, seconds: number): Promise<BootTrial> {
  const args = [
    ...['-accel', accel, '-machine', 'pc', '-m', '128', '-smp', '1', '-nodefaults', '-display', 'none'],
    ...['-no-reboot', '-serial', 'stdio', '-monitor', 'none', '-kernel', kernel],
    // earlyprintk: the banner goes out before the console driver starts; panic=-1: without a root
    // file system the kernel stops, reboots and -no-reboot ends QEMU.
    ...['-append', 'console=ttyS0 earlyprintk=serial,ttyS0,115200 panic=-1'],
  ];
  return new Promise((resolve) => {
    const started = Date.now();
    const elapsed = () => (Date.now() - started) / 1000;
    const p = spawn(qemu, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let result: BootTrial | undefined;
    const finish = (r: BootTrial) => {
      if (result) return;
      result = r;
      clearTimeout(timer);
      if (p.pid !== undefined && p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    };
    const timer = setTimeout(() => finish({ seconds: elapsed() }), seconds * 1000);
    p.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const line = firstConsoleLine(out);
      if (line) finish({ firstLine: line, seconds: elapsed() });
    });
    p.stderr.setEncoding('utf8').on('data', (d: string) => {
      err = (err + d).slice(-2000);
    });
    p.on('error', (e) => {
      finish({ seconds: elapsed(), exit: `cannot run ${qemu}: ${e.message}` });
      resolve(result!);
    });
    p.on('close', (code, signal) => {
      const words = err.trim().split('\n').slice(-2).join(' ').trim();
      finish({ seconds: elapsed(), exit: `${signal ?? `exit ${code}`}${words ? `: ${words}` : ''}` });
      resolve(result!);
    });
  });
}

async function observe(o: Required<Omit<ProbeOptions, 'cacheFile' | 'bootIdFile'>>): Promise<ProbeObservation> {
  if (!(await onPath(o.qemu))) return { kind: 'no-qemu', binary: o.qemu };
  try {
    await (await open(o.kvmDevice, 'r+')).close();
  } catch (e) {
    return { kind: 'no-kvm-device', device: o.kvmDevice, code: (e as NodeJS.ErrnoException).code ?? String(e) };
  }
  const kernel = await o.kernel();
  const kvm = await bootTrial(o.qemu, 'kvm', kernel, o.kvmSeconds);
  if (kvm.firstLine || kvm.exit) return { kind: 'booted', kvm };
  return { kind: 'booted', kvm, tcg: await bootTrial(o.qemu, 'tcg', kernel, o.tcgSeconds) };
}

/** The virt_type of this host and why: saved for this boot, or probed now. */
export async function probeHypervisor(opts: ProbeOptions): Promise<HypervisorProbe> {
  const bootId = (await readFile(opts.bootIdFile ?? '/proc/sys/kernel/random/boot_id', 'utf8')).trim();
  const saved = savedProbeFor(await readFile(opts.cacheFile, 'utf8').catch(() => undefined), bootId);
  if (saved) return { ...saved, cached: true };
  const observation = await observe({
    kernel: opts.kernel,
    qemu: opts.qemu ?? 'qemu-system-x86_64',
    kvmDevice: opts.kvmDevice ?? '/dev/kvm',
    kvmSeconds: opts.kvmSeconds ?? 10,
    tcgSeconds: opts.tcgSeconds ?? 60,
  });
  const result: SavedProbe = {
    ...decideVirtType(observation),
    bootId,
    probedAt: new Date().toISOString(),
    observation,
  };
  await mkdir(dirname(opts.cacheFile), { recursive: true });
  const tmp = `${opts.cacheFile}.${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(result, null, 2)}\n`);
  await rename(tmp, opts.cacheFile);
  return { ...result, cached: false };
}
