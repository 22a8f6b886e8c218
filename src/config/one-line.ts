/**
 * One line of text: what every value osk writes into a generated file or hands to a script must
 * be. A newline (or another control character) in a value would become a second line of an INI
 * file, i.e. an option nobody asked for, or a second row of a script's input list. src/spec
 * refuses such values with their position in the cloud file; this is the second line of defence,
 * with the user-facing error (exit 2) that names where the value was going.
 */
import { ExitCode, OskError } from '../errors.js';

/** Control characters (C0, DEL, C1) and the Unicode line and paragraph separators. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** The first control character of a value, as U+XXXX, or undefined. */
function controlCharacter(value: string): string | undefined {
  const m = CONTROL.exec(value);
  return m ? `U+${m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}` : undefined;
}

/** Whether `value` holds no control character: what oneLine checks, without a message to build. */
export function isOneLine(value: string): boolean {
  return !CONTROL.test(value);
}

/** `value` unchanged, or an OskError naming `where` (the field, or the file and key). */
export function oneLine(where: string, value: string): string {
  const bad = controlCharacter(value);
  if (bad !== undefined) {
    throw new OskError(
      `${where}: the value ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)} contains a control character (${bad}); it would become a second line or field of what osk writes`,
      {
        exitCode: ExitCode.invalidInput,
        hint: 'use one line of printable text (no newline, tab or other control character) in the cloud file field that sets it',
      },
    );
  }
  return value;
}
