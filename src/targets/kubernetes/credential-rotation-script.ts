/**
 * The script of the keystone-credential-rotation CronJob, in Python (the keystone image has it
 * and keystone-manage). It follows config/credential-rotation.ts step by step; the Secret is the
 * saved repository and the PUT (with the resourceVersion it read) is the one step that changes
 * it. Its settings come from the environment, keystone-manage and its configuration arguments
 * are its arguments (sys.argv[1:]); nothing of the cloud file is part of the text.
 *
 * A run that stops anywhere leaves a Secret that decrypts every stored credential: before the
 * PUT nothing is saved; after it, the saved set still holds the old primary. Every run migrates
 * first, so the next run (or a retry of this Job) finishes an interrupted migration. A retry
 * does not rotate again: a rotation younger than MIN_AGE_SECONDS (half the interval) is only
 * migrated, so every Keystone has seen a rotation long before the next one drops a key.
 */
import { SECRET_API_PY } from './secret-access.js';

export const CREDENTIAL_ROTATE_SCRIPT = `
import base64, json, os, ssl, subprocess, sys, tempfile, urllib.request, urllib.error
from datetime import datetime, timezone

${SECRET_API_PY}
min_age = int(os.environ["MIN_AGE_SECONDS"])
manage = sys.argv[1:]
if not manage:
    sys.exit("usage: rotate keystone-manage [config arguments]")
STAMP = "osk.dev/keys-rotated-at"
KEYS = 3  # Keystone's fixed size of a credential key repository

def saved_keys(obj):
    data = obj.get("data") or {}
    if not data or not all(k.isdigit() for k in data) or sorted(int(k) for k in data) != list(range(len(data))):
        sys.exit("Secret %s/%s does not hold a key repository 0..n-1: keys %s" % (ns, secret, sorted(data)))
    keys = [base64.b64decode(data[str(i)]).decode() for i in range(len(data))]
    if len(keys) < 2 or not all(keys):
        sys.exit("Secret %s/%s: a key repository holds at least a staged and a primary key, none empty" % (ns, secret))
    return keys

def new_key():
    return base64.urlsafe_b64encode(os.urandom(32)).decode()

def write_repo(path, keys):
    os.mkdir(path, 0o700)
    for i, k in enumerate(keys):
        with os.fdopen(os.open(os.path.join(path, str(i)), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            f.write(k)

def read_repo(path):
    found = {}
    for name in os.listdir(path):
        if name.isdigit():
            with open(os.path.join(path, name)) as f:
                key = f.read()
            if key: found[int(name)] = key
    return [found[i] for i in sorted(found)]

work = tempfile.mkdtemp(prefix="osk-credential-keys-")
repo, unused = os.path.join(work, "credential-keys"), os.path.join(work, "unused-token-keys")
# keystone-manage loads the token providers, which refuse an empty key repository: a throwaway
# key, never the cloud's token keys (this pod signs nothing).
write_repo(unused, [new_key()])
conf = os.path.join(work, "scratch.conf")
with open(conf, "w") as f:
    f.write("[token]\\nprovider = fernet\\n[fernet_tokens]\\nkey_repository = %s\\n[fernet_receipts]\\nkey_repository = %s\\n[credential]\\nkey_repository = %s\\n" % (unused, unused, repo))

def keystone_manage(command, saved):
    args = manage + ["--config-file", conf, command]
    if os.geteuid() == 0:
        args += ["--keystone-user", "root", "--keystone-group", "root"]
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        sys.exit("keystone-manage %s failed (exit %d); %s\\n%s" % (command, r.returncode, saved, r.stdout[-3000:]))

obj = call("GET")
keys = saved_keys(obj)
write_repo(repo, keys)
# 1. Every stored credential onto the saved primary (finishes what an interrupted run left).
keystone_manage("credential_migrate", "the saved keys are unchanged")
meta = obj.setdefault("metadata", {})
last = (meta.get("annotations") or {}).get(STAMP)
if last:
    age = (datetime.now(timezone.utc) - datetime.strptime(last, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)).total_seconds()
    if age < min_age:
        print("migrated %s/%s; not rotated: the last rotation (%s) is younger than %d s" % (ns, secret, last, min_age))
        sys.exit(0)
# 2. Keystone's rotation of the copy: it refuses unless every credential is on the primary.
keystone_manage("credential_rotate", "the saved keys are unchanged")
rotated = read_repo(repo)
# 3. Exactly Keystone's rotation: the staged key is the primary, the old primary is kept.
if len(rotated) != min(len(keys) + 1, KEYS) or rotated[0] in keys or rotated[-1] != keys[0] or rotated[1:-1] != keys[1:][-(KEYS - 2):]:
    sys.exit("keystone-manage credential_rotate did not rotate the repository as Keystone does (%d keys before, %d after); the saved keys are unchanged" % (len(keys), len(rotated)))
# 4. The one step: the rotated set, which still holds the old primary, replaces the saved one.
obj["data"] = {str(i): base64.b64encode(k.encode()).decode() for i, k in enumerate(rotated)}
meta.setdefault("annotations", {})[STAMP] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
call("PUT", obj)
# 5. Every stored credential onto the new primary.
keystone_manage("credential_migrate", "the rotated keys are saved and decrypt every credential; the next run finishes the migration")
print("rotated %s/%s: %d keys, stored credentials re-encrypted with the new primary" % (ns, secret, len(rotated)))
`;
