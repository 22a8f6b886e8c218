import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  backupName,
  compareOvn,
  compareTables,
  describeDiff,
  FORMAT,
  MANIFEST,
  MANIFEST_SUM,
  readManifest,
  retention,
  sha256File,
  sha256Text,
  verifyFiles,
  type Manifest,
} from './manifest.js';

async function fixture(): Promise<{ dir: string; manifest: Manifest }> {
  const dir = await mkdtemp(join(tmpdir(), 'osk-manifest-'));
  await writeFile(join(dir, 'a.gz'), Buffer.alloc(1000, 1));
  await writeFile(join(dir, 'b.gz'), 'hello');
  const manifest: Manifest = {
    format: FORMAT,
    cloud: 'c1',
    oskVersion: '0.1.0',
    createdAt: '2024-01-01T00:00:00.000Z',
    host: 'h',
    packages: {},
    databaseMethod: 'dump',
    databases: ['nova'],
    files: [
      { name: 'a.gz', bytes: 1000, sha256: await sha256File(join(dir, 'a.gz')), content: 'a' },
      { name: 'b.gz', bytes: 5, sha256: sha256Text('hello'), content: 'b' },
    ],
    tables: [{ db: 'nova', table: 'instances', rows: 2, checksum: '123' }],
    ovn: [],
    images: [],
    seconds: 1,
  };
  const text = JSON.stringify(manifest);
  await writeFile(join(dir, MANIFEST), text);
  await writeFile(join(dir, MANIFEST_SUM), `${sha256Text(text)}  ${MANIFEST}\n`);
  return { dir, manifest };
}

describe('backup manifest', () => {
  test('an intact backup has no problems', async () => {
    const { dir } = await fixture();
    const { manifest, problems } = await readManifest(dir);
    assert.deepEqual(problems, []);
    assert.deepEqual(await verifyFiles(dir, manifest!.files), []);
    await rm(dir, { recursive: true });
  });

  test('a truncated file, a flipped byte, a missing file are each named', async () => {
    const { dir, manifest } = await fixture();
    await truncate(join(dir, 'a.gz'), 10);
    await writeFile(join(dir, 'b.gz'), 'hellp');
    const problems = await verifyFiles(dir, [
      ...manifest.files,
      { name: 'c.gz', bytes: 1, sha256: 'x', content: '' },
      { name: '../etc/passwd', bytes: 1, sha256: 'x', content: '' },
    ]);
    assert.deepEqual(
      problems.map((p) => p.name),
      ['a.gz', 'b.gz', 'c.gz', '../etc/passwd'],
    );
    assert.match(problems[0]!.problem, /10 bytes, the manifest says 1000 \(truncated\)/);
    assert.match(problems[1]!.problem, /sha256 .* differs .*damaged/);
    assert.equal(problems[2]!.problem, 'missing');
    await rm(dir, { recursive: true });
  });

  test('a changed manifest or a missing one is refused', async () => {
    const { dir } = await fixture();
    await writeFile(
      join(dir, MANIFEST),
      (await import('node:fs')).readFileSync(join(dir, MANIFEST), 'utf8').replace('"rows":2', '"rows":3'),
    );
    assert.match((await readManifest(dir)).problems[0]!.problem, /differs from manifest.json.sha256/);
    await writeFile(join(dir, MANIFEST), '{"format":');
    assert.ok((await readManifest(dir)).problems.some((p) => /not valid JSON/.test(p.problem)));
    await rm(join(dir, MANIFEST));
    assert.match((await readManifest(dir)).problems[0]!.problem, /cannot be read/);
    await rm(dir, { recursive: true });
  });

  test('table comparison: changed rows, changed checksum, missing and extra tables', () => {
    const exp = [
      { db: 'nova', table: 'a', rows: 1, checksum: '1' },
      { db: 'nova', table: 'b', rows: 2, checksum: '2' },
      { db: 'nova', table: 'c', rows: 3, checksum: '3' },
      { db: 'nova', table: 'd', rows: 4, checksum: '4' },
    ];
    const got = [
      { db: 'nova', table: 'a', rows: 1, checksum: '1' },
      { db: 'nova', table: 'b', rows: 1, checksum: '2' },
      { db: 'nova', table: 'c', rows: 3, checksum: '9' },
      { db: 'nova', table: 'e', rows: 0, checksum: '0' },
    ];
    const d = compareTables(exp, got);
    assert.deepEqual(
      d.map((x) => x.table),
      ['b', 'c', 'd', 'e'],
    );
    assert.equal(describeDiff(d[2]!), 'nova.d: backup 4 rows, checksum 4; now absent');
    assert.deepEqual(compareTables(exp, exp), []);
    assert.deepEqual(
      compareOvn([{ db: 'OVN_Northbound', table: 'ACL', rows: 2 }], [{ db: 'OVN_Northbound', table: 'ACL', rows: 1 }]),
      ['OVN_Northbound.ACL: backup 2 rows, now 1'],
    );
  });

  test('names sort by time; retention keeps the newest N of this cloud only', () => {
    assert.equal(backupName('c1', new Date('2024-03-04T05:06:07.890Z')), 'c1-20240304T050607Z');
    const names = [
      'c1-20240101T000000Z',
      'c1-20240103T000000Z',
      'c1-20240102T000000Z',
      'c1-20240104T000000Z',
      'c10-20240101T000000Z',
      'c1-20240105T000000Z.partial-12',
      'notes',
    ];
    assert.deepEqual(retention(names, 'c1', 2), ['c1-20240101T000000Z', 'c1-20240102T000000Z']);
    assert.deepEqual(retention(names, 'c1', 5), []);
  });
});
