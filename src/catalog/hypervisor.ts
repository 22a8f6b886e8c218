/** Which hypervisor a cloud's compute nodes run, for every module that depends on it. */
import type { CatalogContext } from './context.js';

/**
 * The hypervisor of the compute nodes: on one host what the target decided (HostMachine); on
 * Kubernetes the cloud file's choice, libvirt with KVM unless it says fake or qemu.
 */
export function computeHypervisor(ctx: CatalogContext): 'fake' | 'qemu' | 'kvm' {
  if (ctx.machine) return ctx.machine.hypervisor;
  const chosen = ctx.spec.services?.nova?.hypervisor;
  return chosen === 'fake' || chosen === 'qemu' ? chosen : 'kvm';
}
