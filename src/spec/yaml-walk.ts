/**
 * The checks a cloud file's YAML gets before any schema: the nesting of flow collections on the raw
 * text (before the parser sees it), then one walk over the parsed nodes that indexes them by path
 * (to put every later problem on its line) and enforces the bounds of LIMITS.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type Node, type YAMLMap } from 'yaml';
import { LIMITS } from './limits.js';
import { plainProblem } from './rules.js';

/**
 * Offset of the first "[" or "{" nested deeper than LIMITS.depth, or undefined: checked on the
 * text, before the parser (which would spend seconds on half a million brackets). Quoted strings
 * and comments are skipped.
 */
export function flowNestingTooDeep(text: string): number | undefined {
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

export function lineColOfText(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, col: offset - start + 1 };
}

/** Nodes by path (segments joined with NUL, which no accepted key contains). */
export type NodeIndex = Map<string, { node: Node; key?: Node }>;
export const pathKey = (path: readonly (string | number)[]) => path.join('\u0000');

export interface WalkProblem {
  offset: number | undefined;
  path: (string | number)[];
  message: string;
  hint?: string;
}

interface Frame {
  node: unknown;
  path: (string | number)[];
  depth: number;
}

/** What the walk has gathered so far. */
interface Walked {
  index: NodeIndex;
  problems: WalkProblem[];
  aliases: number;
}

/**
 * Every node once, with an explicit stack (no recursion, whatever the depth): the index by path,
 * and the problems no schema can see — depth, aliases, long or multi-line strings anywhere
 * (keys included), duplicate keys. `fatal` stops the load before the document is expanded.
 */
export function walk(doc: Document): { index: NodeIndex; problems: WalkProblem[]; fatal: boolean } {
  const walked: Walked = { index: new Map(), problems: [], aliases: 0 };
  const stack: Frame[] = [{ node: doc.contents, path: [], depth: 0 }];
  let fatal = false;
  while (stack.length > 0) {
    if (!visit(stack.pop()!, walked, stack)) {
      fatal = true;
      break;
    }
  }
  return { index: walked.index, problems: walked.problems, fatal };
}

/** Index one node and push its children; false when a bound is passed and the walk must stop. */
function visit({ node, path, depth }: Frame, walked: Walked, stack: Frame[]): boolean {
  if (!node || typeof node !== 'object') return true;
  const n = node as Node;
  const { index, problems } = walked;
  if (!index.has(pathKey(path))) index.set(pathKey(path), { node: n });
  if (isAlias(n)) {
    if (++walked.aliases > LIMITS.aliases) {
      problems.push({
        offset: n.range?.[0],
        path,
        message: `more than ${LIMITS.aliases} YAML aliases`,
        hint: 'write the values out instead of using anchors and aliases',
      });
      return false;
    }
    return true;
  }
  if (isScalar(n)) {
    checkText(n, path, 'value', problems);
    return true;
  }
  if (!isMap(n) && !isSeq(n)) return true;
  if (depth >= LIMITS.depth) {
    problems.push({
      offset: n.range?.[0],
      path,
      message: `the YAML is nested more than ${LIMITS.depth} levels deep`,
      hint: 'a cloud file is a few levels of mappings and lists',
    });
    return false;
  }
  if (isSeq(n)) {
    for (const [i, item] of n.items.entries()) stack.push({ node: item, path: [...path, i], depth: depth + 1 });
    return true;
  }
  visitMapping(n, path, depth, walked, stack);
  return true;
}

/** The keys of a mapping: plain, within bounds, each once; their values are indexed and pushed. */
function visitMapping(n: YAMLMap, path: (string | number)[], depth: number, walked: Walked, stack: Frame[]): void {
  const { index, problems } = walked;
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
    checkText(k, childPath, 'key', problems);
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

/** A string scalar (value or key) over the length bound, or not plain text. */
function checkText(n: Node, path: (string | number)[], what: 'value' | 'key', problems: WalkProblem[]): void {
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
}

/** The node at `path`, or at its longest indexed prefix (a path inside an alias ends at the alias). */
export function nodeAt(index: NodeIndex, path: readonly (string | number)[]): Node | undefined {
  for (let i = path.length; i >= 0; i--) {
    const n = index.get(pathKey(path.slice(0, i)));
    if (n) return n.node;
  }
  return undefined;
}
