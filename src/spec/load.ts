/**
 * Cloud file → validated CloudFile, or every problem of the file at once, each with its line and
 * column. `yaml` gives node positions (and catches syntax errors and duplicate keys); zod checks
 * the structure; issue paths are mapped back onto the YAML nodes.
 */
import { readFile } from 'node:fs/promises';
import { isMap, isNode, isPair, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { SpecError, OskError, ExitCode, type SpecProblem } from '../errors.js';
import { didYouMean } from './did-you-mean.js';
import { API_VERSION, KIND, cloudFileSchema, crossFieldProblems, type CloudFile } from './schema.js';

export async function loadCloudFile(file: string): Promise<CloudFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : String((e as Error).message);
    throw new OskError(`cannot read cloud file ${file}: ${why}`, { exitCode: ExitCode.invalidInput, hint: 'pass the path of a cloud file with -f, e.g. -f examples/minimal.yaml' });
  }
  return parseCloudFile(text, file);
}

/** Parse and validate cloud file text; throws SpecError listing every problem found. */
export function parseCloudFile(text: string, file = '<input>'): CloudFile {
  const lineCounter = new LineCounter();
  const problems: SpecProblem[] = [];
  const at = (offset: number | undefined) => {
    if (offset === undefined) return { line: 0, col: 0 };
    const p = lineCounter.linePos(offset);
    return { line: p.line, col: p.col };
  };

  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, strict: true });
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    if (doc.errors.length === 0) {
      throw new SpecError([{ file, line: 1, col: 1, path: '', message: 'the file is empty, expected a Cloud document', hint: `start with "apiVersion: ${API_VERSION}" and "kind: ${KIND}" (see examples/minimal.yaml)` }]);
    }
  }
  for (const e of doc.errors) {
    if (e.code === 'DUPLICATE_KEY') {
      problems.push({ file, ...at(e.pos[0]), path: '', message: 'duplicate key: this key appears more than once in the same mapping', hint: 'keep one of them; YAML would otherwise hide one value' });
    } else if (e.code === 'MULTIPLE_DOCS') {
      problems.push({ file, ...at(e.pos[0]), path: '', message: 'found a second YAML document ("---"), expected exactly one Cloud', hint: 'keep one cloud per file' });
    } else {
      problems.push({ file, ...at(e.pos[0]), path: '', message: 'YAML syntax error: ' + firstLine(e.message) });
    }
  }
  // Duplicate keys leave a usable document: go on, so the user sees every problem at once.
  if (doc.errors.some((e) => e.code !== 'DUPLICATE_KEY')) throw new SpecError(problems);

  const data: unknown = doc.toJS({ maxAliasCount: 100 });
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new SpecError([{ file, ...at(doc.contents?.range?.[0]), path: '', message: `expected a mapping (apiVersion, kind, metadata, spec), found ${describe(data)}` }]);
  }

  const result = cloudFileSchema.safeParse(data, { reportInput: true });
  if (!result.success) {
    for (const issue of result.error.issues) problems.push(...problemsOfIssue(issue, doc, file, at));
  }
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
      problems.push({ file, ...at(nodeAt(doc, p.path)?.range?.[0]), path: p.path.join('.'), message: p.message, ...(p.hint ? { hint: p.hint } : {}) });
    }
  }
  if (problems.length > 0) {
    problems.sort((a, b) => a.line - b.line || a.col - b.col);
    throw new SpecError(problems);
  }
  return (result as { data: CloudFile }).data;
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

