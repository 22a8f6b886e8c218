/**
 * The all-in-one of bench:up, brought up and measured (shared by bench:up and bench:apply --
 * --real-node, which sets it beside the cloud on a real node): time to a cloud that answers and
 * to an ACTIVE server or a booted guest, against the graph's critical path and the serial sum,
 * the memory of the cloud's programs, and a second `osk up`. The caller chooses the state dir
 * (OSK_STATE_DIR) and purges the cloud (local-cloud.ts).
 */
import type { Outcome, Reporter } from '../src/reporter.js';
import { OpenStackClient } from '../src/openstack/index.js';
import { parseCloudFile } from '../src/spec/load.js';
import { supervisorStatus } from '../src/targets/local/control.js';
import { DEFAULT_CLOUD_YAML, openLocalCloud, upLocal } from '../src/targets/local/cloud.js';
import { hostDeps, hostOrder } from '../src/targets/local/up.js';
import { mib, processGroups, secs as s, sumMemory } from './memory.js';

export type Mode = 'fake' | 'qemu' | 'ceph';
export const MODES: Mode[] = ['fake', 'qemu', 'ceph'];

/** A reporter that keeps start and end times per component. */
function recorder() {
  const t0 = Date.now();
  const begun = new Map<string, number>();
  const spans = new Map<string, { start: number; end: number; outcome: string }>();
  const r: Reporter = {
    begin: (id) => void begun.set(id, Date.now() - t0),
    waiting: () => undefined,
    done: (id: string, outcome: Outcome) =>
      void spans.set(id, { start: begun.get(id) ?? Date.now() - t0, end: Date.now() - t0, outcome }),
    fail: (id, msg) => console.error(`FAILED ${id}: ${msg}`),
    note: () => undefined,
    inFlight: () => [],
    close: () => undefined,
  };
  return { r, spans, t0 };
}

async function cloudMemory(paths: Parameters<typeof supervisorStatus>[0]) {
  const st = await supervisorStatus(paths);
  const groups = processGroups();
  const rows: { id: string; rss: number; pss: number; procs: number }[] = [];
  const leaders = [
    ...(st?.processes ?? []).map((p) => ({ id: p.id, pid: p.pid })),
    { id: 'supervisor (osk)', pid: st?.pid },
  ];
  for (const { id, pid } of leaders) {
    if (!pid) continue;
    rows.push({ id, ...sumMemory(groups.get(pid) ?? [pid]) });
  }
  return rows.sort((a, b) => b.rss - a.rss);
}

/** The built-in minimal cloud; with qemu, Nova's libvirt driver and the real data plane; with ceph, its own Ceph too. */
function cloudFile(mode: Mode) {
  const file = parseCloudFile(DEFAULT_CLOUD_YAML, 'built-in');
  if (mode !== 'fake')
    file.spec.services = { ...file.spec.services, nova: { ...file.spec.services?.nova, hypervisor: 'qemu' } };
  if (mode === 'ceph') file.spec.storage = { ...file.spec.storage, backend: 'ceph' };
  return file;
}

/**
 * Server create → ACTIVE and, with a real guest, → its ready line on the console. With ceph the
 * clock starts at the volume create: the guest boots from a volume Cinder makes from the image.
 */
async function bootServer(os: OpenStackClient, mode: Mode) {
  const flavor = (await os.compute.flavors.find('m1.tiny'))!;
  const image = (await os.image.images.find(mode === 'fake' ? 'osk-test-raw' : 'osk-guest'))!;
  const net = (await os.network.networks.find('demo-net'))!;
  const t0 = Date.now();
  const volumes = os.blockStorage.volumes;
  const volume =
    mode === 'ceph' ? await volumes.create({ size: 1, name: 'bench-boot', imageRef: image.id }) : undefined;
  if (volume) await volumes.waitForStatus(volume.id, 'available', { timeoutMs: 300_000, intervalMs: 250 });
  const volumeMs = Date.now() - t0;
  const created = await os.compute.servers.create({
    name: 'bench-vm',
    flavorRef: flavor.id,
    networks: [{ uuid: net.id }],
    ...(volume
      ? {
          block_device_mapping_v2: [
            { boot_index: 0, uuid: volume.id, source_type: 'volume', destination_type: 'volume' },
          ],
        }
      : { imageRef: image.id }),
  });
  await os.compute.servers.waitForStatus(created.id, 'ACTIVE', { timeoutMs: 300_000, intervalMs: 250 });
  const activeMs = Date.now() - t0;
  if (mode === 'fake') return { activeMs, readyMs: undefined, volumeMs: undefined };
  // The guest prints its ready line once DHCP, metadata and SSH are up (images/guest/scripts.ts).
  for (const until = Date.now() + 600_000; Date.now() < until; await new Promise((r) => setTimeout(r, 500)))
    if (/osk-guest: ready /.test(await os.compute.servers.consoleLog(created.id, 50)))
      return { activeMs, readyMs: Date.now() - t0, volumeMs: volume ? volumeMs : undefined };
  throw new Error('the guest printed no ready line in 10 min');
}

