/** Compressed files of a backup: a command's output gzip'd to a file, and back. */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { OskError } from '../../../errors.js';

/** Runs `command` with its standard output gzip'd into `out` (0600); fails with the last lines of its errors. */
export async function gzipCommand(command: string[], out: string, what: string): Promise<void> {
  const p = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number>((resolve) => {
    p.on('error', (e) => {
      err += e.message;
      resolve(127);
    });
    p.on('close', (c) => resolve(c ?? 1));
  });
  await pipeline(p.stdout, createGzip({ level: 6 }), createWriteStream(out, { mode: 0o600 }));
  const code = await exited;
  if (code !== 0) throw new OskError(`${what} failed (exit ${code}): ${err.trim().split('\n').slice(-3).join(' ')}`);
}

export async function gunzipTo(gz: string, out: string): Promise<void> {
  await pipeline(createReadStream(gz), createGunzip(), createWriteStream(out, { mode: 0o600 }));
}
