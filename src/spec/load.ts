/**
 * Cloud file → validated CloudFile, or every problem of the file at once, each with its line and
 * column. `yaml` gives node positions (and catches syntax errors); one walk over the YAML nodes
 * indexes them by path and enforces the input bounds (depth, aliases, string length, control
 * characters, duplicate keys); zod checks the structure; issue paths are mapped back onto the nodes.
 *
 * Every input is bounded, so no file can make osk spend unbounded time or memory: the bytes read,
 * the nesting depth, the aliases, the length of each string, the problems listed and the
 * did-you-mean suggestions computed.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { SpecError, OskError, ExitCode, type SpecProblem } from '../errors.js';
import { didYouMean } from './did-you-mean.js';
import { MAX_STRING, plainProblem, type IssueParams } from './rules.js';
import { API_VERSION, KIND, cloudFileSchema, crossFieldProblems, type CloudFile } from './schema.js';

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

function inputError(message: string, hint?: string): OskError {
  return new OskError(message, { exitCode: ExitCode.invalidInput, ...(hint ? { hint } : {}) });
}

/** The error of a cloud file or stream over LIMITS.fileBytes. */
export function tooBig(file: string): OskError {
  return inputError(
    `cloud file ${file} is larger than ${MIB} MiB`,
    'a cloud file is a few KiB of YAML; check that -f names the right file',
  );
}

/** Bytes → text: UTF-8 only, no binary data; a byte-order mark is dropped. */
export function decodeCloudText(bytes: Uint8Array, file = '<input>'): string {
  const nul = bytes.indexOf(0);
  if (nul >= 0)
    throw new SpecError([
      {
        file,
        ...lineColOfByte(bytes, nul),
        path: '',
        message: 'the file holds binary data (a NUL byte), expected YAML text',
        hint: 'pass the path of a cloud file with -f, e.g. -f examples/minimal.yaml',
      },
    ]);
  const bad = firstInvalidUtf8(bytes);
  if (bad >= 0)
    throw new SpecError([
      {
        file,
        ...lineColOfByte(bytes, bad),
        path: '',
        message: 'the file is not UTF-8 text (an invalid byte sequence here)',
        hint: 'save the cloud file as UTF-8',
      },
    ]);
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Offset of the first byte that is not part of well-formed UTF-8 (RFC 3629), or -1. */
function firstInvalidUtf8(b: Uint8Array): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    const n = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0 || i + n >= b.length) return i;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const cc = b[i + k];
      if (cc === undefined || (cc & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
    if ((n === 2 && cp < 0x800) || (n === 3 && cp < 0x10000) || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
      return i;
    i += n + 1;
  }
  return -1;
}

function lineColOfByte(bytes: Uint8Array, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 10) {
      line++;
      start = i + 1;
    }
  }
  return { line, col: offset - start + 1 };
}

