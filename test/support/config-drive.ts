/** A config drive as Nova makes it, for the tests that boot the guest image. */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * openstack/latest/meta_data.json (and user_data when given) on an ISO labelled config-2, in
 * `dir`: returns the ISO's path.
 */
export async function writeConfigDrive(dir: string, metadata: object, userData?: string): Promise<string> {
  const latest = join(dir, 'config-drive', 'openstack', 'latest');
  await mkdir(latest, { recursive: true });
  await writeFile(join(latest, 'meta_data.json'), JSON.stringify(metadata));
  if (userData !== undefined) await writeFile(join(latest, 'user_data'), userData);
  const iso = join(dir, 'config.iso');
  execFileSync('genisoimage', ['-quiet', '-o', iso, '-V', 'config-2', '-r', '-J', join(dir, 'config-drive')]);
  return iso;
}
