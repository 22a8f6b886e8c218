/** The images a cloud file can name (images.overrides): one key per image the catalog pins (catalog/images.ts). */
export const IMAGE_KEYS = [
  'keystone',
  'glance',
  'placement',
  'nova',
  'neutron',
  'cinder',
  'horizon',
  'openstack-client',
  'mariadb',
  'rabbitmq',
  'memcached',
  'ovn',
  'openvswitch',
  'libvirt',
  'mysqld-exporter',
  'memcached-exporter',
  'openstack-exporter',
  'blackbox-exporter',
  'aws-cli',
  'osk',
] as const;
export type ImageKey = (typeof IMAGE_KEYS)[number];
