/**
 * The cell-setup Job's script (nova.ts CELL_SETUP_SCRIPT) run by a real shell against a stand-in
 * nova-manage that maps a host only from its third discovery on, as a nova-compute that registers
 * some seconds after its pod starts would.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CELL_SETUP_SCRIPT } from './nova.js';

function fakeNovaManage(dir: string, mappedFrom: number): void {
  writeFileSync(
    join(dir, 'nova-manage'),
    `#!/bin/sh
log=${JSON.stringify(join(dir, 'calls'))}
echo "$*" >> "$log"
n=$(grep -c discover_hosts "$log")
case "$*" in
  *list_hosts*)
    echo '+-----------+------+----------+'
    echo '| Cell Name | UUID | Hostname |'
    echo '+-----------+------+----------+'
    [ "$n" -ge ${mappedFrom} ] && echo '| cell1     | u    | node-1   |'
    echo '+-----------+------+----------+' ;;
esac
exit 0
`,
  );
  chmodSync(join(dir, 'nova-manage'), 0o755);
}

function run(dir: string, tries: number) {
  return spawnSync(
    'sh',
    ['-c', CELL_SETUP_SCRIPT, 'nova-cell-setup', String(tries), '0', '--config-file', '/etc/nova/nova.conf'],
    {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
    },
  );
}

test('cell setup discovers again until a host is mapped, passing the config arguments each time', () => {
  const dir = mkdtempSync(join(tmpdir(), 'osk-cell-setup-'));
  try {
    fakeNovaManage(dir, 3);
    const r = run(dir, 10);
    assert.equal(r.status, 0, r.stderr);
    const calls = readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n');
    assert.equal(calls.filter((c) => c.includes('discover_hosts')).length, 3);
    for (const c of calls) assert.match(c, /^--config-file \/etc\/nova\/nova\.conf cell_v2 /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cell setup fails, saying what to check, when no host is ever mapped', () => {
  const dir = mkdtempSync(join(tmpdir(), 'osk-cell-setup-'));
  try {
    fakeNovaManage(dir, 99);
    const r = run(dir, 4);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no nova-compute has registered a host after 4 discoveries/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
