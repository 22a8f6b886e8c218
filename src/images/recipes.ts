/**
 * How each image osk builds from Debian's packages differs from Debian's defaults, so that it
 * fits what the catalog's pod specs say: the account of the uid the pods run as, the Debian
 * packages the host target does not name (components it skips), the Debian file behind a
 * command name the catalog uses. Everything else comes from the catalog itself (plan.ts): which
 * packages a component runs from (its `host` field), the uid (`runAsUser`), the commands.
 */
import type { ImageKey } from '../spec/image-keys.js';

export interface ImageRecipe {
  /**
   * LOCI layout: the catalog's uwsgi files and commands name /var/lib/openstack/bin/<cmd>
   * (LOCI's virtualenv); the image gets that directory with links to Debian's /usr/bin files.
   */
  loci?: boolean;
  /**
   * The account Debian's packages create for the service. It is created first with the uid of
   * the catalog's pods (runAsUser) so the maintainer scripts adopt it and every file they own
   * belongs to the uid the pods run as.
   */
  account?: string;
  /** Packages of components the host target skips or does not run (it names none for them). */
  packages?: string[];
  /** The Debian file behind a command path or name the catalog uses, where they differ. */
  commands?: Record<string, string>;
  /** Environment of the image besides PATH. */
  env?: Record<string, string>;
  /** Why this image cannot be built from Debian yet (it is listed, and refused by name). */
  unavailable?: string;
  /**
   * The image carries the osk that builds it: its Node.js binary as /usr/local/bin/node, its
   * bin/osk.js, dist/ and package.json in /usr/local/lib/osk, and `osk` on PATH.
   */
  ownRuntime?: boolean;
}

/**
 * In every OpenStack image: libraries the services import without depending on their packages
 * (as on a host), and uwsgi with its Python plugin, which LOCI's images carry and the catalog's
 * APIs start (the host runs some APIs from their packages' own servers, so it names no uwsgi).
 */
const OPENSTACK_BASE = ['python3-pymysql', 'python3-memcache', 'uwsgi-core', 'uwsgi-plugin-python3'];

/**
 * Debian's uwsgi-core has no Python built in, and the catalog's uwsgi files start `uwsgi --ini`
 * without a plugin line (LOCI's uwsgi is built with Python). uWSGI reads UWSGI_<OPTION>
 * variables as options: UWSGI_PLUGIN=python3 loads the plugin for every uwsgi the pods start.
 * (Debian's uwsgi_python3 loads it only when started by that name, not through a link named
 * uwsgi: "no app loaded".) The LOCI uwsgi is the plain core, so nothing else loads a plugin.
 */
const UWSGI = { commands: { uwsgi: '/usr/bin/uwsgi-core' }, env: { UWSGI_PLUGIN: 'python3' } };

function openstack(account: string, packages: string[] = []): ImageRecipe {
  return { loci: true, account, packages: [...OPENSTACK_BASE, ...packages], ...UWSGI };
}

export const RECIPES: Record<ImageKey, ImageRecipe> = {
  keystone: openstack('keystone'),
  glance: openstack('glance'),
  placement: openstack('placement'),
  // nova-novncproxy and the metadata API are skipped on a host; novnc is the web client that
  // nova-novncproxy serves from /usr/share/novnc; python3-libvirt is how nova-compute reaches the
  // libvirt pod's daemon.
  nova: openstack('nova', ['nova-novncproxy', 'novnc', 'python3-libvirt']),
  // The metadata agent runs beside ovn-controller on compute nodes (skipped on a host).
  neutron: openstack('neutron', ['neutron-ovn-metadata-agent']),
  // cinder-backup is skipped on a host.
  cinder: openstack('cinder', ['cinder-backup']),
  // Horizon is skipped on a host. Debian runs it as www-data; the pods as 42424, named horizon.
  horizon: openstack('horizon', ['openstack-dashboard']),
  octavia: openstack('octavia'),
  'openstack-client': { loci: true, packages: ['python3-openstackclient'] },
  // start.sh and probe.sh use the client (mariadb, mariadb-admin); Galera needs its provider
  // (/usr/lib/galera/libgalera_smm.so) and, for the mariabackup SST, mariadb-backup and socat,
  // which the backup CronJobs run too (mariadb-backup, mbstream).
  mariadb: { account: 'mysql', packages: ['mariadb-client', 'galera-4', 'mariadb-backup', 'socat'] },
  // Debian's /usr/sbin/rabbitmq-* are wrappers: rabbitmq-server's sends the server's output to
  // /var/log/rabbitmq/startup_log (a pod's log would be empty) and does not exec (signals stop
  // the wrapper, not the server). The scripts the wrappers call come first on PATH instead (a
  // link would not do: they find rabbitmq-env beside $0), as the host target runs them.
  rabbitmq: {
    account: 'rabbitmq',
    env: { PATH: '/usr/lib/rabbitmq/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
  },
  memcached: { account: 'memcache' },
  // The host runs ovn-central and the fake chassis; pods also run ovn-controller.
  ovn: { packages: ['ovn-central', 'ovn-host'] },
  openvswitch: { packages: ['openvswitch-switch'] },
  libvirt: { packages: ['libvirt-daemon-system', 'libvirt-daemon-driver-qemu', 'qemu-system-x86'] },
  // The exporters' images have their binaries at /bin/<name>; Debian names them prometheus-<name>.
  'mysqld-exporter': {
    account: 'nobody',
    packages: ['prometheus-mysqld-exporter'],
    commands: { '/bin/mysqld_exporter': '/usr/bin/prometheus-mysqld-exporter' },
  },
  'memcached-exporter': { unavailable: 'Debian 13 has no prometheus-memcached-exporter package' },
  'blackbox-exporter': {
    account: 'nobody',
    packages: ['prometheus-blackbox-exporter'],
    commands: { '/bin/blackbox_exporter': '/usr/bin/prometheus-blackbox-exporter' },
  },
  'openstack-exporter': {
    unavailable:
      "Debian's prometheus-openstack-exporter is another program (other metrics and flags) than the openstack-exporter the catalog runs",
  },
  'aws-cli': { packages: ['awscli'] },
  // The bootstrap Jobs run `osk bootstrap <task>`: this osk itself (its Node 22 and its bundle,
  // copied from where it is installed) and the mariadb client its database task drives.
  osk: { packages: ['mariadb-client', 'ca-certificates'], ownRuntime: true },
};
