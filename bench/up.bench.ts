/**
 * npm run bench:up — the all-in-one cloud on this host, measured:
 *  - seconds from `osk up` (packages already installed) to a cloud that answers, and on to an
 *    ACTIVE server, per phase and per component;
 *  - against references measured in the same run: the critical path of the plan's graph under
 *    the measured durations (the best any scheduler could do) and the serial sum (a script that
 *    runs one thing after another);
 *  - summed RSS (and PSS, which does not count shared pages twice) of the cloud's processes;
 *  - a second `osk up` on the running cloud;
 * for three modes in one run (`-- fake`, `-- qemu` or `-- ceph` for one): Nova's fake driver (to
 * an ACTIVE server), `hypervisor: qemu` (to a booted guest: its ready line on the serial console,
 * after DHCP from OVN and the metadata service), and `hypervisor: qemu` with `storage.backend:
 * ceph` (the cloud's own Ceph cluster; to a guest booted from a volume made from the image).
 * Runs in a scratch state dir and removes it. Needs root and Debian 12; ports 3306, 5672, 5000…
 * on 127.0.0.1 must be free.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MODES, type Mode, measureUp } from './all-in-one.js';
import { purgeLocalCloud } from './local-cloud.js';
import { gib, secs as s } from './memory.js';

const state = await mkdtemp(join(tmpdir(), 'osk-bench-up-'));
process.env.OSK_STATE_DIR = state;

const arg = process.argv[2] ?? 'all';
if (![...MODES, 'all'].includes(arg)) {
  console.error(`usage: npm run bench:up [-- fake|qemu|ceph|all]   (not "${arg}")`);
  process.exit(2);
}
const modes: Mode[] = arg === 'all' ? MODES : [arg as Mode];

try {
  const results = new Map<Mode, Awaited<ReturnType<typeof measureUp>>>();
  for (const mode of modes) {
    try {
      results.set(mode, await measureUp(mode));
    } finally {
      // Stop whatever this run started, even after a failure; the next mode starts from nothing.
      await purgeLocalCloud();
    }
  }
  if (results.size > 1) {
    const ran = [...results];
    const fake = results.get('fake');
    console.log('the modes of this run, side by side:');
    for (const [mode, r] of ran)
      console.log(
        `  ${mode.padEnd(5)} osk up ${s(r.upMs)} s${fake && mode !== 'fake' ? ` (${(r.upMs / fake.upMs).toFixed(2)}× fake)` : ''}   to ${mode === 'fake' ? 'a server' : 'a guest '} ${s(r.bootedMs)} s   summed RSS ${gib(r.rss)} (PSS ${gib(r.pss)})`,
      );
  }
} finally {
  await rm(state, { recursive: true, force: true });
}
