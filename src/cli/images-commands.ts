/**
 * The image verbs: images list (what a cloud's pods run and the reference each built image
 * gets) and images build (from Debian's packages, into the cache, then OCI archives or
 * containerd). What they do is in images-actions.ts, imported when one runs.
 */
import { InvalidArgumentError, type Command } from '@commander-js/extra-typings';
import type { Io } from './io.js';
import { fileOption, outputOption } from './options.js';

const actions = () => import('./images-actions.js');

/** --only keystone,memcached: image keys, comma-separated. */
function imageList(value: string): string[] {
  const keys = value
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  if (!keys.length || keys.some((k) => !/^[a-z][a-z0-9-]{0,40}$/.test(k)))
    throw new InvalidArgumentError(
      'Give image names separated by commas, e.g. keystone,memcached (osk images list -f shows them).',
    );
  return keys;
}

export function registerImagesCommands(program: Command, io: Io): void {
  const images = program
    .command('images')
    .description('the container images of a cloud on Kubernetes, built from Debian packages (list, build)');

  images
    .command('list')
    .description(
      "the images the cloud's pods run: for each, the reference osk images build gives it, its Debian packages, uid and commands, or why it cannot be built yet",
    )
    .addOption(fileOption())
    .addOption(outputOption())
    .action(async (opts) => (await actions()).list(opts, io));

  images
    .command('build')
    .description(
      "build the cloud's images from Debian packages (debootstrap + apt, as root; no daemon): one shared base layer, one layer per image, cached by the versions of their packages",
    )
    .addOption(fileOption())
    .option('--only <images>', 'build only these images (comma-separated names from osk images list)', imageList)
    .option('--output-dir <dir>', 'write each image as an OCI archive <dir>/<image>.tar')
    .option(
      '--import-containerd <socket>',
      "import each image into the containerd of this socket (namespace k8s.io, the kubelet's), e.g. /run/containerd/containerd.sock",
    )
    .option(
      '--push <registry>',
      'push each image to this registry (host[:port][/path], e.g. registry.example.com/osk), under the reference the cloud names when its spec.images.registry is the same; refused (exit 2) when the cloud file says otherwise',
    )
    .option(
      '--push-insecure',
      'the --push registry speaks plain HTTP or has a certificate that cannot be verified (a test registry); TLS is verified otherwise',
    )
    .option(
      '--authfile <file>',
      "skopeo's auth file for --push (default: $REGISTRY_AUTH_FILE, else containers' auth.json; skopeo login writes it); credentials never go on the command line",
    )
    .addOption(outputOption())
    .action(async (opts) => (await actions()).build(opts, io));
}
