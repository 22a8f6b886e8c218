// The real node's cluster DNS: CoreDNS as a Deployment in kube-system behind the Service kube-dns
// at CLUSTER_DNS_IP (the kubelet's clusterDNS), with the ClusterRole its kubernetes plugin needs.
// There is no upstream: names outside cluster.local get no answer (the node reaches nothing else).

/** The Service IP pods get as their nameserver (inside the cluster's 10.96.0.0/16). */
export const CLUSTER_DNS_IP = '10.96.0.10';

const COREFILE = `.:53 {
    errors
    health :8080
    ready :8181
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 30
    loop
}
`;

/** The objects, each with the collection path it is created at. */
export function coreDNSObjects(image: string, nodeName: string): { path: string; obj: Record<string, unknown> }[] {
  const labels = { 'k8s-app': 'kube-dns' };
  const meta = (name: string) => ({ name, namespace: 'kube-system', labels });
  return [
    {
      path: '/api/v1/namespaces/kube-system/serviceaccounts',
      obj: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta('coredns') },
    },
    {
      path: '/apis/rbac.authorization.k8s.io/v1/clusterroles',
      obj: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'system:coredns' },
        rules: [
          { apiGroups: [''], resources: ['endpoints', 'services', 'pods', 'namespaces'], verbs: ['list', 'watch'] },
          { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
        ],
      },
    },
    {
      path: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
      obj: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'system:coredns' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:coredns' },
        subjects: [{ kind: 'ServiceAccount', name: 'coredns', namespace: 'kube-system' }],
      },
    },
    {
      path: '/api/v1/namespaces/kube-system/configmaps',
      obj: { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('coredns'), data: { Corefile: COREFILE } },
    },
    {
      path: '/apis/apps/v1/namespaces/kube-system/deployments',
      obj: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: meta('coredns'),
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: 'coredns',
              // Its own answers must not come from itself: the node's (empty) resolv.conf.
              dnsPolicy: 'Default',
              nodeSelector: { 'kubernetes.io/hostname': nodeName },
              containers: [
                {
                  name: 'coredns',
                  image,
                  imagePullPolicy: 'Never',
                  args: ['-conf', '/etc/coredns/Corefile'],
                  ports: [
                    { name: 'dns', containerPort: 53, protocol: 'UDP' },
                    { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
                  ],
                  volumeMounts: [{ name: 'config', mountPath: '/etc/coredns', readOnly: true }],
                  livenessProbe: { httpGet: { path: '/health', port: 8080 }, periodSeconds: 10 },
                  readinessProbe: { httpGet: { path: '/ready', port: 8181 }, periodSeconds: 2 },
                },
              ],
              volumes: [{ name: 'config', configMap: { name: 'coredns' } }],
            },
          },
        },
      },
    },
    {
      path: '/api/v1/namespaces/kube-system/services',
      obj: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: meta('kube-dns'),
        spec: {
          clusterIP: CLUSTER_DNS_IP,
          selector: labels,
          ports: [
            { name: 'dns', port: 53, protocol: 'UDP' },
            { name: 'dns-tcp', port: 53, protocol: 'TCP' },
          ],
        },
      },
    },
  ];
}