/** Parse and validate cloud file text; throws SpecError listing the problems found. */
export function parseCloudFile(text: string, file = '<input>'): CloudFile {
  if (text.length > LIMITS.fileBytes || Buffer.byteLength(text, 'utf8') > LIMITS.fileBytes) throw tooBig(file);
  const lineCounter = new LineCounter();
  const at = (offset: number | undefined) => {
    if (offset === undefined) return { line: 0, col: 0 };
    const p = lineCounter.linePos(offset);
    return { line: p.line, col: p.col };
  };
  const fail = (problems: SpecProblem[]): never => {
    throw specError(problems);
  };

  const deep = flowNestingTooDeep(text);
  if (deep !== undefined) {
    fail([
      {
        file,
        ...lineColOfText(text, deep),
        path: '',
        message: `the YAML is nested more than ${LIMITS.depth} levels deep`,
        hint: 'a cloud file is a few levels of mappings and lists',
      },
    ]);
  }

  // uniqueKeys is off: the yaml library checks it in quadratic time; the walk below does it with a set.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false, strict: true });
  const problems: SpecProblem[] = [];
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    if (doc.errors.length === 0) {
      fail([
        {
          file,
          line: 1,
          col: 1,
          path: '',
          message: 'the file is empty, expected a Cloud document',
          hint: `start with "apiVersion: ${API_VERSION}" and "kind: ${KIND}" (see examples/minimal.yaml)`,
        },
      ]);
    }
  }
  for (const e of doc.errors) {
    if (e.code === 'MULTIPLE_DOCS') {
      problems.push({
        file,
        ...at(e.pos[0]),
        path: '',
        message: 'found a second YAML document ("---"), expected exactly one Cloud',
        hint: 'keep one cloud per file',
      });
    } else {
      problems.push({ file, ...at(e.pos[0]), path: '', message: `YAML syntax error: ${firstLine(e.message)}` });
    }
  }
  if (problems.length > 0) fail(problems);

  // The walk: bounds, duplicate keys, and the index of every node by path.
  const walked = walk(doc);
  for (const w of walked.problems)
    problems.push({
      file,
      ...at(w.offset),
      path: w.path.join('.'),
      message: w.message,
      ...(w.hint ? { hint: w.hint } : {}),
    });
  if (walked.fatal) fail(problems);

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: LIMITS.aliases });
  } catch (e) {
    // The walk counts aliases; this is the library's own guard against expansion bombs.
    fail([
      ...problems,
      {
        file,
        line: 1,
        col: 1,
        path: '',
        message: `the YAML aliases expand too far (${firstLine((e as Error).message)})`,
        hint: 'write the values out instead of using anchors and aliases',
      },
    ]);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    fail([
      {
        file,
        ...at(doc.contents?.range?.[0]),
        path: '',
        message: `expected a mapping (apiVersion, kind, metadata, spec), found ${describe(data)}`,
      },
    ]);
  }

  const index = walked.index;
  const located = (path: (string | number)[]) => at(nodeAt(index, path)?.range?.[0]);
  const suggestions = { left: LIMITS.problems };
  const result = cloudFileSchema.safeParse(data, { reportInput: true });
  if (!result.success) {
    // Loops, not push(...list): a list of 50,000 problems would overflow the argument stack.
    for (const issue of result.error.issues)
      for (const p of problemsOfIssue(issue, index, file, at, suggestions)) problems.push(p);
  }
  const unique = onePerField(problems);
  problems.length = 0;
  for (const p of unique) problems.push(p);
  // Cross-field rules also run on a file with structural problems (on what can be read), so one
  // pass reports everything; a rule whose field already has a problem stays quiet.
  let cross: ReturnType<typeof crossFieldProblems> = [];
  try {
    cross = crossFieldProblems((result.success ? result.data : data) as CloudFile);
  } catch {
    cross = [];
  }
  {
    const reported = new Set(problems.map((p) => p.path));
    for (const p of cross.filter((c) => !reported.has(c.path.join('.')))) {
      problems.push({
        file,
        ...located(p.path),
        path: p.path.join('.'),
        message: p.message,
        ...(p.hint ? { hint: p.hint } : {}),
      });
    }
  }
  if (problems.length > 0) fail(problems);
  return (result as { data: CloudFile }).data;
}

/** One problem per field (the first found says the most: the walk's, then zod's first check). */
function onePerField(all: SpecProblem[]): SpecProblem[] {
  const seen = new Set<string>();
  return all.filter((p) => {
    if (p.path === '') return true;
    if (seen.has(p.path)) return false;
    seen.add(p.path);
    return true;
  });
}

/** The problems in file order, the first LIMITS.problems of them and a count of the rest. */
function specError(all: SpecProblem[]): SpecError {
  const unique = [...all];
  unique.sort((a, b) => a.line - b.line || a.col - b.col);
  return new SpecError(unique.slice(0, LIMITS.problems), Math.max(0, unique.length - LIMITS.problems));
}

/**
 * Offset of the first "[" or "{" nested deeper than LIMITS.depth, or undefined: checked on the
 * text, before the parser (which would spend seconds on half a million brackets). Quoted strings
 * and comments are skipped.
 */
