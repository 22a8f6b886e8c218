// Which module may import which (checked by `npm test`: depcruise src). Arrows point one way:
//   cli → observe → targets/* → plan → catalog → spec, config
// with state/ (files of a cloud's state), bootstrap/ and openstack/ (the REST client) beside them,
// and images/ (osk images: what the Kubernetes target's pods run, built from Debian packages)
// beside the targets, reading the Kubernetes render,
// and errors.ts, version.ts, reporter.ts importable from anywhere. Tests may import across layers.
const notTest = '\\.test\\.ts$';
const layer = (name, from, to, comment) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from, pathNot: notTest },
  to: { path: to },
});

module.exports = {
  forbidden: [
    { name: 'no-circular', comment: 'import cycles', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'pure-core',
      comment: 'spec, plan, catalog and config compute; files, processes and the host are for the edges',
      severity: 'error',
      from: { path: '^src/(spec|plan|catalog|config)/', pathNot: notTest },
      to: { dependencyTypes: ['core'], path: '^(node:)?(fs|fs/promises|child_process|os|net|http|https|dgram)$' },
    },
    layer('spec-config-at-the-bottom', '^src/(spec|config)/', '^src/(catalog|plan|targets|cli|observe|bootstrap|state|openstack)/'),
    layer('catalog-below-plan', '^src/catalog/', '^src/(plan|targets|cli|observe|bootstrap|state|openstack)/'),
    layer('plan-below-targets', '^src/plan/', '^src/(targets|cli|observe|bootstrap|state|openstack)/'),
    layer('state-below-targets', '^src/state/', '^src/(catalog|plan|targets|cli|observe|bootstrap|openstack)/'),
    layer('client-is-a-leaf', '^src/openstack/', '^src/(?!openstack/|errors\\.ts$)'),
    layer('bootstrap-below-targets', '^src/bootstrap/', '^src/(targets|cli|observe|state)/'),
    layer('targets-below-cli', '^src/targets/', '^src/(cli|observe)/'),
    layer('kubernetes-target-alone', '^src/targets/kubernetes/', '^src/targets/local/'),
    layer('local-target-alone', '^src/targets/local/', '^src/targets/(kubernetes|cluster)/'),
    layer('kubernetes-target-alone-of-clusters', '^src/targets/kubernetes/', '^src/targets/cluster/'),
    // osk cluster: the OpenStack side of users' Kubernetes clusters, through the client; its plan is plan/cluster*.ts.
    layer('cluster-target-alone', '^src/targets/cluster/', '^src/targets/(kubernetes|local)/'),
    layer('only-cli-imports-cli', '^src/(?!cli/)', '^src/cli/'),
    layer('images-beside-targets', '^src/images/', '^src/(cli|observe|bootstrap|openstack|targets/local)/'),
    // The guest image (images/guest/) is the host target's too: its hypervisor probe boots the
    // guest's kernel, and its cloud will boot the guest.
    layer('only-cli-imports-images', '^src/(?!cli/|images/|targets/local/)', '^src/images/'),
    layer('local-target-imports-only-the-guest', '^src/targets/local/', '^src/images/(?!guest/)'),
    {
      name: 'images-plan-is-pure',
      comment: "which images a cloud needs and what goes into each is computed; the build's I/O is elsewhere",
      severity: 'error',
      from: { path: '^src/images/(plan|recipes)\\.ts$' },
      to: { dependencyTypes: ['core'], path: '^(node:)?(fs|fs/promises|child_process|os|net|http|https|dgram)$' },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
