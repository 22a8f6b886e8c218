#!/usr/bin/env bash
# Install Debian's OpenStack (Zed, bookworm) Python libraries so that
# `oslo-config-validator` / `oslo-config-generator` can load the real option
# definitions of keystone, glance, placement, nova, neutron (incl. ML2/OVN),
# cinder and octavia (with its OVN provider). Used by test/support/oslo-validator.ts.
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
# shellcheck source=lib/apt.sh
source "$(dirname "$0")/lib/apt.sh"

PACKAGES=(
  python3-oslo.config   # oslo-config-validator, oslo-config-generator
  python3-keystone
  python3-glance
  python3-placement
  python3-nova
  python3-neutron       # includes the ML2/OVN mechanism driver and its opts
  python3-cinder
  python3-octavia
  python3-ovn-octavia-provider  # the OVN provider's [ovn] and [neutron] options
)

log() { printf '[install-oslo-validator] %s\n' "$*" >&2; }

start=$(date +%s)

mapfile -t missing < <(missing_packages "${PACKAGES[@]}")

if [[ ${#missing[@]} -eq 0 ]] && command -v oslo-config-validator >/dev/null 2>&1; then
  log "already installed: ${PACKAGES[*]}"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  log "must run as root (apt-get install ${missing[*]})"
  exit 1
fi

# --- never start services during the install --------------------------------
forbid_service_starts install-oslo-validator.sh

export DEBIAN_FRONTEND=noninteractive
export DEBCONF_NONINTERACTIVE_SEEN=true
APT_OPTS=("${APT_WAIT[@]}" -y -q --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

log "installing: ${missing[*]:-(packages present, validator command missing: reinstalling python3-oslo.config)}"
if [[ ${#missing[@]} -eq 0 ]]; then
  missing=(python3-oslo.config)
  APT_OPTS+=(--reinstall)
fi

apt-get update -q "${APT_WAIT[@]}" </dev/null
# Show the full set (with dependencies) that is about to be installed.
apt-get install -s "${APT_OPTS[@]}" "${missing[@]}" </dev/null \
  | awk '/^Inst /{print $2}' | sort | tr '\n' ' ' | fold -s -w 120 | sed 's/^/  + /' >&2 || true
echo >&2
apt-get install "${APT_OPTS[@]}" "${missing[@]}" </dev/null

command -v oslo-config-validator >/dev/null 2>&1 || { log "oslo-config-validator still missing"; exit 1; }

end=$(date +%s)
log "done in $((end - start))s: $(dpkg-query -W -f='${Package}=${Version} ' "${PACKAGES[@]}")"
