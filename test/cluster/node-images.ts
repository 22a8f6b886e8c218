// The real node's own small images, built here because no registry can be pulled from:
//   pause    Kubernetes' pause.c from the pinned k8s.io/kubernetes module, `gcc -static` (the sandbox image)
//   coredns  the CoreDNS binary of build.ts (the cluster DNS)
//   busybox  Debian's busybox-static (for tests: a shell, wget, httpd, nslookup in one static binary)
// Each is one layer written by umoci (Debian's package) into an OCI layout, tarred, and imported
// into the node's containerd with `ctr images import`. Archives are cached in
// cacheRoot()/node-images/ under a hash of what went in, so a rebuild with nothing changed is a
// file check.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheRoot, COREDNS, goCommand } from './build.js';
import { run } from './exec.js';

export interface NodeImage {
  /** the reference pods use (imagePullPolicy IfNotPresent finds it in containerd) */
  ref: string;
  /** the OCI archive imported into containerd */
  archive: string;
}

export interface NodeImages {
  pause: NodeImage;
  coredns: NodeImage;
  busybox: NodeImage;
}

const REPO = 'localhost/osk-test';

/** Builds (or finds in the cache) the node's three images. */
export function ensureNodeImages(corednsBinary: string, log: (l: string) => void): NodeImages {
  const pauseBinary = buildPause(log);
  const bb = busyboxStatic();
  return {
    pause: image('pause', pauseBinary.tag, [{ from: pauseBinary.path, to: 'pause' }], ['/pause'], log),
    coredns: image('coredns', COREDNS.version, [{ from: corednsBinary, to: 'coredns' }], ['/coredns'], log),
    busybox: image(
      'busybox',
      bb.version.replace(/[^A-Za-z0-9_.-]/g, '_'),
      [
        { from: bb.path, to: 'bin/busybox' },
        // One symlink per applet, as the busybox image has them: `sh`, `wget`, `httpd`, …
        ...bb.applets.map((a) => ({ link: '/bin/busybox', to: `bin/${a}` })),
      ],
      ['/bin/sh'],
      log,
    ),
  };
}

/** `ctr images import` of each archive into the containerd at socket (namespace k8s.io, the CRI's). */
export function importImages(socket: string, images: NodeImages): void {
  for (const img of Object.values(images)) {
    const base = img.ref.slice(0, img.ref.lastIndexOf(':'));
    run('ctr', ['--address', socket, '-n', 'k8s.io', 'images', 'import', '--base-name', base, img.archive]);
  }
}

type Entry = { from: string; to: string } | { link: string; to: string };

function image(name: string, tag: string, entries: Entry[], entrypoint: string[], log: (l: string) => void): NodeImage {
  const h = createHash('sha256').update(`${name}\0${tag}\0${entrypoint.join('\0')}\0`);
  for (const e of entries) {
    if ('from' in e) h.update(`${e.to}\0`).update(readFileSync(e.from)).update('\0');
    else h.update(`${e.to}->${e.link}\0`);
  }
  const dir = join(cacheRoot(), 'node-images');
  const archive = join(dir, `${name}-${h.digest('hex').slice(0, 12)}.tar`);
  const ref = `${REPO}/${name}:${tag}`;
  if (existsSync(archive)) return { ref, archive };

  mkdirSync(dir, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), `osk-image-${name}-`));
  try {
    const root = join(work, 'rootfs');
    for (const e of entries) {
      const dest = join(root, e.to);
      mkdirSync(join(dest, '..'), { recursive: true });
      if ('from' in e) {
        run('cp', ['--', e.from, dest]);
        chmodSync(dest, 0o755);
      } else symlinkSync(e.link, dest);
    }
    const layout = join(work, 'oci');
    run('umoci', ['init', '--layout', layout]);
    run('umoci', ['new', '--image', `${layout}:${tag}`]);
    run('umoci', ['insert', '--image', `${layout}:${tag}`, root, '/']);
    run('umoci', [
      'config',
      '--image',
      `${layout}:${tag}`,
      '--config.user',
      '0:0',
      ...entrypoint.flatMap((a) => ['--config.entrypoint', a]),
      '--config.workingdir',
      '/',
      '--config.env',
      'PATH=/bin:/usr/bin:/sbin:/usr/sbin',
    ]);
    run('tar', ['-C', layout, '-cf', `${archive}.tmp`, '.']);
    renameSync(`${archive}.tmp`, archive);
    log(`built image ${ref} (${archive})`);
    return { ref, archive };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** pause.c of the pinned Kubernetes, static, with its Makefile's version string. */
function buildPause(log: (l: string) => void): { path: string; tag: string } {
  const moduleDir = run(goCommand(), ['list', '-m', '-f', '{{.Dir}}', 'k8s.io/kubernetes'], {
    cwd: join(import.meta.dirname, 'go'),
  }).trim();
  const src = join(moduleDir, 'build', 'pause', 'linux', 'pause.c');
  const makefile = readFileSync(join(moduleDir, 'build', 'pause', 'Makefile'), 'utf8');
  const tag = /^TAG \?= (\S+)$/m.exec(makefile)?.[1];
  if (!tag) throw new Error(`no TAG in ${join(moduleDir, 'build', 'pause', 'Makefile')}`);
  const gcc = run('gcc', ['--version']).split('\n')[0] ?? '';
  const key = createHash('sha256').update(readFileSync(src)).update(`${tag}\0${gcc}`).digest('hex').slice(0, 12);
  const out = join(cacheRoot(), 'node-images', `pause-${key}`);
  if (!existsSync(out)) {
    mkdirSync(join(out, '..'), { recursive: true });
    // The flags of build/pause/Makefile (its REV comes from git, which a module zip has not).
    run('gcc', ['-Os', '-Wall', '-Werror', '-static', `-DVERSION=v${tag}`, '-o', `${out}.tmp`, src]);
    renameSync(`${out}.tmp`, out);
    log(`compiled pause ${tag} from ${src}`);
  }
  return { path: out, tag };
}

/** Debian's busybox-static: its binary, version and applets. */
function busyboxStatic(): { path: string; version: string; applets: string[] } {
  const path = '/bin/busybox';
  const version = spawnSync('dpkg-query', ['-W', '-f=${Version}', 'busybox-static'], { encoding: 'utf8' });
  if (version.status !== 0 || !existsSync(path)) {
    throw new Error('busybox-static is not installed: run scripts/install-test-tools.sh as root (it installs it)');
  }
  const applets = run(path, ['--list'])
    .split('\n')
    .filter((a) => /^[a-z0-9_.[-]+$/.test(a) && a !== 'busybox');
  return { path, version: version.stdout.trim(), applets };
}
