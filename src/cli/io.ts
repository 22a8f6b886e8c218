/** Where the CLI writes and reads: the process's streams, or a test's buffers. */

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  stdin: () => Promise<string>;
}

export const processIo: Io = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  // Bounded like a file: a cloud file on standard input stops at the loader's size limit. The
  // loader is imported here, when a verb reads, so that declaring the verbs does not load it.
  stdin: async () => {
    const [{ decodeCloudText }, { readCloudStream }] = await Promise.all([
      import('../spec/load.js'),
      import('../state/cloud-file.js'),
    ]);
    return decodeCloudText(await readCloudStream(process.stdin, '<stdin>'), '<stdin>');
  },
};
