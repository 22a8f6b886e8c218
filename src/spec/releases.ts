/**
 * The OpenStack releases a cloud file may name, and the Debian release whose packages are each
 * one (pure data, shared by the loader's rules, the catalog's image table and `osk images`).
 */

export const RELEASES = ['2024.2', '2025.1', '2025.2'] as const;
export type Release = (typeof RELEASES)[number];

export interface DebianSuite {
  suite: string;
  debian: string;
}

/** The Debian release whose packages are an OpenStack release (its OpenStack version). */
export const DEBIAN_SUITES: Partial<Record<Release, DebianSuite>> = {
  // Debian 13 ships keystone 27, nova 31, neutron 26, glance 30, cinder 26, placement 13: 2025.1.
  '2025.1': { suite: 'trixie', debian: '13' },
};

/** "2025.1 (Debian 13 trixie)", for messages that say which releases have images from Debian. */
export function debianReleases(): string {
  return Object.entries(DEBIAN_SUITES)
    .map(([r, d]) => `${r} (Debian ${d.debian} ${d.suite})`)
    .join(', ');
}
