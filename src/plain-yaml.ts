/**
 * YAML text from plain data (what JSON can hold): the output of `osk render`, `-o yaml` and the
 * configuration files osk writes.
 *
 * Why not the `yaml` package, which osk uses to read files: its stringify builds a document tree
 * for every value first, and that was the largest single cost of `osk render` (about 4/5 of the
 * CPU of turning 259 objects into 474 KiB; issue 13). js-yaml's dump, the other maintained
 * writer, still took a quarter of that budget. Plain data needs no tree: this writer walks the
 * value once and builds the text directly, in the same layout as `yaml`'s
 * `stringify(value, { version: '1.1', lineWidth: 0, aliasDuplicateObjects: false })` (block
 * style, sequences indented under their key, no folding, literal blocks for multi-line strings),
 * byte for byte: src/plain-yaml.test.ts checks it against `yaml` on random values and on
 * every object osk renders, and checks that both YAML 1.1 and 1.2 readers get the value back.
 *
 * Two deliberate differences: strings that Go's YAML readers (kubectl, Kubernetes) would take
 * as numbers although YAML 1.1 does not, such as `0o17` or `0X1F`, are quoted, where `yaml` leaves
 * them plain; and a multi-line string that cannot be a literal block (control characters, spaces
 * after its last line break, or nothing but whitespace) is one double-quoted line with `\n` escapes, where `yaml`
 * folds it over several lines.
 */
type Plain = null | boolean | number | string | Plain[] | { [key: string]: Plain | undefined };

/**
 * Strings a YAML reader would not read back as the same string when written plain: YAML 1.1's
 * booleans, null, integers (binary, octal, decimal, hex, base 60), floats and timestamps, YAML
 * 1.2's octal, and the prefixed integers Go's strconv accepts. (As a key, `<<` too: YAML 1.1's merge key.)
 */
const NOT_A_STRING_WHEN_PLAIN = [
  /^(?:~|[Nn]ull|NULL)?$/,
  /^(?:Y|y|[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON|N|n|[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF)$/,
  /^[-+]?0b[0-1_]+$/,
  /^[-+]?0[0-7_]+$/,
  /^[-+]?[0-9][0-9_]*$/,
  /^[-+]?0x[0-9a-fA-F_]+$/,
  /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/,
  /^[-+]?(?:[0-9][0-9_]*)?(?:\.[0-9_]*)?[eE][-+]?[0-9]+$/,
  /^[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*$/,
  /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+$/,
  /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*$/,
  /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:t|T|[ \t]+)[0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]+)?(?:[ \t]*(?:Z|[-+][012]?[0-9](?::[0-9]{2})?))?)?$/,
  /^[-+]?0(?:[bB][01_]+|[oO][0-7_]+|[xX][0-9a-fA-F_]+)$/,
];

/** What cannot start or end a plain scalar, or appear in one (YAML's indicators and comment/key markers). */
const PLAIN_FORBIDDEN = /^[\n\t ,[\]{}#&*!|>'"%@`]|^[?-]$|^[?-][ \t]|[\n:][ \t]|[ \t]\n|[\n\t ]#|[\n\t :]$/;
/** Characters only a double-quoted scalar can carry: C0/C1 controls and unpaired surrogates. */
const NEEDS_ESCAPES = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u{D800}-\u{DFFF}]/u;
/** Lines that a YAML 1.1 reader takes as a directive or document boundary. */
const DOCUMENT_MARKER = /^(%|---|\.\.\.)/m;
/**
 * Multi-line strings a literal block cannot hold: whitespace after the last line break, or
 * nothing but whitespace (its spaces would be read as indentation).
 */
const NOT_A_BLOCK = /\n[\t ]+$|^[\t\n ]*$/;
/** Only these characters: a plain scalar at once, unless it spells another type (checked after). */
const SIMPLE = /^[A-Za-z0-9_/][A-Za-z0-9_./=+-]*$/;

const ESCAPE_NAMES: Record<string, string> = {
  '0000': '\\0',
  '0007': '\\a',
  '000b': '\\v',
  '001b': '\\e',
};

/**
 * A double-quoted scalar on one line: JSON's escapes, with YAML's short forms for the controls
 * JSON spells \uXXXX, and a space before an escaped line break escaped too (as `yaml` does).
 */
function doubleQuoted(value: string): string {
  const json = JSON.stringify(value);
  if (!json.includes('\\u') && !json.includes(' \\n')) return json;
  // Whole escapes only: in `"\\u0000"` (a backslash, then u0000) the u is no escape.
  return json.replace(/ (?=\\n)|\\(?:u([0-9a-f]{4})|.)/g, (token, code: string | undefined) => {
    if (token === ' ') return '\\ ';
    if (code === undefined) return token;
    const named = ESCAPE_NAMES[code];
    if (named) return named;
    return code.startsWith('00') ? `\\x${code.slice(2)}` : token;
  });
}

