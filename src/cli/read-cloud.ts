/** How a verb reads the cloud file of -f ("-" is standard input): the one reader of the verbs. */
import { decodeCloudText, parseCloudFile, type TargetRules } from '../spec/load.js';
import { parseClusterFile } from '../spec/load-cluster.js';
import type { CloudFile } from '../spec/schema.js';
import { CLUSTER_KIND, type ClusterFile } from '../spec/schema-cluster.js';
import { loadCloudFile, readCloudBytes } from '../state/cloud-file.js';
import type { Io } from './io.js';
import { expectReadableFile } from './paths.js';

export async function readCloud(file: string, io: Io, targetRules?: TargetRules): Promise<CloudFile> {
  if (file === '-') return parseCloudFile(await io.stdin(), '<stdin>', targetRules);
  // Checked here rather than with the other paths before the action, so that validate and plan
  // -o json report an unreadable file among the problems on stdout.
  await expectReadableFile({ label: '-f', path: file });
  return loadCloudFile(file, targetRules);
}

/** The text of -f, bounded like a cloud file. */
async function readText(file: string, io: Io): Promise<{ text: string; name: string }> {
  if (file === '-') return { text: await io.stdin(), name: '<stdin>' };
  await expectReadableFile({ label: '-f', path: file });
  return { text: decodeCloudText(await readCloudBytes(file), file), name: file };
}

export async function readClusterFile(file: string, io: Io): Promise<ClusterFile> {
  const { text, name } = await readText(file, io);
  return parseClusterFile(text, name);
}

/**
 * A file of either kind, told apart by its top-level `kind:` line (as kubectl reads any
 * manifest): a KubernetesCluster by its own schema, anything else as a cloud file, whose loader
 * names a wrong kind.
 */
export async function readAnyFile(
  file: string,
  io: Io,
): Promise<{ kind: 'Cloud'; file: CloudFile } | { kind: 'KubernetesCluster'; file: ClusterFile }> {
  const { text, name } = await readText(file, io);
  return new RegExp(`^kind:[ \t]*${CLUSTER_KIND}[ \t]*(#.*)?$`, 'm').test(text)
    ? { kind: 'KubernetesCluster', file: parseClusterFile(text, name) }
    : { kind: 'Cloud', file: parseCloudFile(text, name) };
}
