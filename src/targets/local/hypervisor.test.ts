/** The virt_type decision from what the probe saw, and the probe's per-boot record. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideVirtType, firstConsoleLine, savedProbeFor } from './hypervisor.js';

const BANNER = 'Linux version 6.1.0-57-cloud-amd64';

test('KVM only when a kernel printed under it; TCG otherwise, saying why', () => {
  assert.deepEqual(decideVirtType({ kind: 'booted', kvm: { firstLine: BANNER, seconds: 0.41 } }), {
    virtType: 'kvm',
    reason: `a kernel under KVM printed "${BANNER}" 0.4 s after QEMU started`,
  });
  const hung = decideVirtType({
    kind: 'booted',
    kvm: { seconds: 10 },
    tcg: { firstLine: BANNER, seconds: 2.34 },
  });
  assert.equal(hung.virtType, 'qemu');
  assert.equal(
    hung.reason,
    `under KVM a kernel printed nothing in 10.0 s: /dev/kvm opens but its guests hang, while under TCG the same kernel printed "${BANNER}" after 2.3 s`,
  );
  const neither = decideVirtType({ kind: 'booted', kvm: { seconds: 10 }, tcg: { seconds: 60 } });
  assert.equal(neither.virtType, 'qemu');
  assert.match(neither.reason, /under TCG it printed nothing either \(60\.0 s waited\): the probe is inconclusive/);
  const failed = decideVirtType({
    kind: 'booted',
    kvm: { seconds: 0.1, exit: 'exit 1: qemu-system-x86_64: failed to initialize kvm: Permission denied' },
  });
  assert.deepEqual(failed, {
    virtType: 'qemu',
    reason:
      'QEMU could not run a guest with KVM: exit 1: qemu-system-x86_64: failed to initialize kvm: Permission denied',
  });
});

test('without a KVM device or without QEMU nothing is booted, and TCG is chosen', () => {
  assert.deepEqual(decideVirtType({ kind: 'no-kvm-device', device: '/dev/kvm', code: 'ENOENT' }), {
    virtType: 'qemu',
    reason: 'there is no /dev/kvm (no hardware virtualisation here, or the kvm module is not loaded)',
  });
  assert.equal(
    decideVirtType({ kind: 'no-kvm-device', device: '/dev/kvm', code: 'EACCES' }).reason,
    '/dev/kvm cannot be opened (EACCES)',
  );
  assert.deepEqual(decideVirtType({ kind: 'no-qemu', binary: 'qemu-system-x86_64' }), {
    virtType: 'qemu',
    reason: 'qemu-system-x86_64 is not installed, so KVM could not be tried',
  });
});

test("the kernel's first console line is its banner, found in partial serial output", () => {
  assert.equal(firstConsoleLine('SeaBIOS (version 1.16.2)\r\nBooting from ROM..'), undefined);
  const line = `[    0.000000] ${BANNER} (debian-kernel@lists.debian.org) (gcc-12) #1 SMP`;
  assert.equal(firstConsoleLine(`Booting from ROM..\r\n${line}\r\n`), BANNER);
  assert.equal(
    firstConsoleLine(`Booting from ROM..\r\n${line.slice(0, 30)}`),
    undefined,
    'not until the line is whole',
  );
});

test('a saved probe counts only for the boot it was made in', () => {
  const saved = JSON.stringify({
    virtType: 'qemu',
    reason: 'r',
    bootId: 'b1',
    probedAt: '2026-12-07T00:00:00Z',
    observation: { kind: 'no-qemu', binary: 'q' },
  });
  assert.equal(savedProbeFor(saved, 'b1')?.virtType, 'qemu');
  assert.equal(savedProbeFor(saved, 'b2'), undefined, 'another boot: probe again');
  assert.equal(savedProbeFor('{not json', 'b1'), undefined);
  assert.equal(savedProbeFor(JSON.stringify({ bootId: 'b1', virtType: 'xen', reason: 'r' }), 'b1'), undefined);
  assert.equal(savedProbeFor(undefined, 'b1'), undefined);
});
