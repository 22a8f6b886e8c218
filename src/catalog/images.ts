/**
 * The pinned image table: every image osk renders comes from here, per OpenStack release.
 * OpenStack services use the LOCI images that openstack-helm publishes
 * (quay.io/airshipit/<service>:<release>-ubuntu_<codename>): binaries in /var/lib/openstack/bin
 * (on PATH), config under /etc/<service>. Infrastructure uses upstream images.
 */
import type { ImageKey } from '../spec/image-keys.js';
import { DEBIAN_SUITES, RELEASES, type Release } from '../spec/releases.js';
import type { CloudSpec } from '../spec/schema.js';
import { VERSION } from '../version.js';

const codename: Record<Release, string> = {
  '2024.2': 'ubuntu_jammy',
  '2025.1': 'ubuntu_jammy',
  '2025.2': 'ubuntu_noble',
};

function loci(name: string, release: Release): string {
  return `quay.io/airshipit/${name}:${release}-${codename[release]}`;
}

/** The image of every key for a release, before registry mirrors and overrides. */
function pinnedImages(release: Release): Record<ImageKey, string> {
  return {
    keystone: loci('keystone', release),
    glance: loci('glance', release),
    placement: loci('placement', release),
    nova: loci('nova', release),
    neutron: loci('neutron', release),
    cinder: loci('cinder', release),
    horizon: loci('horizon', release),
    octavia: loci('octavia', release),
    // openstack-helm's jobs use the openstack-client image from 2025.1 and the heat image before and
    // for 2025.2 (whose client tag is published with a _loci suffix); both carry the openstack CLI.
    'openstack-client': release === '2025.1' ? loci('openstack-client', release) : loci('heat', release),
    mariadb: 'docker.io/library/mariadb:11.4.8',
    rabbitmq: 'docker.io/library/rabbitmq:4.1-management',
    memcached: 'docker.io/library/memcached:1.6.38',
    ovn: 'quay.io/airshipit/ovn:ubuntu_jammy',
    openvswitch: 'quay.io/airshipit/openvswitch:latest-ubuntu_jammy',
    libvirt:
      release === '2025.2'
        ? 'docker.io/openstackhelm/libvirt:2025.2-ubuntu_noble'
        : 'docker.io/openstackhelm/libvirt:2025.1-ubuntu_noble',
    // Monitoring exporters (spec.monitoring): the Prometheus project's own images, and the
    // openstack-exporter project's release image.
    'mysqld-exporter': 'quay.io/prometheus/mysqld-exporter:v0.17.2',
    'memcached-exporter': 'quay.io/prometheus/memcached-exporter:v0.15.3',
    'openstack-exporter': 'ghcr.io/openstack-exporter/openstack-exporter:1.6.0',
    'blackbox-exporter': 'quay.io/prometheus/blackbox-exporter:v0.27.0',
    // Offsite copies of the backups (spec.backup.offsite): AWS's own CLI image, which speaks to
    // any S3-compatible endpoint (--endpoint-url). MariaDB's backups use the mariadb image's
    // mariadb-backup and mbstream, OVN's the ovn image's ovsdb-client.
    'aws-cli': 'docker.io/amazon/aws-cli:2.31.9',
    // osk itself, for the bootstrap Jobs (`osk bootstrap <task>`: databases, service users,
    // catalog entries, volume types), so they run the all-in-one's code. Not published: a local
    // reference with osk's version, which `osk images build` makes (Debian 13, this osk's Node and
    // bundle, the mariadb client); images.registry points at a registry it was pushed to.
    osk: `localhost/osk:${VERSION}`,
  };
}

/**
 * The reference `osk images build` gives the image of a key it builds from Debian's packages
 * (src/images/): under localhost/osk/, tagged with the release and the Debian suite it comes
 * from. The osk image keeps its one reference.
 */
export function builtImage(key: ImageKey, release: Release, suite: string): string {
  return key === 'osk' ? pinnedImages(release).osk : `localhost/osk/${key}:${release}-${suite}`;
}

/** Every image reference any release pins (tests check rendered images against this). */
export function allPinnedImages(): Set<string> {
  const out = new Set<string>();
  for (const r of RELEASES) for (const v of Object.values(pinnedImages(r))) out.add(v);
  return out;
}

/**
 * The image of a key before the registry mirror: the pinned one, or with images.source debian
 * the one `osk images build` gives it. The loader refuses source debian for a release Debian
 * ships no packages of (spec/schema.ts), so a missing suite here is a bug.
 */
function sourceImage(key: ImageKey, spec: CloudSpec): string {
  if (spec.images?.source !== 'debian') return pinnedImages(spec.release)[key];
  const debian = DEBIAN_SUITES[spec.release];
  if (!debian)
    throw new Error(`bug: images.source debian with release ${spec.release}, which Debian has no packages of`);
  return builtImage(key, spec.release, debian.suite);
}

/** Resolve one key with the spec's image source, registry mirror and overrides. */
export function imageFor(key: ImageKey, spec: CloudSpec): string {
  const override = spec.images?.overrides?.[key];
  if (override) return override;
  const pinned = sourceImage(key, spec);
  const mirror = spec.images?.registry;
  return mirror ? inRegistry(pinned, mirror) : pinned;
}

/**
 * An image reference moved to a registry (host with an optional path): the registry host is
 * replaced (the first path element when it looks like a host, as Docker reads it; `localhost`
 * too), or put in front of a name without one. images.registry and `osk images build --push`
 * both use it, so what is pushed is what the cloud names.
 */
export function inRegistry(reference: string, registry: string): string {
  const [first, ...rest] = reference.split('/');
  return /[.:]/.test(first!) || first === 'localhost'
    ? `${registry.replace(/\/$/, '')}/${rest.join('/')}`
    : `${registry.replace(/\/$/, '')}/${reference}`;
}