export interface UpFigures {
  upMs: number;
  activeMs: number;
  bootedMs: number;
  rss: number;
  pss: number;
  mem: Awaited<ReturnType<typeof cloudMemory>>;
}

/** Brings the all-in-one up in mode, boots a server, prints the figures and returns them; the cloud stays up. */
export async function measureUp(mode: Mode): Promise<UpFigures> {
  const file = cloudFile(mode);
  const { r, spans, t0 } = recorder();
  const summary = await upLocal({ file, install: true, timeoutSeconds: 600, reporter: r });
  const upMs = Date.now() - t0;

  const os = OpenStackClient.fromCloudsYaml({
    cloud: 'default',
    env: { OS_CLIENT_CONFIG_FILE: summary.paths.cloudsYaml },
  });
  const boot = await bootServer(os, mode);
  await os.close();
  const booted = Date.now() - t0;

  // References from the same run: critical path and serial sum over the measured durations.
  const { model, paths } = await openLocalCloud('default');
  const deps = hostDeps(model);
  const dur = (id: string) => {
    const sp = spans.get(id);
    return sp ? sp.end - sp.start : 0;
  };
  const finish = new Map<string, number>();
  for (const id of hostOrder(model))
    finish.set(id, Math.max(0, ...(deps.get(id) ?? []).map((d) => finish.get(d) ?? 0)) + dur(id));
  const critical = Math.max(...finish.values());
  const serial = [...spans.values()].reduce((a, b) => a + (b.end - b.start), 0);

  const mem = await cloudMemory(paths);
  const rss = mem.reduce((a, b) => a + b.rss, 0);
  const pss = mem.reduce((a, b) => a + b.pss, 0);

  const { r: r2, t0: t2 } = recorder();
  await upLocal({ file, install: false, timeoutSeconds: 600, reporter: r2 });
  const secondMs = Date.now() - t2;

  const what = {
    fake: "Nova's fake driver, Cinder's fake backend",
    qemu: "hypervisor qemu: libvirt + QEMU's TCG, Open vSwitch (netdev), ovn-controller, metadata agent",
    ceph: "hypervisor qemu and the cloud's own Ceph (mon, mgr, OSD on a file): volumes, images and disks in RBD",
  }[mode];
  console.log(`osk up (all-in-one, built-in minimal cloud, ${what}; packages installed, empty state)`);
  console.log(`  to a cloud that answers (incl. bootstrap) ${s(upMs)} s`);
  if (boot.volumeMs !== undefined)
    console.log(`  volume create from the image → available ${s(boot.volumeMs)} s   (the clock below starts here too)`);
  console.log(`  server create → ACTIVE                   ${s(boot.activeMs)} s`);
  if (boot.readyMs !== undefined)
    console.log(`  server create → guest ready on console   ${s(boot.readyMs)} s   (DHCP, metadata, SSH up)`);
  console.log(
    `  total: osk up to ${mode === 'fake' ? 'an ACTIVE server      ' : 'a booted guest        '}  ${s(booted)} s   (target ≤ 120 s)`,
  );
  console.log(
    `  critical path of the graph (measured)    ${s(critical)} s   → osk up / critical path = ${(upMs / critical).toFixed(2)}×`,
  );
  console.log(
    `  serial sum of the same steps             ${s(serial)} s   → parallel speed-up = ${(serial / upMs).toFixed(2)}×`,
  );
  console.log(
    `  second osk up on the running cloud       ${s(secondMs)} s   (${((secondMs / upMs) * 100).toFixed(1)} % of the first)`,
  );
  console.log('per component (start → end, s; from the start of osk up):');
  for (const [id, sp] of [...spans].sort((a, b) => a[1].start - b[1].start))
    console.log(`  ${id.padEnd(26)} ${s(sp.start)} → ${s(sp.end)}  ${s(sp.end - sp.start)}  ${sp.outcome}`);
  console.log('memory of the cloud (process groups; MiB):');
  console.log(`  ${'program'.padEnd(26)} ${'RSS'.padStart(6)} ${'PSS'.padStart(6)}  processes`);
  for (const m of mem) console.log(`  ${m.id.padEnd(26)} ${mib(m.rss)} ${mib(m.pss)}  ${m.procs}`);
  console.log(
    `  ${'total'.padEnd(26)} ${mib(rss)} ${mib(pss)}   summed RSS ${(rss / 1048576).toFixed(2)} GiB (target ≤ 2.5 GiB); PSS ${(pss / 1048576).toFixed(2)} GiB`,
  );
  console.log('');
  return { upMs, activeMs: boot.activeMs, bootedMs: booted, rss, pss, mem };
}