/** A quoted one-line scalar: single quotes when the value has a `"` and no `'`, else double. */
function quoted(value: string): string {
  if (value.includes('"') && !value.includes("'")) return `'${value}'`;
  return doubleQuoted(value);
}

/**
 * What every spelling above starts with (or the empty string): `~`, the first letters of the
 * words (and of `e5`, a float), a sign, a dot or a digit. Most keys and values start otherwise
 * and so take one test here instead of thirteen (issue 13: this check runs for every scalar).
 */
const MAY_SPELL_ANOTHER_TYPE = /^(?:$|[~nNyYtTfFoOeE+\-.0-9])/;

function spellsAnotherType(value: string): boolean {
  if (!MAY_SPELL_ANOTHER_TYPE.test(value)) return false;
  for (const re of NOT_A_STRING_WHEN_PLAIN) if (re.test(value)) return true;
  return false;
}

/**
 * How the keys and one-line string values already seen are written. A render writes a few
 * hundred distinct short strings tens of thousands of times (`name`, `metadata`, `app.kubernetes.io/name`,
 * `TCP`...), and deciding how to write one takes a few regular expressions (issue 13: about a
 * third of the writer's CPU). Only short strings are kept, and a map that grows past its bound
 * starts again, so a process that writes many files holds little.
 */
const KEYS = new Map<string, string>();
const TOP_LEVEL_KEYS = new Map<string, string>();
const VALUES = new Map<string, string>();
const REMEMBERED_LENGTH = 80;
const REMEMBERED_ENTRIES = 4096;

function remember(seen: Map<string, string>, value: string, written: string): string {
  if (value.length > REMEMBERED_LENGTH) return written;
  if (seen.size >= REMEMBERED_ENTRIES) seen.clear();
  seen.set(value, written);
  return written;
}

/**
 * A mapping key, on one line: plain when YAML reads it back as this string, else quoted (double
 * quotes when it spans lines). `topLevel`: a key of the document's own mapping, where a line
 * starting `---`, `...` or `%` would end the document.
 */
function key(value: string, topLevel: boolean): string {
  const seen = topLevel ? TOP_LEVEL_KEYS : KEYS;
  const written = seen.get(value);
  return written ?? remember(seen, value, newKey(value, topLevel));
}

function newKey(value: string, topLevel: boolean): string {
  if (SIMPLE.test(value) && !spellsAnotherType(value)) return value;
  if (value.includes('\n') || NEEDS_ESCAPES.test(value)) return doubleQuoted(value);
  if (PLAIN_FORBIDDEN.test(value) || spellsAnotherType(value) || value === '<<') return quoted(value);
  if (topLevel && DOCUMENT_MARKER.test(value)) return quoted(value);
  return value;
}

/**
 * A literal block scalar for a multi-line string, its header chosen as `yaml` does: chomping from
 * the trailing newlines, an indentation indicator when the text starts with a space.
 */
function literalBlock(value: string, indent: string): string {
  let endStart = value.length;
  while (endStart > 0) {
    const ch = value[endStart - 1];
    if (ch !== '\n' && ch !== '\t' && ch !== ' ') break;
    endStart--;
  }
  let end = value.substring(endStart);
  const endNewline = end.indexOf('\n');
  const chomp = endNewline === -1 ? '-' : value === end || endNewline !== end.length - 1 ? '+' : '';
  let body = value;
  if (end) {
    body = body.slice(0, -end.length);
    if (end.endsWith('\n')) end = end.slice(0, -1);
    end = end.replace(/(^|(?<!\n))\n+(?!\n|$)/g, `$&${indent}`);
  }
  let startWithSpace = false;
  let startEnd = 0;
  let startNewline = -1;
  for (; startEnd < body.length; ++startEnd) {
    const ch = body[startEnd];
    if (ch === ' ') startWithSpace = true;
    else if (ch === '\n') startNewline = startEnd;
    else break;
  }
  let start = body.substring(0, startNewline < startEnd ? startNewline + 1 : startEnd);
  if (start) {
    body = body.substring(start.length);
    start = start.replace(/\n+/g, `$&${indent}`);
  }
  // The indicator counts from the parent's indent: one step, or one column at the document's root.
  const header = (startWithSpace ? (indent ? '2' : '1') : '') + chomp;
  return `|${header}\n${indent}${start}${body.replace(/\n+/g, `$&${indent}`)}${end}`;
}

