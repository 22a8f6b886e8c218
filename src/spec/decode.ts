/** The bytes of a cloud file → its text: UTF-8 only, no binary data, each refusal with its line and column. */
import { SpecError } from '../errors.js';

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
