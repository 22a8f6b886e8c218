/**
 * Size of the code: lines per file and per function in src/ (tests excluded). A function is a
 * declaration, method, arrow or function expression; its lines run from its first to its last
 * line, blank and comment-only lines not counted. Nested functions count in their parent too,
 * so a long function cannot hide in a long callback.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

export interface Measured {
  file: string;
  lines: number;
  functions: { name: string; line: number; lines: number }[];
}

export function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out.sort();
}

function codeLines(text: string, from: number, to: number): number {
  let n = 0;
  for (const l of text.split('\n').slice(from, to + 1)) {
    const t = l.trim();
    if (t && !t.startsWith('//') && !t.startsWith('*') && !t.startsWith('/*')) n++;
  }
  return n;
}

export function measure(root: string, file: string): Measured {
  const text = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const functions: Measured['functions'] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const from = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const to = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      const named = node as ts.Node & { name?: ts.Node };
      let name = named.name ? named.name.getText(sf) : '';
      if (!name && ts.isVariableDeclaration(node.parent)) name = node.parent.name.getText(sf);
      if (!name && ts.isPropertyAssignment(node.parent)) name = node.parent.name.getText(sf);
      functions.push({ name: name || '(anonymous)', line: from + 1, lines: codeLines(text, from, to) });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return { file: relative(root, file), lines: codeLines(text, 0, Number.MAX_SAFE_INTEGER), functions };
}
