/**
 * What the all-in-one cloud needs to know about this host, read from the system: the
 * distribution (only Debian 12 is supported), the host name nova-compute registers, and whether
 * osk runs as root; and, probed apart because it boots a kernel, which hypervisor guests can run
 * with (readHypervisorFact). The hypervisor is chosen in hypervisor-choice.ts (from the cloud
 * file, asking readHypervisorFact only for `auto`); the volume driver is always the fake one.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ExitCode, OskError } from '../../errors.js';
import { ensureGuestImage, guestCacheDir } from '../../images/guest/build.js';
import { type HypervisorProbe, probeHypervisor } from './hypervisor-probe.js';

export interface HostFacts {
  distro: { id: string; versionId: string; pretty: string };
  hostname: string;
  root: boolean;
}

export function readOsRelease(text: string): HostFacts['distro'] {
  const v = (k: string) => new RegExp(`^${k}="?([^"\\n]*)"?$`, 'm').exec(text)?.[1] ?? '';
  return { id: v('ID'), versionId: v('VERSION_ID'), pretty: v('PRETTY_NAME') || v('ID') };
}

export function readHostFacts(): HostFacts {
  let osRelease = '';
  try {
    osRelease = readFileSync('/etc/os-release', 'utf8');
  } catch {
    // Not a Linux distribution with os-release: reported by checkDistro.
  }
  return {
    distro: readOsRelease(osRelease),
    hostname: hostname().split('.')[0] || 'localhost',
    root: process.getuid?.() === 0,
  };
}

/** The packaged services are Debian 12's (OpenStack Zed); other systems get a clear refusal. */
export function checkDistro(facts: HostFacts): void {
  if (facts.distro.id === 'debian' && facts.distro.versionId === '12') return;
  throw new OskError(
    `osk up runs OpenStack from Debian 12's packages, and this host is ${facts.distro.pretty || 'not a Linux distribution with /etc/os-release'}`,
    {
      exitCode: ExitCode.invalidInput,
      hint: 'use a Debian 12 (bookworm) machine or VM for the all-in-one cloud, or deploy to Kubernetes with osk apply',
    },
  );
}

/**
 * Whether guests run under KVM here or only under QEMU's TCG, found by booting the guest image's
 * kernel under KVM (hypervisor-probe.ts; an existing /dev/kvm proves nothing: on some VMs it opens
 * and the guests hang), kept for this boot of the host beside the guest image. osk up asks for
 * it when the cloud file says `services.nova.hypervisor: auto` (hypervisor-choice.ts): nova.conf's
 * [libvirt] virt_type is then what it decided.
 */
export function readHypervisorFact(env: NodeJS.ProcessEnv = process.env): Promise<HypervisorProbe> {
  return probeHypervisor({
    kernel: async () => (await ensureGuestImage({ env })).kernel,
    cacheFile: join(guestCacheDir(env), 'hypervisor-probe.json'),
  });
}