function flowNestingTooDeep(text: string): number | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'") {
      // A quote only opens a string at the start of a scalar.
      const prev = i === 0 ? '\n' : text[i - 1]!;
      if (!/[\s,[{:]/.test(prev)) continue;
      for (i++; i < text.length && text[i] !== c; i++) if (c === '"' && text[i] === '\\') i++;
    } else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '[' || c === '{') {
      if (++depth > LIMITS.depth) return i;
    } else if (c === ']' || c === '}') {
      depth = Math.max(0, depth - 1);
    }
  }
  return undefined;
}

function lineColOfText(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, col: offset - start + 1 };
}

/** Nodes by path (segments joined with NUL, which no accepted key contains). */
type NodeIndex = Map<string, { node: Node; key?: Node }>;
const pathKey = (path: readonly (string | number)[]) => path.join('\u0000');

interface WalkProblem {
  offset: number | undefined;
  path: (string | number)[];
  message: string;
  hint?: string;
}

/**
 * Every node once, with an explicit stack (no recursion, whatever the depth): the index by path,
 * and the problems no schema can see — depth, aliases, long or multi-line strings anywhere
 * (keys included), duplicate keys. `fatal` stops the load before the document is expanded.
 */
function walk(doc: Document): { index: NodeIndex; problems: WalkProblem[]; fatal: boolean } {
  const index: NodeIndex = new Map();
  const problems: WalkProblem[] = [];
  let aliases = 0;
  let fatal = false;
  const scalarText = (n: Node, path: (string | number)[], what: 'value' | 'key') => {
    if (!isScalar(n) || typeof n.value !== 'string') return;
    const s = n.value;
    if (s.length > LIMITS.stringChars) {
      problems.push({
        offset: n.range?.[0],
        path,
        message: `this ${what} is ${s.length} characters long, expected at most ${LIMITS.stringChars}`,
        hint: 'no field of a cloud file needs a string that long',
      });
      return;
    }
    const plain = plainProblem(s);
    if (plain)
      problems.push({ offset: n.range?.[0], path, message: `expected ${what === 'key' ? 'a key of ' : ''}${plain}` });
  };
  const stack: { node: unknown; path: (string | number)[]; depth: number }[] = [
    { node: doc.contents, path: [], depth: 0 },
  ];
  while (stack.length > 0) {
    const { node, path, depth } = stack.pop()!;
    if (!node || typeof node !== 'object') continue;
    const n = node as Node;
    if (!index.has(pathKey(path))) index.set(pathKey(path), { node: n });
    if (isAlias(n)) {
      if (++aliases > LIMITS.aliases) {
        problems.push({
          offset: n.range?.[0],
          path,
          message: `more than ${LIMITS.aliases} YAML aliases`,
          hint: 'write the values out instead of using anchors and aliases',
        });
        fatal = true;
        break;
      }
      continue;
    }
    if (isScalar(n)) {
      scalarText(n, path, 'value');
      continue;
    }
    if (!isMap(n) && !isSeq(n)) continue;
    if (depth >= LIMITS.depth) {
      problems.push({
        offset: n.range?.[0],
        path,
        message: `the YAML is nested more than ${LIMITS.depth} levels deep`,
        hint: 'a cloud file is a few levels of mappings and lists',
      });
      fatal = true;
      break;
    }
    if (isSeq(n)) {
      for (const [i, item] of n.items.entries()) stack.push({ node: item, path: [...path, i], depth: depth + 1 });
      continue;
    }
    const keys = new Set<string>();
    for (const item of n.items) {
      if (!isPair(item)) continue;
      const k = item.key as Node | null;
      if (!isScalar(k)) {
        problems.push({
          offset: k?.range?.[0] ?? n.range?.[0],
          path,
          message: 'expected a plain key (a string), found a mapping or list used as a key',
        });
        continue;
      }
      const name = String(k.value);
      const childPath = [...path, name];
      scalarText(k, childPath, 'key');
      if (keys.has(name)) {
        problems.push({
          offset: k.range?.[0],
          path: childPath,
          message: 'duplicate key: this key appears more than once in the same mapping',
          hint: 'keep one of them; YAML would otherwise hide one value',
        });
        continue;
      }
      keys.add(name);
      index.set(pathKey(childPath), { node: (item.value as Node | null) ?? k, key: k });
      stack.push({ node: item.value, path: childPath, depth: depth + 1 });
    }
  }
  return { index, problems, fatal };
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

function problemsOfIssue(
  issue: z.core.$ZodIssue,
  index: NodeIndex,
  file: string,
  at: (o: number | undefined) => { line: number; col: number },
  suggestions: { left: number },
): SpecProblem[] {
  const path = issue.path as (string | number)[];
  const node = nodeAt(index, path);
  const dotted = path.join('.');
  // did-you-mean costs a distance per candidate: only for the problems that will be listed.
  const suggest = (word: string, candidates: readonly string[]) =>
    suggestions.left-- > 0 ? didYouMean(word, candidates) : undefined;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeys(path);
      return issue.keys.map((key) => {
        const suggestion = suggest(key, known);
        return {
          file,
          ...at(index.get(pathKey([...path, key]))?.key?.range?.[0] ?? node?.range?.[0]),
          path: [...path, key].join('.'),
          message: `unknown field "${clip(key)}"${suggestion ? `; did you mean "${suggestion}"?` : ''}`,
          hint: `fields allowed here: ${known.join(', ')}`,
        };
      });
    }
    case 'invalid_key': {
      // A record key (labels, images.overrides): say what the key should be.
      const key = String(path[path.length - 1] ?? '');
      const inner = issue.issues[0];
      const keyNode = index.get(pathKey(path))?.key;
      if (inner?.code === 'invalid_value') {
        const words = inner.values.filter((v): v is string => typeof v === 'string');
        const suggestion = suggest(key, words);
        return [
          {
            file,
            ...at(keyNode?.range?.[0] ?? node?.range?.[0]),
            path: dotted,
            message: `unknown key "${clip(key)}"${suggestion ? `; did you mean "${suggestion}"?` : ''}`,
            hint: `keys allowed here: ${words.join(', ')}`,
          },
        ];
      }
      const params = (inner as { params?: IssueParams } | undefined)?.params;
      const msg = !inner ? 'invalid key' : params?.sentence ? inner.message : `expected ${inner.message}`;
      return [
        {
          file,
          ...at(keyNode?.range?.[0] ?? node?.range?.[0]),
          path: dotted,
          message: `${msg}, found key ${describe(key)}`,
          ...(params?.hint ? { hint: params.hint } : {}),
        },
      ];
    }
    case 'invalid_type': {
      const found = 'input' in issue ? describe(issue.input) : 'nothing';
      const missing = issue.input === undefined;
      return [
        {
          file,
          ...at(node?.range?.[0] ?? nodeAt(index, path.slice(0, -1))?.range?.[0]),
          path: dotted,
          message: missing
            ? `required field is missing (expected ${expectedName(issue.expected)})`
            : `expected ${expectedName(issue.expected)}, found ${found}`,
        },
      ];
    }
    case 'invalid_value': {
      const allowed = issue.values.map((v) => JSON.stringify(v)).join(', ');
      const custom = isCustomMessage(issue.message) ? issue.message : undefined;
      const words = issue.values.filter((v): v is string => typeof v === 'string');
      const suggestion = typeof issue.input === 'string' ? suggest(issue.input, words) : undefined;
      return [
        {
          file,
          ...at(node?.range?.[0]),
          path: dotted,
          message: `${custom ?? `expected one of ${allowed}`}, found ${describe(issue.input)}${suggestion ? `; did you mean "${suggestion}"?` : ''}`,
        },
      ];
    }
    case 'too_small':
    case 'too_big': {
      const found = describe(issue.input);
      if (isCustomMessage(issue.message))
        return [{ file, ...at(node?.range?.[0]), path: dotted, message: `expected ${issue.message}, found ${found}` }];
      const cmp = issue.code === 'too_small' ? (issue.inclusive ? '≥' : '>') : issue.inclusive ? '≤' : '<';
      const what = issue.origin === 'array' ? 'number of items' : issue.origin === 'string' ? 'length' : 'a number';
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const size =
        issue.origin === 'array' && Array.isArray(issue.input)
          ? `${issue.input.length} items`
          : issue.origin === 'string' && typeof issue.input === 'string'
            ? `${issue.input.length} characters`
            : found;
      return [
        {
          file,
          ...at(node?.range?.[0]),
          path: dotted,
          message: `expected ${what} ${cmp} ${String(bound)}, found ${size}`,
        },
      ];
    }
    case 'invalid_format':
      return [
        {
          file,
          ...at(node?.range?.[0]),
          path: dotted,
          message: `expected ${issue.message}, found ${describe(issue.input)}`,
        },
      ];
    case 'invalid_union': {
      // Our unions are "string or number" quantities; the pipe gives the useful message.
      const inner = issue.errors.flat()[0];
      const msg = inner && isCustomMessage(inner.message) ? `expected ${inner.message}` : 'value has the wrong type';
      return [{ file, ...at(node?.range?.[0]), path: dotted, message: `${msg}, found ${describe(issue.input)}` }];
    }
    case 'custom': {
      const params = issue.params as IssueParams | undefined;
      const message = params?.sentence ? issue.message : `expected ${issue.message}, found ${describe(issue.input)}`;
      return [{ file, ...at(node?.range?.[0]), path: dotted, message, ...(params?.hint ? { hint: params.hint } : {}) }];
    }
    default:
      return [
        {
          file,
          ...at(node?.range?.[0]),
          path: dotted,
          message: `${issue.message}${'input' in issue ? `, found ${describe(issue.input)}` : ''}`,
        },
      ];
  }
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

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null (an empty value)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(clip(v));
  if (typeof v === 'number' && !Number.isInteger(v)) return `${v} (not an integer)`;
  return String(v);
}

