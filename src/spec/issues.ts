/**
 * A zod issue → the problems it means in the user's words: placed on the node of the cloud file it
 * is about, saying what was expected and what was found, with a did-you-mean for a misspelt key or
 * value (only while the budget of suggestions lasts).
 */
import type { Node } from 'yaml';
import type { z } from 'zod';
import type { SpecProblem } from '../errors.js';
import { didYouMean } from './did-you-mean.js';
import { knownKeys } from './known-keys.js';
import type { IssueParams } from './rules.js';
import { nodeAt, pathKey, type NodeIndex } from './yaml-walk.js';

type Position = { line: number; col: number };

/** What every issue's translation needs: where it is, in the file and in the document. */
interface IssueContext {
  /** The document's schema (for the keys allowed at a path). */
  root: z.core.$ZodType;
  file: string;
  index: NodeIndex;
  path: (string | number)[];
  dotted: string;
  node: Node | undefined;
  at: (offset: number | undefined) => Position;
  suggest: (word: string, candidates: readonly string[]) => string | undefined;
}

export function problemsOfIssue(
  root: z.core.$ZodType,
  issue: z.core.$ZodIssue,
  index: NodeIndex,
  file: string,
  at: (o: number | undefined) => Position,
  suggestions: { left: number },
): SpecProblem[] {
  const path = issue.path as (string | number)[];
  const c: IssueContext = {
    root,
    file,
    index,
    path,
    dotted: path.join('.'),
    node: nodeAt(index, path),
    at,
    // did-you-mean costs a distance per candidate: only for the problems that will be listed.
    suggest: (word, candidates) => (suggestions.left-- > 0 ? didYouMean(word, candidates) : undefined),
  };
  switch (issue.code) {
    case 'unrecognized_keys':
      return unknownFields(issue, c);
    case 'invalid_key':
      return [badRecordKey(issue, c)];
    case 'invalid_type':
      return [wrongType(issue, c)];
    case 'invalid_value':
      return [notAllowed(issue, c)];
    case 'too_small':
    case 'too_big':
      return [outOfBounds(issue, c)];
    case 'invalid_format':
      return [onNode(c, `expected ${issue.message}, found ${describe(issue.input)}`)];
    case 'invalid_union': {
      // Our unions are "string or number" quantities; the pipe gives the useful message.
      const inner = issue.errors.flat()[0];
      const msg = inner && isCustomMessage(inner.message) ? `expected ${inner.message}` : 'value has the wrong type';
      return [onNode(c, `${msg}, found ${describe(issue.input)}`)];
    }
    case 'custom': {
      const params = issue.params as IssueParams | undefined;
      const message = params?.sentence ? issue.message : `expected ${issue.message}, found ${describe(issue.input)}`;
      return [onNode(c, message, params?.hint)];
    }
    default:
      return [onNode(c, `${issue.message}${'input' in issue ? `, found ${describe(issue.input)}` : ''}`)];
  }
}

/** A problem placed on the issue's node (or its nearest indexed parent). */
function onNode(c: IssueContext, message: string, hint?: string): SpecProblem {
  return { file: c.file, ...c.at(c.node?.range?.[0]), path: c.dotted, message, ...(hint ? { hint } : {}) };
}

function unknownFields(issue: z.core.$ZodIssueUnrecognizedKeys, c: IssueContext): SpecProblem[] {
  const known = knownKeys(c.root, c.path);
  return issue.keys.map((key) => {
    const suggestion = c.suggest(key, known);
    return {
      file: c.file,
      ...c.at(c.index.get(pathKey([...c.path, key]))?.key?.range?.[0] ?? c.node?.range?.[0]),
      path: [...c.path, key].join('.'),
      message: `unknown field "${clip(key)}"${suggestion ? `; did you mean "${suggestion}"?` : ''}`,
      hint: `fields allowed here: ${known.join(', ')}`,
    };
  });
}

/** A record key (labels, images.overrides): say what the key should be. */
function badRecordKey(issue: z.core.$ZodIssueInvalidKey, c: IssueContext): SpecProblem {
  const key = String(c.path[c.path.length - 1] ?? '');
  const inner = issue.issues[0];
  const keyNode = c.index.get(pathKey(c.path))?.key;
  const where = { file: c.file, ...c.at(keyNode?.range?.[0] ?? c.node?.range?.[0]), path: c.dotted };
  if (inner?.code === 'invalid_value') {
    const words = inner.values.filter((v): v is string => typeof v === 'string');
    const suggestion = c.suggest(key, words);
    return {
      ...where,
      message: `unknown key "${clip(key)}"${suggestion ? `; did you mean "${suggestion}"?` : ''}`,
      hint: `keys allowed here: ${words.join(', ')}`,
    };
  }
  const params = (inner as { params?: IssueParams } | undefined)?.params;
  const msg = !inner ? 'invalid key' : params?.sentence ? inner.message : `expected ${inner.message}`;
  return { ...where, message: `${msg}, found key ${describe(key)}`, ...(params?.hint ? { hint: params.hint } : {}) };
}

function wrongType(issue: z.core.$ZodIssueInvalidType, c: IssueContext): SpecProblem {
  const found = 'input' in issue ? describe(issue.input) : 'nothing';
  const missing = issue.input === undefined;
  return {
    file: c.file,
    ...c.at(c.node?.range?.[0] ?? nodeAt(c.index, c.path.slice(0, -1))?.range?.[0]),
    path: c.dotted,
    message: missing
      ? `required field is missing (expected ${expectedName(issue.expected)})`
      : `expected ${expectedName(issue.expected)}, found ${found}`,
  };
}

function notAllowed(issue: z.core.$ZodIssueInvalidValue, c: IssueContext): SpecProblem {
  const allowed = issue.values.map((v) => JSON.stringify(v)).join(', ');
  const custom = isCustomMessage(issue.message) ? issue.message : undefined;
  const words = issue.values.filter((v): v is string => typeof v === 'string');
  const suggestion = typeof issue.input === 'string' ? c.suggest(issue.input, words) : undefined;
  return onNode(
    c,
    `${custom ?? `expected one of ${allowed}`}, found ${describe(issue.input)}${suggestion ? `; did you mean "${suggestion}"?` : ''}`,
  );
}

function outOfBounds(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig, c: IssueContext): SpecProblem {
  const found = describe(issue.input);
  if (isCustomMessage(issue.message)) return onNode(c, `expected ${issue.message}, found ${found}`);
  const cmp = issue.code === 'too_small' ? (issue.inclusive ? '≥' : '>') : issue.inclusive ? '≤' : '<';
  const what = issue.origin === 'array' ? 'number of items' : issue.origin === 'string' ? 'length' : 'a number';
  const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
  const size =
    issue.origin === 'array' && Array.isArray(issue.input)
      ? `${issue.input.length} items`
      : issue.origin === 'string' && typeof issue.input === 'string'
        ? `${issue.input.length} characters`
        : found;
  return onNode(c, `expected ${what} ${cmp} ${String(bound)}, found ${size}`);
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function isCustomMessage(m: string): boolean {
  return !m.startsWith('Invalid') && !m.startsWith('Too ');
}

function expectedName(t: string): string {
  const names: Record<string, string> = {
    number: 'a number',
    int: 'an integer',
    string: 'a string',
    boolean: 'true or false',
    object: 'a mapping',
    array: 'a list',
    record: 'a mapping',
  };
  return names[t] ?? t;
}

export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null (an empty value)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(clip(v));
  if (typeof v === 'number' && !Number.isInteger(v)) return `${v} (not an integer)`;
  return String(v);
}