function problemsOfIssue(issue: z.core.$ZodIssue, doc: Document, file: string, at: (o: number | undefined) => { line: number; col: number }): SpecProblem[] {
  const path = issue.path as (string | number)[];
  const node = nodeAt(doc, path);
  const dotted = path.join('.');
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeys(path);
      return issue.keys.map((key) => {
        const suggestion = didYouMean(key, known);
        return {
          file,
          ...at(keyNodeOf(node, key)?.range?.[0] ?? node?.range?.[0]),
          path: [...path, key].join('.'),
          message: `unknown field "${key}"${suggestion ? `; did you mean "${suggestion}"?` : ''}`,
          hint: `fields allowed here: ${known.join(', ')}`,
        };
      });
    }
    case 'invalid_type': {
      const found = 'input' in issue ? describe(issue.input) : 'nothing';
      const missing = issue.input === undefined;
      return [
        {
          file,
          ...at(node?.range?.[0] ?? nodeAt(doc, path.slice(0, -1))?.range?.[0]),
          path: dotted,
          message: missing ? `required field is missing (expected ${expectedName(issue.expected)})` : `expected ${expectedName(issue.expected)}, found ${found}`,
        },
      ];
    }
    case 'invalid_value': {
      const allowed = issue.values.map((v) => JSON.stringify(v)).join(', ');
      const custom = isCustomMessage(issue.message) ? issue.message : undefined;
      const words = issue.values.filter((v): v is string => typeof v === 'string');
      const suggestion = typeof issue.input === 'string' ? didYouMean(issue.input, words) : undefined;
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
      const cmp = issue.code === 'too_small' ? (issue.inclusive ? '≥' : '>') : issue.inclusive ? '≤' : '<';
      const what = issue.origin === 'array' ? 'number of items' : issue.origin === 'string' ? 'length' : 'a number';
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      return [{ file, ...at(node?.range?.[0]), path: dotted, message: `expected ${what} ${cmp} ${String(bound)}, found ${describe(issue.input)}` }];
    }
    case 'invalid_format':
      return [{ file, ...at(node?.range?.[0]), path: dotted, message: `expected ${issue.message}, found ${describe(issue.input)}` }];
    case 'invalid_union': {
      // Our unions are "string or number" quantities; the pipe gives the useful message.
      const inner = issue.errors.flat()[0];
      const msg = inner && isCustomMessage(inner.message) ? `expected ${inner.message}` : 'value has the wrong type';
      return [{ file, ...at(node?.range?.[0]), path: dotted, message: `${msg}, found ${describe(issue.input)}` }];
    }
    default:
      return [{ file, ...at(node?.range?.[0]), path: dotted, message: `${issue.message}${'input' in issue ? `, found ${describe(issue.input)}` : ''}` }];
  }
}

function isCustomMessage(m: string): boolean {
  return !m.startsWith('Invalid');
}

function expectedName(t: string): string {
  const names: Record<string, string> = { number: 'a number', int: 'an integer', string: 'a string', boolean: 'true or false', object: 'a mapping', array: 'a list', record: 'a mapping' };
  return names[t] ?? t;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null (an empty value)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? v.slice(0, 57) + '...' : v);
  if (typeof v === 'number' && !Number.isInteger(v)) return `${v} (not an integer)`;
  return String(v);
}

function nodeAt(doc: Document, path: (string | number)[]): Node | undefined {
  for (let i = path.length; i >= 0; i--) {
    const n = i === 0 ? doc.contents : doc.getIn(path.slice(0, i), true);
    if (isNode(n)) return n;
  }
  return undefined;
}

function keyNodeOf(node: Node | undefined, key: string): Node | undefined {
  if (!isMap(node)) return undefined;
  for (const item of node.items) {
    if (isPair(item) && isScalar(item.key) && String(item.key.value) === key) return item.key;
  }
  return undefined;
}

type AnySchema = z.core.$ZodType;

/** The keys an object at `path` accepts, found by walking the schema (for did-you-mean). */
export function knownKeys(path: (string | number)[]): string[] {
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
  return def?.type === 'object' ? Object.keys(def.shape as object) : [];
}

function unwrap(s: AnySchema | undefined): AnySchema | undefined {
  while (s) {
    const def = s._zod.def as unknown as Record<string, unknown>;
    if (def.type === 'optional' || def.type === 'default' || def.type === 'nullable' || def.type === 'prefault' || def.type === 'readonly') s = def.innerType as AnySchema;
    else if (def.type === 'pipe') s = def.in as AnySchema;
    else return s;
  }
  return s;
}
