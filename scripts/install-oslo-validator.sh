#!/usr/bin/env bash
# Install Debian's OpenStack (Zed, bookworm) Python libraries so that
# `oslo-config-validator` / `oslo-config-generator` can load the real option
# definitions of keystone, glance, placement, nova, neutron (incl. ML2/OVN)
# and cinder. Used by test/support/oslo-validator.ts.
#
# Only the python3-* library packages are installed, never the daemon packages
# (nova-api, neutron-server, ...): the libraries carry the `oslo.config.opts`
# entry points, which is all the validator needs. Some of their dependencies
# still ship services (udev and open-iscsi via os-brick, systemd), so a
# policy-rc.d that forbids starting services is in place for the whole install.
#
# Idempotent: when everything is installed it only runs dpkg-query and exits.
# Safe for CI: runs as root, needs no stdin, never prompts.
set -euo pipefail

PACKAGES=(
  python3-oslo.config   # oslo-config-validator, oslo-config-generator
  python3-keystone
  python3-glance
  python3-placement
  python3-nova
  python3-neutron       # includes the ML2/OVN mechanism driver and its opts
  python3-cinder
)

log() { printf '[install-oslo-validator] %s\n' "$*" >&2; }

start=$(date +%s)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
  # "ii " = installed and configured; anything else (absent, half-configured) is redone
  if [[ "$status" != "ii "* ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]] && command -v oslo-config-validator >/dev/null 2>&1; then
  log "already installed: ${PACKAGES[*]}"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  log "must run as root (apt-get install ${missing[*]})"
  exit 1
fi

# --- never start services during the install --------------------------------
POLICY=/usr/sbin/policy-rc.d
policy_backup=""
policy_created=0
restore_policy() {
  if [[ $policy_created -eq 1 ]]; then
    rm -f "$POLICY"
  fi
  if [[ -n "$policy_backup" && -e "$policy_backup" ]]; then
    mv -f "$policy_backup" "$POLICY"
  fi
}
if [[ -e "$POLICY" ]]; then
  rc=0
  "$POLICY" dummy-service start >/dev/null 2>&1 || rc=$?
  if [[ $rc -ne 101 ]]; then
    # An existing policy that allows starts: put it aside for the install.
    policy_backup=$(mktemp "${POLICY}.oslo-validator.XXXXXX")
    mv -f "$POLICY" "$policy_backup"
  fi
fi
trap restore_policy EXIT
if [[ ! -e "$POLICY" ]]; then
  printf '#!/bin/sh\n# temporary: written by install-oslo-validator.sh\nexit 101\n' >"$POLICY"
  chmod 0755 "$POLICY"
  policy_created=1
fi

export DEBIAN_FRONTEND=noninteractive
export DEBCONF_NONINTERACTIVE_SEEN=true
APT_OPTS=(-y -q --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

log "installing: ${missing[*]:-(packages present, validator command missing: reinstalling python3-oslo.config)}"
if [[ ${#missing[@]} -eq 0 ]]; then
  missing=(python3-oslo.config)
  APT_OPTS+=(--reinstall)
fi

apt-get update -q </dev/null
# Show the full set (with dependencies) that is about to be installed.
apt-get install -s "${APT_OPTS[@]}" "${missing[@]}" </dev/null \
  | awk '/^Inst /{print $2}' | sort | tr '\n' ' ' | fold -s -w 120 | sed 's/^/  + /' >&2 || true
echo >&2
apt-get install "${APT_OPTS[@]}" "${missing[@]}" </dev/null

command -v oslo-config-validator >/dev/null 2>&1 || { log "oslo-config-validator still missing"; exit 1; }

end=$(date +%s)
log "done in $((end - start))s: $(dpkg-query -W -f='${Package}=${Version} ' "${PACKAGES[@]}")"
