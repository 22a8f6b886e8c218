/** Where the CLI writes and reads: the process's streams, or a test's buffers. */
import { decodeCloudText } from '../spec/load.js';
import type { CloudFile } from '../spec/schema.js';
import { readCloudStream } from '../state/cloud-file.js';

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  stdin: () => Promise<string>;
}

export const processIo: Io = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  // Bounded like a file: a cloud file on standard input stops at the loader's size limit.
  stdin: async () => decodeCloudText(await readCloudStream(process.stdin, '<stdin>'), '<stdin>'),
};

/** How a verb reads the cloud file of -f ("-" is standard input): the one reader of main.ts. */
export type ReadCloud = (file: string, io: Io) => Promise<CloudFile>;
