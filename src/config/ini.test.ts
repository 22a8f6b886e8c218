import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExitCode, OskError } from '../errors.js';
import { IniDoc, formatValue } from './ini.js';

/**
 * A port of the reading rules of oslo.config's iniparser (whole-line comments, split at the
 * first ':' or '=', outer matching quotes stripped, no escapes) plus its `$$` substitution, to
 * check that what the writer emits reads back as the value that was meant.
 */
function osloRead(text: string): Map<string, Map<string, string[]>> {
  const out = new Map<string, Map<string, string[]>>();
  let section = '';
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      section = line.slice(1, line.indexOf(']'));
      out.set(section, out.get(section) ?? new Map());
      continue;
    }
    const i = [line.indexOf('='), line.indexOf(':')].filter((x) => x >= 0).sort((a, b) => a - b)[0]!;
    const key = line.slice(0, i).trim();
    let value = line.slice(i + 1).trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0])
      value = value.slice(1, -1);
    value = value.replace(/\$\$/g, '$');
    const s = out.get(section)!;
    s.set(key, [...(s.get(key) ?? []), value]);
  }
  return out;
}

test('values read back exactly, including "$", "#", ";" and "=" in passwords', () => {
  const doc = new IniDoc('x.conf', '2025.1');
  const pw = 'a$b#c;d=e:f%g"h';
  doc.set('database', 'connection', `mysql+pymysql://u:${pw}@db/x`, { secret: true });
  doc.set('DEFAULT', 'debug', false);
  doc.set('DEFAULT', 'servers', ['a:1', 'b:2']);
  const read = osloRead(doc.renderSecrets() + doc.renderPublic());
  assert.equal(read.get('database')!.get('connection')![0], `mysql+pymysql://u:${pw}@db/x`);
  assert.equal(read.get('DEFAULT')!.get('debug')![0], 'false');
  assert.equal(read.get('DEFAULT')!.get('servers')![0], 'a:1,b:2');
});

test('DEFAULT comes first and secret values stay out of the public file', () => {
  const doc = new IniDoc('x.conf', '2025.1');
  doc.set('database', 'connection', 'secret-url', { secret: true });
  doc.set('database', 'max_retries', -1);
  doc.set('DEFAULT', 'debug', true);
  const pub = doc.renderPublic();
  assert.ok(pub.startsWith('[DEFAULT]\ndebug = true\n'));
  assert.ok(!pub.includes('secret-url'));
  assert.equal(doc.renderSecrets(), '[database]\nconnection = secret-url\n');
});

test('multi-valued options repeat the key', () => {
  const doc = new IniDoc('x.conf', '2025.1').set('DEFAULT', 'opt', ['a', 'b'], { multi: true });
  assert.equal(doc.renderPublic(), '[DEFAULT]\nopt = a\nopt = b\n');
});

test('options newer than the target release are left out', () => {
  const doc = new IniDoc('x.conf', 'zed').set('r', 'new_opt', true, { since: '2024.2' }).set('r', 'old_opt', true);
  assert.equal(doc.renderPublic(), '[r]\nold_opt = true\n');
});

test('values oslo cannot represent are refused', () => {
  assert.throws(() => formatValue('"quoted"', 'oslo'));
  assert.throws(() => formatValue('two\nlines', 'oslo'));
  assert.throws(() => new IniDoc('x', 'zed').set('s', 'bad key', 1));
  assert.equal(formatValue('100%', 'paste'), '100%%');
});

test('a value with a newline or another control character is refused when it is set, naming file, section and key (exit 2)', () => {
  for (const bad of ['vg\n[DEFAULT]\ndebug = true', 'a\rb', 'tab\there', 'nul\u0000', 'ls\u2028x']) {
    assert.throws(
      () => new IniDoc('cinder.conf', 'zed').set('lvm', 'volume_group', bad),
      (e: unknown) =>
        e instanceof OskError &&
        e.exitCode === ExitCode.invalidInput &&
        e.message.startsWith('cinder.conf [lvm] volume_group: ') &&
        /control character \(U\+/.test(e.message),
      JSON.stringify(bad),
    );
  }
  // Inside a list as well, and for outer quotes oslo would strip.
  assert.throws(
    () => new IniDoc('nova.conf', 'zed').set('cache', 'memcache_servers', ['a:1', 'b\n:2']),
    /nova\.conf \[cache\] memcache_servers/,
  );
  assert.throws(
    () => new IniDoc('nova.conf', 'zed').set('s', 'k', "'x'"),
    (e: unknown) =>
      e instanceof OskError && e.exitCode === ExitCode.invalidInput && /nova\.conf \[s\] k/.test(e.message),
  );
  // Printable text, `$` and `%` included, is written.
  assert.equal(new IniDoc('x.conf', 'zed').set('s', 'k', 'a b;c$d').renderPublic(), '[s]\nk = a b;c$$d\n');
});
