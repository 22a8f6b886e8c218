import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CREDENTIAL_KEYS,
  credentialRotationProblem,
  keysOfRepository,
  rotateCredentialKeys,
  scratchKeystoneConf,
} from './credential-rotation.js';

describe('credential key rotation (pure)', () => {
  test("Keystone's rotation: the staged key becomes the primary, the old primary is kept, older keys go", () => {
    assert.equal(CREDENTIAL_KEYS, 3);
    // osk's first set (staged, secondary, primary), and a repository from before osk kept three.
    assert.deepEqual(rotateCredentialKeys(['S', 'X', 'P'], 'N'), ['N', 'P', 'S']);
    assert.deepEqual(rotateCredentialKeys(['S', 'P'], 'N'), ['N', 'P', 'S']);
    assert.throws(() => rotateCredentialKeys(['P'], 'N'), /at least a staged and a primary/);
  });

  test('a repository as Keystone reads it: numeric names in number order, empty files and other names ignored', () => {
    // What keystone-manage credential_rotate leaves after a rotation of 0,1,2: 0, 2 and 3.
    assert.deepEqual(keysOfRepository({ '3': 'S', '0': 'N', '2': 'P', '0.tmp': 'x', '1': '' }), ['N', 'P', 'S']);
    assert.deepEqual(keysOfRepository({ '10': 'b', '9': 'a' }), ['a', 'b']);
    assert.deepEqual(keysOfRepository({}), []);
  });

  test('only exactly Keystone’s rotation may be saved', () => {
    const before = ['S', 'X', 'P'];
    assert.equal(credentialRotationProblem(before, ['N', 'P', 'S']), undefined);
    assert.equal(credentialRotationProblem(['S', 'P'], ['N', 'P', 'S']), undefined);
    // keystone-manage skips a repository it cannot write and exits 0: nothing changed.
    assert.match(credentialRotationProblem(before, before) ?? '', /no new staged key/);
    assert.match(credentialRotationProblem(before, []) ?? '', /no new staged key/);
    // The old primary dropped: credentials it encrypts would be lost.
    assert.match(credentialRotationProblem(before, ['N', 'X', 'S']) ?? '', /not the staged key as primary/);
    assert.match(credentialRotationProblem(before, ['N', 'S']) ?? '', /expected 3 keys/);
    assert.match(credentialRotationProblem(before, ['N', 'P', 'X']) ?? '', /not the staged key as primary/);
    assert.match(credentialRotationProblem(['P'], ['N', 'P']) ?? '', /at least 2/);
  });

  test('the scratch overlay points the credential repository at the copy and the token providers at a throwaway key', () => {
    const conf = scratchKeystoneConf('/run/c', '/run/t');
    assert.match(conf, /\[credential\]\nkey_repository = \/run\/c\n/);
    assert.match(conf, /\[fernet_tokens\]\nkey_repository = \/run\/t\n/);
    assert.match(conf, /\[fernet_receipts\]\nkey_repository = \/run\/t\n/);
    assert.match(conf, /\[token\]\nprovider = fernet\n/);
    assert.throws(() => scratchKeystoneConf('/run/c\n[database]', '/run/t'), /control character/);
  });
});
