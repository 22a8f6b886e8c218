/** How a verb reads the cloud file of -f ("-" is standard input): the one reader of the verbs. */
import { parseCloudFile, type TargetRules } from '../spec/load.js';
import type { CloudFile } from '../spec/schema.js';
import { loadCloudFile } from '../state/cloud-file.js';
import type { Io } from './io.js';
import { expectReadableFile } from './paths.js';

export async function readCloud(file: string, io: Io, targetRules?: TargetRules): Promise<CloudFile> {
  if (file === '-') return parseCloudFile(await io.stdin(), '<stdin>', targetRules);
  // Checked here rather than with the other paths before the action, so that validate and plan
  // -o json report an unreadable file among the problems on stdout.
  await expectReadableFile({ label: '-f', path: file });
  return loadCloudFile(file, targetRules);
}
