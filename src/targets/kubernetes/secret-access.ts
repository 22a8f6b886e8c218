/**
 * What the key rotation CronJobs (key-rotation.ts, credential-rotation.ts) share: a service
 * account whose Role may only get and update one Secret, and the Python lines that call the API
 * server for that Secret with the pod's own token.
 */
import { Role, RoleBinding, ServiceAccount } from './k8s.js';

interface Meta {
  name: string;
  namespace: string;
  labels: Record<string, string>;
}

/** ServiceAccount, Role and RoleBinding, all named meta.name: get and update of one Secret, nothing else. */
export function oneSecretAccess(meta: Meta, secret: string): [ServiceAccount, Role, RoleBinding] {
  return [
    ServiceAccount({ metadata: meta, automountServiceAccountToken: false }),
    // Only this Secret, only read and replace: no list, no create, no other Secret.
    Role({
      metadata: meta,
      rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: [secret], verbs: ['get', 'update'] }],
    }),
    RoleBinding({
      metadata: meta,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: meta.name },
      subjects: [{ kind: 'ServiceAccount', name: meta.name, namespace: meta.namespace }],
    }),
  ];
}

/**
 * Python: `call(method, body=None)` on the Secret named by SECRET_NAME in NAMESPACE, through the
 * API server the pod's environment names, with the mounted service account token and CA (SA_DIR
 * overrides their directory); an HTTP error ends the script naming the call. Defines secret, ns.
 */
export const SECRET_API_PY = `
secret, ns = os.environ["SECRET_NAME"], os.environ["NAMESPACE"]
sa = os.environ.get("SA_DIR", "/var/run/secrets/kubernetes.io/serviceaccount")
host, port = os.environ["KUBERNETES_SERVICE_HOST"], os.environ["KUBERNETES_SERVICE_PORT"]
if ":" in host: host = "[" + host + "]"
url = "https://%s:%s/api/v1/namespaces/%s/secrets/%s" % (host, port, ns, secret)
token = open(os.path.join(sa, "token")).read().strip()
tls = ssl.create_default_context(cafile=os.path.join(sa, "ca.crt"))

def call(method, body=None):
    req = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, context=tls, timeout=30) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        sys.exit("%s Secret %s/%s: HTTP %d %s" % (method, ns, secret, e.code, e.read().decode(errors="replace")[:500]))
`;
