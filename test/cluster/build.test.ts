// What the progress of `go mod download -x` is made of: its "# get" lines.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { downloadLine } from './build.js';

test('go mod download -x lines: fetched archives, requests, and what must be shown', () => {
  assert.deepEqual(downloadLine('# get https://proxy.golang.org/k8s.io/api/@v/v0.36.3.zip: 200 OK (0.183s)'), {
    module: 'k8s.io/api',
    version: 'v0.36.3',
  });
  // The proxy escapes upper case as !x.
  assert.deepEqual(
    downloadLine(
      '# get https://proxy.golang.org/github.com/!azure/go-ansiterm/@v/v0.0.0-20230124172434-306776ec8161.zip: 200 OK (0.1s)',
    ),
    {
      module: 'github.com/Azure/go-ansiterm',
      version: 'v0.0.0-20230124172434-306776ec8161',
    },
  );
  assert.equal(downloadLine('# get https://proxy.golang.org/k8s.io/api/@v/v0.36.3.zip'), 'request');
  assert.equal(downloadLine('# get https://proxy.golang.org/k8s.io/api/@v/v0.36.3.mod: 200 OK (0.1s)'), 'request');
  assert.equal(
    downloadLine('# get https://proxy.golang.org/k8s.io/api/@v/v0.36.3.zip: 500 Internal Server Error (0.1s)'),
    'other',
  );
  assert.equal(
    downloadLine('# get https://proxy.golang.org/k8s.io/api/@v/list: 503 Service Unavailable (0.1s)'),
    'other',
  );
  assert.equal(downloadLine('go: k8s.io/api@v0.36.3: verifying module: checksum mismatch'), 'other');
});
