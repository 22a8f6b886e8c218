/**
 * What this host can run, read from the system (no guessing): the distribution, whether KVM,
 * the Open vSwitch datapath and device-mapper exist, and from that which hypervisor and volume
 * driver an all-in-one cloud gets.
 */
import { existsSync, readFileSync } from 'node:fs';
import { hostname, release } from 'node:os';
import { ExitCode, OskError } from '../../errors.js';

export type Hypervisor = 'fake' | 'qemu' | 'kvm';

export interface HostFacts {
  distro: { id: string; versionId: string; pretty: string };
  hostname: string;
  root: boolean;
  kvm: boolean;
  ovsDatapath: boolean;
  deviceMapper: boolean;
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
  const kernel = release();
  return {
    distro: readOsRelease(osRelease),
    hostname: hostname().split('.')[0] || 'localhost',
    root: process.getuid?.() === 0,
    kvm: existsSync('/dev/kvm'),
    ovsDatapath: existsSync('/sys/module/openvswitch') || existsSync(`/lib/modules/${kernel}/kernel/net/openvswitch`),
    deviceMapper: existsSync('/dev/mapper/control'),
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

/** The hypervisor asked for (or the best this host supports), refused where it cannot work. */
export function chooseHypervisor(facts: HostFacts, asked: Hypervisor | undefined): Hypervisor {
  if (asked === undefined || asked === 'fake') return 'fake';
  const missing: string[] = [];
  if (asked === 'kvm' && !facts.kvm)
    missing.push('/dev/kvm (hardware virtualisation is off, or this is a VM without nested virtualisation)');
  if (!facts.ovsDatapath)
    missing.push('the openvswitch kernel module (instances need the Open vSwitch datapath for their ports)');
  if (missing.length) {
    throw new OskError(`--hypervisor ${asked} cannot work on this host: it lacks ${missing.join(' and ')}`, {
      exitCode: ExitCode.invalidInput,
      hint: 'run without --hypervisor to get the fake driver (servers, ports and volumes go through their whole API lifecycle, with no real guest)',
    });
  }
  throw new OskError(
    `--hypervisor ${asked}: this host has what it needs, but osk up does not run libvirtd and Open vSwitch on the host yet`,
    {
      exitCode: ExitCode.invalidInput,
      hint: 'run without --hypervisor for the fake driver, or deploy to Kubernetes with osk apply for real hypervisors',
    },
  );
}

/**
 * Cinder's driver. LVM needs device-mapper (without it lvcreate fails) and osk does not yet
 * create a volume group on the host, so every all-in-one cloud gets the fake driver for now.
 */
export function chooseVolumeDriver(): 'fake' | 'lvm' {
  return 'fake';
}
