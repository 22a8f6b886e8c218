/**
 * An osk file (a Cloud, a KubernetesCluster) → the validated document, or every problem of the
 * file at once, each with its line and column. Each kind brings its schema and cross-field rules
 * (`DocumentKind`); the machinery is shared. `yaml` gives node positions (and catches syntax errors); one walk over the YAML nodes
 * indexes them by path and enforces the input bounds (depth, aliases, string length, control
 * characters, duplicate keys: yaml-walk.ts); zod checks the structure; issue paths are mapped back
 * onto the nodes (issues.ts).
 *
 * Every input is bounded (limits.ts), so no file can make osk spend unbounded time or memory.
 */
import { isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { SpecError, type SpecProblem } from '../errors.js';
import { describe, problemsOfIssue } from './issues.js';
import { LIMITS, tooBig } from './limits.js';
import { API_VERSION, KIND, cloudFileSchema, crossFieldProblems, type CloudFile } from './schema.js';
import { flowNestingTooDeep, lineColOfText, nodeAt, walk, type NodeIndex } from './yaml-walk.js';
import type { Problem } from './schema-parts.js';

/** A target's own refusals of a valid cloud file (see parseCloudFile). */
export type TargetRules = (file: CloudFile) => Problem[];

/** One kind of osk file: what its document is checked against. */
export interface DocumentKind<T> {
  /** `kind:` of the document, e.g. Cloud. */
  kind: string;
  schema: z.ZodType<T>;
  /** Rules spanning fields, run on the parsed document (see schema.ts). */
  crossField: (doc: T) => Problem[];
  /** The file an empty document is pointed to. */
  example: string;
}

const CLOUD_KIND: DocumentKind<CloudFile> = {
  kind: KIND,
  schema: cloudFileSchema as z.ZodType<CloudFile>,
  crossField: crossFieldProblems,
  example: 'examples/minimal.yaml',
};

export { decodeCloudText } from './decode.js';
export { LIMITS, tooBig } from './limits.js';

type At = (offset: number | undefined) => { line: number; col: number };

const fail = (problems: SpecProblem[]): never => {
  throw specError(problems);
};

/**
 * The cloud file as text → the validated CloudFile, or a SpecError with every problem (file,
 * line, column, field). `targetRules`: what the target that will run the file cannot do (the
 * all-in-one has no Ceph), reported like any other problem, with the field's position.
 */
export function parseCloudFile(text: string, file = '<input>', targetRules?: TargetRules): CloudFile {
  return parseOskDocument(CLOUD_KIND, text, file, targetRules);
}

/**
 * Text → a validated document of `kind`, or a SpecError with every problem (file, line, column,
 * field). `extraRules` are more refusals of a valid document, placed on their fields like the rest.
 */
export function parseOskDocument<T>(
  kind: DocumentKind<T>,
  text: string,
  file = '<input>',
  extraRules?: (doc: T) => Problem[],
): T {
  if (text.length > LIMITS.fileBytes || Buffer.byteLength(text, 'utf8') > LIMITS.fileBytes) throw tooBig(file);
  const lineCounter = new LineCounter();
  const at: At = (offset) => {
    if (offset === undefined) return { line: 0, col: 0 };
    const p = lineCounter.linePos(offset);
    return { line: p.line, col: p.col };
  };
  const doc = parseYaml(kind, text, file, lineCounter, at);

  // The walk: bounds, duplicate keys, and the index of every node by path.
  const walked = walk(doc);
  const problems: SpecProblem[] = [];
  for (const w of walked.problems)
    problems.push({
      file,
      ...at(w.offset),
      path: w.path.join('.'),
      message: w.message,
      ...(w.hint ? { hint: w.hint } : {}),
    });
  if (walked.fatal) fail(problems);

  const data = expand(kind, doc, problems, file, at);
  const index = walked.index;
  const suggestions = { left: LIMITS.problems };
  // jitless: zod would compile a fast parser for each object schema first, which pays off over
  // many parses; osk parses one file per run.
  const result = kind.schema.safeParse(data, { reportInput: true, jitless: true });
  if (!result.success) {
    // Loops, not push(...list): a list of 50,000 problems would overflow the argument stack.
    for (const issue of result.error.issues)
      for (const p of problemsOfIssue(kind.schema, issue, index, file, at, suggestions)) problems.push(p);
  }
  const unique = onePerField(problems);
  problems.length = 0;
  for (const p of unique) problems.push(p);
  const rules = (d: T) => [...kind.crossField(d), ...(extraRules?.(d) ?? [])];
  addCrossFieldProblems((result.success ? result.data : data) as T, rules, problems, index, file, at);
  if (problems.length > 0) fail(problems);
  return (result as { data: T }).data;
}

/** The text → one YAML document, or the nesting, emptiness and syntax problems that stop the load. */
function parseYaml<T>(kind: DocumentKind<T>, text: string, file: string, lineCounter: LineCounter, at: At): Document {
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

  // uniqueKeys is off: the yaml library checks it in quadratic time; the walk does it with a set.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false, strict: true });
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    if (doc.errors.length === 0) {
      fail([
        {
          file,
          line: 1,
          col: 1,
          path: '',
          message: `the file is empty, expected a ${kind.kind} document`,
          hint: `start with "apiVersion: ${API_VERSION}" and "kind: ${kind.kind}" (see ${kind.example})`,
        },
      ]);
    }
  }
  const problems: SpecProblem[] = [];
  for (const e of doc.errors) {
    if (e.code === 'MULTIPLE_DOCS') {
      problems.push({
        file,
        ...at(e.pos[0]),
        path: '',
        message: `found a second YAML document ("---"), expected exactly one ${kind.kind}`,
        hint: `keep one ${kind.kind} per file`,
      });
    } else {
      problems.push({ file, ...at(e.pos[0]), path: '', message: `YAML syntax error: ${firstLine(e.message)}` });
    }
  }
  if (problems.length > 0) fail(problems);
  return doc;
}

/** The document as plain data (aliases expanded, within their bound), which must be a mapping. */
function expand<T>(kind: DocumentKind<T>, doc: Document, problems: SpecProblem[], file: string, at: At): object {
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
        message: `expected a mapping (apiVersion, kind: ${kind.kind}, metadata, spec), found ${describe(data)}`,
      },
    ]);
  }
  return data as object;
}

/**
 * Cross-field rules also run on a file with structural problems (on what can be read), so one
 * pass reports everything; a rule whose field already has a problem stays quiet.
 */
function addCrossFieldProblems<T>(
  doc: T,
  rules: (doc: T) => Problem[],
  problems: SpecProblem[],
  index: NodeIndex,
  file: string,
  at: At,
) {
  let cross: Problem[] = [];
  try {
    cross = rules(doc);
  } catch {
    cross = [];
  }
  const reported = new Set(problems.map((p) => p.path));
  for (const p of cross.filter((c) => !reported.has(c.path.join('.')))) {
    problems.push({
      file,
      ...at(nodeAt(index, p.path)?.range?.[0]),
      path: p.path.join('.'),
      message: p.message,
      ...(p.hint ? { hint: p.hint } : {}),
    });
  }
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

function firstLine(s: string): string {
  return s.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}
