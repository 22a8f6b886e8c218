/**
 * The hypervisor probe on this machine, for real: the guest image's kernel booted under KVM (and
 * under TCG when KVM shows nothing). Whatever this host turns out to do, the decision must be the
 * one its observation calls for, and the observation must agree with what can be checked apart
 * (whether /dev/kvm exists; that TCG boots the kernel). A second call in the same boot comes from
 * the saved result without booting anything.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureGuestImage } from '../../images/guest/build.js';
import { missingTools } from '../../images/host.js';
import { readHypervisorFact } from './host-facts.js';
import { decideVirtType } from './hypervisor.js';
import { probeHypervisor } from './hypervisor-probe.js';

async function skipReason(): Promise<string | undefined> {
  const missing = await missingTools(['apt-get', 'apt-cache', 'dpkg-deb', 'mkfs.fat', 'mcopy', 'syslinux', 'qemu-img']);
  try {
    execFileSync('sh', ['-c', 'command -v qemu-system-x86_64'], { stdio: 'ignore' });
  } catch {
    missing.push('qemu-system-x86_64' as never);
  }
  if (missing.length) return `needs ${missing.join(', ')} (bash scripts/install-test-tools.sh installs them)`;
  return undefined;
}

test("the probe decides virt_type from booting the guest's kernel, and keeps it for this boot", async (t) => {
  const reason = await skipReason();
  if (reason) return t.skip(reason);
  const dir = await mkdtemp(join(tmpdir(), 'osk-probe-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const cacheFile = join(dir, 'hypervisor-probe.json');
  const kernel = async () => (await ensureGuestImage()).kernel;
  const probe = await probeHypervisor({ kernel, cacheFile });
  t.diagnostic(`virt_type ${probe.virtType}: ${probe.reason}`);
  assert.equal(probe.cached, false);
  assert.deepEqual(
    { virtType: probe.virtType, reason: probe.reason },
    decideVirtType(probe.observation),
    'the decision is the one the observation calls for',
  );
  const o = probe.observation;
  if (!existsSync('/dev/kvm')) assert.deepEqual(o, { kind: 'no-kvm-device', device: '/dev/kvm', code: 'ENOENT' });
  else if (o.kind === 'booted') {
    if (o.kvm.firstLine) {
      assert.equal(probe.virtType, 'kvm');
      assert.match(o.kvm.firstLine, /^Linux version 6\./);
    } else {
      assert.equal(probe.virtType, 'qemu');
      if (!o.kvm.exit) {
        assert.ok(o.kvm.seconds >= 10, 'KVM got its whole 10 s');
        // The control: the same kernel does boot under TCG here, so KVM, not the kernel, failed.
        assert.match(o.tcg?.firstLine ?? `nothing: ${o.tcg?.exit}`, /^Linux version 6\./);
        assert.match(probe.reason, /under KVM a kernel printed nothing in .* while under TCG the same kernel printed/);
      }
    }
  }

  const again = await probeHypervisor({
    kernel: () => Promise.reject(new Error('a saved probe boots nothing')),
    cacheFile,
  });
  assert.equal(again.cached, true);
  assert.equal(again.virtType, probe.virtType);
  assert.equal(again.reason, probe.reason);

  // The host fact: the same probe, kept in osk's cache beside the guest image.
  const fact = await readHypervisorFact();
  assert.equal(fact.virtType, probe.virtType);
  assert.match(fact.reason, new RegExp(probe.virtType === 'kvm' ? '^a kernel under KVM printed' : '.'));
});
