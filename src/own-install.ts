/**
 * Where this osk is installed: the directory holding bin/osk.js, found upwards from this module
 * (src/ when run from the sources, dist/chunks/ in the bundled build, scripts/build.ts). The
 * supervisor is started from it, and the osk image copies it.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OskError } from './errors.js';

export function oskInstallDir(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'bin', 'osk.js'))) return dir;
    if (dirname(dir) === dir) throw new OskError(`cannot find bin/osk.js above ${fileURLToPath(import.meta.url)}`);
  }
}