/** A string value whose content lines, if any, are indented by `indent`. */
function scalarString(value: string, indent: string): string {
  if (value.length > REMEMBERED_LENGTH) return newScalarString(value, indent);
  const written = VALUES.get(value);
  if (written !== undefined) return written;
  // A one-line string is written the same at any indent; a multi-line one is not kept.
  return value.includes('\n')
    ? newScalarString(value, indent)
    : remember(VALUES, value, newScalarString(value, indent));
}

function newScalarString(value: string, indent: string): string {
  if (SIMPLE.test(value)) return spellsAnotherType(value) ? doubleQuoted(value) : value;
  if (NEEDS_ESCAPES.test(value)) return doubleQuoted(value);
  if (value.includes('\n')) return NOT_A_BLOCK.test(value) ? doubleQuoted(value) : literalBlock(value, indent);
  if (PLAIN_FORBIDDEN.test(value) || spellsAnotherType(value)) return quoted(value);
  return value;
}

function scalar(value: Plain | undefined, indent: string): string {
  switch (typeof value) {
    case 'string':
      return scalarString(value, indent);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) return Number.isNaN(value) ? '.nan' : value < 0 ? '-.inf' : '.inf';
      return Object.is(value, -0) ? '-0' : JSON.stringify(value);
    default:
      return 'null';
  }
}

function isCollection(value: unknown): value is Plain[] | Record<string, Plain | undefined> {
  return typeof value === 'object' && value !== null;
}

function isEmpty(value: Plain[] | Record<string, Plain | undefined>): boolean {
  if (Array.isArray(value)) return value.length === 0;
  for (const k in value) if (value[k] !== undefined) return false;
  return true;
}

/** The lines of a non-empty mapping at `indent`; the first line carries no indent (the caller placed it). */
function mapping(value: Record<string, Plain | undefined>, indent: string, depth: number): string {
  let out = '';
  const inner = `${indent}  `;
  for (const k of Object.keys(value)) {
    const v = value[k];
    if (v === undefined) continue;
    if (out) out += `\n${indent}`;
    const written = key(k, depth === 0);
    // YAML allows an implicit key of at most 1024 characters; a longer one is explicit (`? key`),
    // and its value then starts on the `:` line.
    const explicit = written.length > 1024;
    out += explicit ? `? ${written}\n${indent}:` : `${written}:`;
    if (isCollection(v)) {
      const start = explicit ? ' ' : `\n${inner}`;
      if (isEmpty(v)) out += Array.isArray(v) ? ' []' : ' {}';
      else if (Array.isArray(v)) out += `${start}${sequence(v, inner, depth + 1)}`;
      else out += `${start}${mapping(v, inner, depth + 1)}`;
    } else out += ` ${scalar(v, inner)}`;
  }
  return out;
}

/** The items of a non-empty sequence at `indent`; the first line carries no indent. */
function sequence(value: Plain[], indent: string, depth: number): string {
  let out = '';
  const inner = `${indent}  `;
  for (const v of value) {
    if (out) out += `\n${indent}`;
    // An item `yaml` would write as null: JSON's holes and undefined.
    const item = v === undefined ? null : v;
    if (isCollection(item)) {
      if (isEmpty(item)) out += Array.isArray(item) ? '- []' : '- {}';
      else if (Array.isArray(item)) out += `- ${sequence(item, inner, depth + 1)}`;
      else out += `- ${mapping(item, inner, depth + 1)}`;
    } else out += `- ${scalar(item, inner)}`;
  }
  return out;
}

/**
 * A string that is the whole document: as anywhere else, except that a line starting `---`,
 * `...` or `%` would end the document, so such a string becomes a block indented one step, and
 * a multi-line one starting with a space is quoted.
 */
function rootString(value: string): string {
  // `yaml` writes a block here with an indentation indicator that no reader accepts (`|1`, then
  // lines at column 0): quoted instead.
  const marker = DOCUMENT_MARKER.test(value);
  if (!marker && value.includes('\n') && /^\n*[ ]/.test(value)) return doubleQuoted(value);
  if (!marker || NEEDS_ESCAPES.test(value)) return scalarString(value, '');
  if (value.includes('\n')) return NOT_A_BLOCK.test(value) ? doubleQuoted(value) : literalBlock(value, '  ');
  return PLAIN_FORBIDDEN.test(value) || spellsAnotherType(value) ? quoted(value) : literalBlock(value, '  ');
}

function write(value: Plain): string {
  if (!isCollection(value)) return `${typeof value === 'string' ? rootString(value) : scalar(value, '')}\n`;
  if (isEmpty(value)) return Array.isArray(value) ? '[]\n' : '{}\n';
  return `${Array.isArray(value) ? sequence(value, '', 0) : mapping(value, '', 0)}\n`;
}

/** One YAML document (no `---`), ending in a newline. `value` is plain data: JSON.parse could have made it. */
export function toPlainYaml(value: unknown): string {
  return write(value as Plain);
}
