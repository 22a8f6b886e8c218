/**
 * Plain-text config files the catalog writes line by line (my.cnf, rabbitmq.conf, ceph.conf,
 * uwsgi ini). A value that carries a newline or another control character would become a line
 * of its own, i.e. an option nobody asked for; such a file is refused with the user-facing
 * error naming the file and the line's key (defence in depth: src/spec refuses these values
 * first, with their position in the cloud file).
 */
import { oneLine } from '../config/one-line.js';

/** The file's text: the lines joined by newlines, each checked to be one line. */
export function confLines(file: string, lines: string[]): string {
  for (const line of lines) {
    const key = /^\s*([^=\s]+)/.exec(line)?.[1];
    oneLine(key ? `${file}: ${key}` : file, line);
  }
  return lines.join('\n');
}
