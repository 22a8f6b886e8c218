/**
 * The bounds of a cloud file. Every input is bounded, so no file can make osk spend unbounded time
 * or memory: the bytes read, the nesting depth, the aliases, the length of each string, the
 * problems listed and the did-you-mean suggestions computed.
 */
import { ExitCode, OskError } from '../errors.js';
import { MAX_STRING } from './rules.js';

/** The bounds of a cloud file. */
export const LIMITS = {
  /** Bytes of the file (a real cloud file is a few KiB). */
  fileBytes: 1024 * 1024,
  /** Nesting of mappings and lists (the schema itself is 7 deep). */
  depth: 32,
  /** YAML aliases (*name): each can copy a whole subtree. */
  aliases: 100,
  /** Characters of one scalar, key or value. */
  stringChars: MAX_STRING,
  /** Problems listed; the rest are counted. */
  problems: 50,
} as const;

const MIB = (LIMITS.fileBytes / (1024 * 1024)).toString();

/** A problem of the input as a whole (exit 2), with what to do. */
export function inputError(message: string, hint?: string): OskError {
  return new OskError(message, { exitCode: ExitCode.invalidInput, ...(hint ? { hint } : {}) });
}

/** The error of a cloud file or stream over LIMITS.fileBytes. */
export function tooBig(file: string): OskError {
  return inputError(
    `cloud file ${file} is larger than ${MIB} MiB`,
    'a cloud file is a few KiB of YAML; check that -f names the right file',
  );
}
