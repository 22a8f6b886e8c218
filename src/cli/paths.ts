/**
 * The paths a user hands osk (-f, --secrets-file, --kubeconfig, --output-dir, OSK_STATE_DIR…) are
 * input like the cloud file: a wrong one is exit 2 with a sentence naming the path, the flag and
 * what osk expected there, never Node's raw "ENOTDIR: not a directory, open …" or a stack trace.
 * Two layers: cheap checks of each path before any work (so the message can name the flag), and
 * a translation of any file-system error that still escapes (a path below one of them, a race).
 */
import { constants, existsSync } from 'node:fs';
import { access, readdir, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { savedCloudFile, stateRoot, stateRootSource } from '../state/paths.js';
import { ExitCode, OskError } from '../errors.js';

/** A path and the flag or variable it came from, e.g. `--secrets-file` or `OSK_STATE_DIR`. */
export interface PathUse {
  label: string;
  path: string;
}

type Found = { kind: 'missing'; blockedBy?: string } | { kind: 'directory' } | { kind: 'file' };

/** What is at `path`; for a path that cannot exist because an ancestor is a file, that ancestor. */
async function look(path: string): Promise<Found> {
  try {
    return (await stat(path)).isDirectory() ? { kind: 'directory' } : { kind: 'file' };
  } catch (e) {
    const code = errnoOf(e)?.code;
    if (code === 'ENOENT') return { kind: 'missing' };
    if (code === 'ENOTDIR') {
      const blockedBy = await nonDirectoryAncestor(path);
      return blockedBy ? { kind: 'missing', blockedBy } : { kind: 'missing' };
    }
    throw e;
  }
}

/** The nearest ancestor of `path` that exists and is not a directory (the cause of ENOTDIR). */
async function nonDirectoryAncestor(path: string): Promise<string | undefined> {
  const chain: string[] = [];
  for (let p = dirname(resolve(path)); ; p = dirname(p)) {
    chain.unshift(p);
    if (dirname(p) === p) break;
  }
  for (const p of chain) {
    try {
      if (!(await stat(p)).isDirectory()) return p;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

const invalid = (message: string, hint?: string) =>
  new OskError(message, { exitCode: ExitCode.invalidInput, ...(hint ? { hint } : {}) });

async function readable(use: PathUse, what: 'file' | 'directory'): Promise<void> {
  try {
    await access(use.path, constants.R_OK | (what === 'directory' ? constants.X_OK : 0));
  } catch (e) {
    if (errnoOf(e)?.code === 'EACCES' || errnoOf(e)?.code === 'EPERM')
      throw invalid(
        `${use.label} ${use.path}: permission denied; expected a ${what} osk can read`,
        'check its owner and mode (ls -l), or run osk as a user who may read it',
      );
    throw e;
  }
}

/** A file osk only reads (-f, --kubeconfig): it must exist, not be a directory, and be readable. */
export async function expectReadableFile(use: PathUse): Promise<void> {
  const found = await look(use.path);
  if (found.kind === 'missing') {
    if (found.blockedBy)
      throw invalid(
        `${use.label} ${use.path}: ${found.blockedBy} is a file, not a directory; expected a file at ${use.path}`,
      );
    throw invalid(`${use.label} ${use.path} does not exist; expected a file`);
  }
  if (found.kind === 'directory') throw invalid(`${use.label} ${use.path} is a directory; expected a file`);
  await readable(use, 'file');
}

/** A file osk reads when it is there and creates otherwise (--secrets-file). */
async function expectFileOrCreatable(use: PathUse): Promise<void> {
  const found = await look(use.path);
  if (found.kind === 'directory')
    throw invalid(
      `${use.label} ${use.path} is a directory; expected a file`,
      'point it at a file (osk creates it when it does not exist)',
    );
  if (found.kind === 'file') return readable(use, 'file');
  if (found.blockedBy)
    throw invalid(
      `${use.label} ${use.path}: ${found.blockedBy} is a file, not a directory, so ${use.path} cannot be created`,
    );
}

/** A directory osk reads and writes, creating it when missing (OSK_STATE_DIR, --output-dir). */
async function expectDirectoryOrCreatable(use: PathUse): Promise<void> {
  const found = await look(use.path);
  if (found.kind === 'file') throw invalid(`${use.label} ${use.path} is a file; expected a directory`);
  if (found.kind === 'directory') return readable(use, 'directory');
  if (found.blockedBy)
    throw invalid(
      `${use.label} ${use.path}: ${found.blockedBy} is a file, not a directory, so ${use.path} cannot be created`,
    );
}

/** Where the state of the clouds is kept (OSK_STATE_DIR, else XDG_STATE_HOME/osk, else ~/.local/state/osk). */
export function stateDirUse(): PathUse {
  const labels = {
    OSK_STATE_DIR: 'OSK_STATE_DIR',
    XDG_STATE_HOME: 'XDG_STATE_HOME (its osk directory)',
    home: 'the state directory',
  } as const;
  return { label: labels[stateRootSource()], path: stateRoot() };
}

/**
 * The secret store a verb is about to open: --secrets-file (checked with the other flags) or the
 * cloud's default one in the state directory, whose path is known only once the cloud is read.
 */
export async function expectSecretStore(path: string, secretsFile: string | undefined): Promise<void> {
  if (secretsFile !== undefined) return;
  await expectFileOrCreatable({ label: `${stateDirUse().label}: the secret store`, path });
}

/** A directory that must exist (a backup to verify or restore from). */
async function expectDirectory(use: PathUse): Promise<void> {
  const found = await look(use.path);
  if (found.kind === 'file') throw invalid(`${use.label} ${use.path} is a file; expected a directory`);
  if (found.kind === 'missing') throw invalid(`${use.label} ${use.path} does not exist; expected a directory`);
  await readable(use, 'directory');
}

/** Verbs that keep state on this host, and so need the state directory (given their options). */
function usesStateDir(verb: string, opts: Record<string, unknown>): boolean {
  if (['up', 'down', 'logs', 'env', 'backup'].includes(verb)) return true;
  // A cluster's credentials are kept in the state directory.
  if (['cluster create', 'cluster delete', 'cluster status'].includes(verb)) return true;
  if (verb === 'render' || verb === 'apply' || verb === 'diff' || verb === 'destroy')
    return opts.secretsFile === undefined;
  if (verb === 'status') return opts.filename === undefined;
  if (verb === 'restore') return opts.filename === undefined || (!opts.dryRun && opts.secretsFile === undefined);
  if (verb === 'health') return opts.filename === undefined && opts.osCloud === undefined;
  return false;
}

/**
 * Check the paths of the command line before any work, so a wrong one is reported with its flag
 * and what was expected. Returns them for the translation of later file-system errors.
 */
export async function checkCommandPaths(cmd: Command): Promise<PathUse[]> {
  const opts = cmd.opts() as Record<string, unknown>;
  const verb = cmd.parent?.parent ? `${cmd.parent.name()} ${cmd.name()}` : cmd.name();
  const str = (k: string) => (typeof opts[k] === 'string' ? (opts[k] as string) : undefined);
  const uses: PathUse[] = [];
  const filename = str('filename');
  // Its checks are in readCloud.
  if (filename !== undefined && filename !== '-') uses.push({ label: '-f', path: filename });
  const kubeconfig = str('kubeconfig');
  if (kubeconfig !== undefined) {
    const use = { label: '--kubeconfig', path: kubeconfig };
    await expectReadableFile(use);
    uses.push(use);
  }
  const kubeVerb =
    cmd.options.some((o) => o.long === '--kubeconfig') &&
    (['apply', 'diff', 'destroy'].includes(verb) || filename !== undefined);
  if (kubeVerb && kubeconfig === undefined && process.env.KUBECONFIG) {
    // A list like kubectl's; entries that do not exist are skipped (by kubectl too), others must be files.
    for (const path of process.env.KUBECONFIG.split(':').filter(Boolean)) {
      if (!existsSync(path)) continue;
      const use = { label: 'KUBECONFIG', path };
      await expectReadableFile(use);
      uses.push(use);
    }
  }
  const secretsFile = str('secretsFile');
  if (secretsFile !== undefined) {
    const use = { label: '--secrets-file', path: secretsFile };
    await expectFileOrCreatable(use);
    uses.push(use);
  }
  const outputDir = str('outputDir');
  if (outputDir !== undefined) {
    const use = { label: '--output-dir', path: outputDir };
    await expectDirectoryOrCreatable(use);
    uses.push(use);
  }
  const to = verb === 'backup' ? str('to') : undefined;
  if (to !== undefined) {
    const use = { label: '--to', path: to };
    await expectDirectoryOrCreatable(use);
    uses.push(use);
  }
  const from = verb === 'backup verify' || (verb === 'restore' && filename === undefined) ? str('from') : undefined;
  if (from !== undefined) {
    const use = { label: '--from', path: from };
    await expectDirectory(use);
    uses.push(use);
  }
  if (usesStateDir(verb, opts)) {
    const use = stateDirUse();
    await expectDirectoryOrCreatable(use);
    uses.push(use);
    // The all-in-one verbs start from a cloud's cloud.yaml in its state directory: the one named
    // with --cloud, else every one there (one stat each).
    if (filename === undefined && !['render', 'apply', 'diff', 'destroy', 'up'].includes(verb)) {
      const cloud = str('cloud');
      const names = cloud !== undefined ? [cloud] : await readdir(use.path).catch(() => [] as string[]);
      for (const name of names) {
        const file = savedCloudFile(join(use.path, name));
        if (existsSync(file))
          await expectReadableFile({ label: `${use.label}: the cloud file of cloud ${name}`, path: file });
      }
    }
  }
  return uses;
}

/** Node's errors of a failed system call carry `code`, `syscall` and usually `path`. */
export function errnoOf(e: unknown): (NodeJS.ErrnoException & { code: string }) | undefined {
  return e instanceof Error &&
    typeof (e as NodeJS.ErrnoException).code === 'string' &&
    typeof (e as NodeJS.ErrnoException).syscall === 'string'
    ? (e as NodeJS.ErrnoException & { code: string })
    : undefined;
}

/** Errors that say the path given is wrong (bad input); anything else of the file system is a failure. */
const INPUT_CODES = new Set([
  'ENOENT',
  'ENOTDIR',
  'EISDIR',
  'EACCES',
  'EPERM',
  'EEXIST',
  'ELOOP',
  'ENAMETOOLONG',
  'EROFS',
  'ENOTEMPTY',
]);

/**
 * A file-system error that reached the top of the CLI, as a user-facing error: the path, what was
 * wrong with it, and the flag or variable it came from when it is one of `uses` or lies below one.
 * Undefined for anything that is not a file-system error with a path.
 */
export async function fileSystemError(e: unknown, uses: PathUse[]): Promise<OskError | undefined> {
  const err = errnoOf(e);
  if (!err) return undefined;
  if (!err.path) return pathlessError(err, uses);
  const path = err.path;
  const use = uses.find((u) => within(path, u.path));
  const from = use ? `${use.label} ${use.path}: ` : '';
  const act = actionOf(err.syscall ?? '');
  let what: string;
  switch (err.code) {
    case 'ENOENT':
      what = `${path} does not exist (osk tried to ${act} it)`;
      break;
    case 'ENOTDIR': {
      const blocker = await nonDirectoryAncestor(path);
      what = blocker
        ? `${blocker} is a file; expected a directory (osk tried to ${act} ${path})`
        : `${path}: a part of this path is not a directory; expected a directory`;
      break;
    }
    case 'EISDIR':
      what = `${path} is a directory; expected a file`;
      break;
    case 'EACCES':
    case 'EPERM':
      what = `permission denied: osk cannot ${act} ${path}`;
      break;
    case 'EEXIST':
      what = `${path} already exists`;
      break;
    case 'EROFS':
      what = `${path} is on a read-only file system; osk cannot ${act} it`;
      break;
    case 'ENOSPC':
    case 'EDQUOT':
      return new OskError(`${from}no space left to ${act} ${path}`, {
        hint: 'free space on that file system and run the command again',
      });
    default:
      if (!INPUT_CODES.has(err.code)) return new OskError(`${from}cannot ${act} ${path}: ${err.code}`);
      what = `cannot ${act} ${path} (${err.code})`;
  }
  return new OskError(`${from}${what}`, {
    exitCode: ExitCode.invalidInput,
    hint: use ? `check ${use.label}` : 'check the path and its permissions',
  });
}

/**
 * Some calls fail without saying on which path (reading an open file handle that is a directory:
 * EISDIR from `read`). Bad input all the same: say what was wrong and which paths were in play.
 */
function pathlessError(err: NodeJS.ErrnoException & { code: string }, uses: PathUse[]): OskError | undefined {
  const what: Record<string, string> = {
    EISDIR: 'a directory is where osk expected a file',
    ENOTDIR: 'a file is where osk expected a directory',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOENT: 'a file osk needs does not exist',
  };
  const sentence = what[err.code];
  if (!sentence) return undefined;
  const paths = uses.map((u) => `${u.label} ${u.path}`).join(', ');
  return new OskError(`${sentence} (${err.code} on ${err.syscall})${paths ? `, below one of: ${paths}` : ''}`, {
    exitCode: ExitCode.invalidInput,
    hint: 'look for a file or directory of the wrong kind there (ls -l), e.g. a directory named like a file osk writes',
  });
}

function within(path: string, base: string): boolean {
  const r = relative(resolve(base), resolve(path));
  return r === '' || (r !== '..' && !r.startsWith(`..${sep}`) && !isAbsolute(r));
}

function actionOf(syscall: string): string {
  if (syscall === 'open' || syscall === 'read') return 'open';
  if (syscall === 'mkdir') return 'create the directory';
  if (syscall === 'scandir' || syscall === 'opendir') return 'list';
  if (syscall === 'unlink' || syscall === 'rmdir' || syscall === 'rm') return 'remove';
  if (syscall === 'rename' || syscall === 'write' || syscall === 'copyfile' || syscall === 'chmod') return 'write';
  if (syscall === 'stat' || syscall === 'lstat' || syscall === 'access') return 'look at';
  return syscall;
}