/** The node at `path`, or at its longest indexed prefix (a path inside an alias ends at the alias). */
function nodeAt(index: NodeIndex, path: readonly (string | number)[]): Node | undefined {
  for (let i = path.length; i >= 0; i--) {
    const n = index.get(pathKey(path.slice(0, i)));
    if (n) return n.node;
  }
  return undefined;
}

type AnySchema = z.core.$ZodType;

/** The keys an object at `path` accepts, found by walking the schema (for did-you-mean). */
function knownKeys(path: (string | number)[]): string[] {
  let s: AnySchema | undefined = cloudFileSchema;
  for (const seg of path) {
    s = unwrap(s);
    if (!s) return [];
    const def = s._zod.def as unknown as Record<string, unknown>;
    if (def.type === 'object') s = (def.shape as Record<string, AnySchema>)[String(seg)];
    else if (def.type === 'array') s = def.element as AnySchema;
    else if (def.type === 'record') s = def.valueType as AnySchema;
    else return [];
  }
  s = unwrap(s);
  const def = s?._zod.def as unknown as Record<string, unknown> | undefined;
  if (def?.type === 'object') return Object.keys(def.shape as object);
  // A record keyed by an enum (images.overrides): its keys are the enum's values.
  const keyDef =
    def?.type === 'record' ? ((def.keyType as AnySchema)._zod.def as unknown as Record<string, unknown>) : undefined;
  if (keyDef?.type === 'enum') return Object.values(keyDef.entries as Record<string, string>);
  return [];
}

function unwrap(s: AnySchema | undefined): AnySchema | undefined {
  while (s) {
    const def = s._zod.def as unknown as Record<string, unknown>;
    if (
      def.type === 'optional' ||
      def.type === 'default' ||
      def.type === 'nullable' ||
      def.type === 'prefault' ||
      def.type === 'readonly'
    )
      s = def.innerType as AnySchema;
    else if (def.type === 'pipe') s = def.in as AnySchema;
    else return s;
  }
  return s;
}
