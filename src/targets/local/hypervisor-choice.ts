/**
 * Which hypervisor `osk up` runs on this host, from the cloud file's choice
 * (spec.services.nova.hypervisor) and what the host can do, with the sentence `osk up` prints.
 * `decideHostHypervisor` is pure; `chooseHypervisor` asks the hypervisor probe only for `auto`.
 * The decision is kept in the cloud's state (hypervisor.json), so that status, logs and down
 * rebuild the model `up` ran without probing again.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HostHypervisor } from '../../catalog/context.js';
import { ExitCode, OskError } from '../../errors.js';
import type { GuestImage } from '../../images/guest/build.js';
import type { CloudFile } from '../../spec/schema.js';
import type { StatePaths } from '../../state/paths.js';
import { writeIfChanged } from './files.js';
import type { VirtTypeDecision } from './hypervisor.js';

export interface HypervisorChoice {
  hypervisor: HostHypervisor;
  /** Why, for `osk up` to print. */
  reason: string;
}

type Chosen = NonNullable<NonNullable<NonNullable<CloudFile['spec']['services']>['nova']>['hypervisor']>;

const FIELD = 'spec.services.nova.hypervisor';

/** `probe`: the hypervisor probe's decision, or why it could not be made; asked for only with auto. */
export function decideHostHypervisor(
  chosen: Chosen | undefined,
  uid: number,
  probe?: VirtTypeDecision | { error: string },
): HypervisorChoice {
  if (chosen === undefined || chosen === 'fake')
    return {
      hypervisor: 'fake',
      reason: chosen
        ? `Nova's fake driver (${FIELD}: fake): servers are database rows, no guest runs`
        : `Nova's fake driver, the default on one host: servers are database rows, no guest runs (${FIELD}: qemu or auto boots real guests)`,
    };
  const root = uid === 0;
  if (chosen === 'qemu') {
    if (!root)
      throw new OskError(
        `${FIELD}: qemu needs osk up to run as root: libvirtd runs its guests as root in the cloud's state directory, and osk runs as uid ${uid}`,
        { exitCode: ExitCode.invalidInput, hint: `run osk up as root, or set ${FIELD}: fake` },
      );
    return { hypervisor: 'qemu', reason: `Nova's libvirt driver with QEMU's TCG emulation (${FIELD}: qemu)` };
  }
  if (!root)
    return {
      hypervisor: 'fake',
      reason: `Nova's fake driver, because ${FIELD}: auto needs root for libvirt (libvirtd runs its guests as root) and osk runs as uid ${uid}`,
    };
  if (!probe || 'error' in probe)
    return {
      hypervisor: 'fake',
      reason: `Nova's fake driver, because the hypervisor probe could not boot a kernel: ${probe ? probe.error : 'it was not run'}`,
    };
  return {
    hypervisor: probe.virtType,
    reason: `Nova's libvirt driver with virt_type=${probe.virtType} (${FIELD}: auto): ${probe.reason}`,
  };
}

export async function chooseHypervisor(
  file: CloudFile,
  uid: number,
  probe: () => Promise<VirtTypeDecision>,
): Promise<HypervisorChoice> {
  const chosen = file.spec.services?.nova?.hypervisor;
  if (chosen !== 'auto' || uid !== 0) return decideHostHypervisor(chosen, uid);
  const result = await probe().catch((e: unknown) => ({ error: e instanceof Error ? e.message : String(e) }));
  return decideHostHypervisor(chosen, uid, result);
}

const choiceFile = (paths: StatePaths) => join(paths.root, 'hypervisor.json');

export async function saveHypervisorChoice(paths: StatePaths, c: HypervisorChoice): Promise<void> {
  await writeIfChanged(choiceFile(paths), `${JSON.stringify(c, null, 2)}\n`, 0o600);
}

/** The choice `osk up` made for this cloud; the fake driver for a cloud from before the choice existed. */
export async function savedHypervisor(paths: StatePaths): Promise<HostHypervisor> {
  const text = await readFile(choiceFile(paths), 'utf8').catch(() => undefined);
  if (!text) return 'fake';
  const h = (JSON.parse(text) as Partial<HypervisorChoice>).hypervisor;
  return h === 'qemu' || h === 'kvm' ? h : 'fake';
}

/**
 * The guest image as the starter kit uploads it (osk-guest, qcow2). hw_machine_type=pc: its
 * initramfs has the IDE driver (ata_piix) a config drive is read through on that machine, and no
 * AHCI for q35's SATA CD-ROM.
 */
export function guestImageForKit(guest: GuestImage) {
  return {
    name: 'osk-guest',
    diskFormat: 'qcow2' as const,
    properties: { hw_machine_type: 'pc', os_distro: 'debian', osk_guest_key: guest.key },
    data: () => createReadStream(guest.disk),
  };
}
