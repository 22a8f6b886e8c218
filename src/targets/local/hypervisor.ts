/**
 * Which `virt_type` Nova's libvirt driver gets on this host, decided from what happened when a
 * kernel was booted (hypervisor-probe.ts), not from /dev/kvm being there: on some VMs /dev/kvm
 * opens and KVM guests hang after the BIOS, while QEMU's TCG runs the same guest (slowly). Pure:
 * observations in, the decision and a sentence saying why out.
 */

type VirtType = 'kvm' | 'qemu';

/** One boot of the probe's kernel under one accelerator. */
export interface BootTrial {
  /** The kernel's first console line ("Linux version …"), when it came. */
  firstLine?: string;
  /** Seconds from QEMU's start to that line, or waited in vain. */
  seconds: number;
  /** QEMU ended before the line: its exit and last words ("exit 1: …failed to initialize kvm…"). */
  exit?: string;
}

export type ProbeObservation =
  | { kind: 'no-qemu'; binary: string }
  | { kind: 'no-kvm-device'; device: string; code: string }
  /** The kernel under KVM, and under TCG when KVM showed nothing (the control). */
  | { kind: 'booted'; kvm: BootTrial; tcg?: BootTrial };

export interface VirtTypeDecision {
  virtType: VirtType;
  reason: string;
}

const s = (n: number) => `${n.toFixed(1)} s`;

/** KVM when, and only when, a kernel booted under it; QEMU (TCG) otherwise, with why. */
export function decideVirtType(o: ProbeObservation): VirtTypeDecision {
  if (o.kind === 'no-qemu')
    return { virtType: 'qemu', reason: `${o.binary} is not installed, so KVM could not be tried` };
  if (o.kind === 'no-kvm-device')
    return {
      virtType: 'qemu',
      reason:
        o.code === 'ENOENT'
          ? `there is no ${o.device} (no hardware virtualisation here, or the kvm module is not loaded)`
          : `${o.device} cannot be opened (${o.code})`,
    };
  const { kvm, tcg } = o;
  if (kvm.firstLine)
    return {
      virtType: 'kvm',
      reason: `a kernel under KVM printed "${kvm.firstLine}" ${s(kvm.seconds)} after QEMU started`,
    };
  if (kvm.exit) return { virtType: 'qemu', reason: `QEMU could not run a guest with KVM: ${kvm.exit}` };
  const hung = `under KVM a kernel printed nothing in ${s(kvm.seconds)}: /dev/kvm opens but its guests hang`;
  if (!tcg) return { virtType: 'qemu', reason: hung };
  if (tcg.firstLine)
    return {
      virtType: 'qemu',
      reason: `${hung}, while under TCG the same kernel printed "${tcg.firstLine}" after ${s(tcg.seconds)}`,
    };
  return {
    virtType: 'qemu',
    reason: `${hung}, and under TCG it printed nothing either (${tcg.exit ?? `${s(tcg.seconds)} waited`}): the probe is inconclusive and TCG is the choice that cannot hang a guest`,
  };
}

/**
 * The kernel's first console line in QEMU's serial output ("Linux version <release>", the start
 * of its banner), once the whole line is there: output comes in pieces.
 */
export function firstConsoleLine(output: string): string | undefined {
  return /(Linux version \S+)[^\r\n]*[\r\n]/.exec(output)?.[1];
}

/** A saved probe is good for the boot it was made in (a reboot can load or unload kvm). */
export interface SavedProbe extends VirtTypeDecision {
  bootId: string;
  probedAt: string;
  observation: ProbeObservation;
}

export function savedProbeFor(text: string | undefined, bootId: string): SavedProbe | undefined {
  if (!text) return undefined;
  try {
    const saved = JSON.parse(text) as Partial<SavedProbe>;
    if (saved.bootId !== bootId || (saved.virtType !== 'kvm' && saved.virtType !== 'qemu') || !saved.reason)
      return undefined;
    return saved as SavedProbe;
  } catch {
    return undefined;
  }
}
