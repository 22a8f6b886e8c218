/** The one db-init SQL of both targets (run for real in tasks.test.ts and observe/exporters.test.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dbInitSql } from './database.js';

test('db-init SQL creates the databases and keeps the user password in step with the store', () => {
  const nova = { databases: ['nova_api', 'nova'], user: 'nova', password: 'Abc123', from: '127.0.0.1' } as const;
  const sql = dbInitSql(nova);
  assert.match(sql, /CREATE DATABASE IF NOT EXISTS `nova_api`/);
  assert.match(sql, /ALTER USER 'nova'@'127\.0\.0\.1' IDENTIFIED BY 'Abc123';/);
  assert.match(sql, /GRANT ALL PRIVILEGES ON `nova`\.\* TO 'nova'@'127\.0\.0\.1';/);
  assert.throws(() => dbInitSql({ ...nova, password: "bad'quote" }));
  assert.throws(() => dbInitSql({ ...nova, databases: ['x; DROP'] }));
  // The Kubernetes form: any pod may connect; the metrics user's grants and connection limit.
  const metrics = dbInitSql({
    databases: [],
    user: 'mysqld_exporter',
    password: 'Abc123',
    from: '%',
    grants: ['PROCESS, BINLOG MONITOR ON *.*', 'SELECT ON performance_schema.*'],
    maxConnections: 3,
  });
  assert.match(metrics, /ALTER USER 'mysqld_exporter'@'%' IDENTIFIED BY 'Abc123' WITH MAX_USER_CONNECTIONS 3;/);
  assert.match(metrics, /GRANT SELECT ON performance_schema\.\* TO 'mysqld_exporter'@'%';/);
  assert.doesNotMatch(metrics, /DATABASE/);
  assert.throws(() => dbInitSql({ ...nova, grants: ["ALL ON *.* TO 'x'@'%'; DROP"] }));
});
