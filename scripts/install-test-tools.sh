#!/usr/bin/env bash
# Install the command-line tools the monitoring tests check against:
#   promtool (Debian's `prometheus` package): `promtool check rules` and `promtool test rules`
#   on the PrometheusRules osk renders (src/observe/*.test.ts).
#
# Debian ships promtool only inside the `prometheus` package, which also carries the
# Prometheus server and a service for it. The server is never started: a policy-rc.d that
# forbids starting services is in place for the whole install (the same switch osk up and
# install-oslo-validator.sh use), and on a host that runs systemd the unit is disabled right
# after a fresh install, so it does not start at the next boot either. Recommends (the node
# exporter) are not installed.
#
# Idempotent: when promtool is there it only runs dpkg-query and exits.
# Safe for CI: runs as root, needs no stdin, never prompts.
set -euo pipefail
# shellcheck source=lib/apt.sh
source "$(dirname "$0")/lib/apt.sh"

# prometheus: promtool. mariadb-server + mariadb-backup, ovn-central: the backup scripts run for
# real against local servers (src/backup/kubernetes/scripts.test.ts). awscli: the offsite upload
# against a local S3 API (moto, from PyPI below).
PACKAGES=(prometheus mariadb-server mariadb-backup ovn-central openvswitch-common awscli)
# PyPI: moto's S3 server for the offsite test (no Debian package ships moto_server).
PIP_PACKAGES=('moto[server]==5.2.1')

pip_install() {
  if ! command -v moto_server >/dev/null 2>&1; then
    log "pip installing: ${PIP_PACKAGES[*]}"
    python3 -m pip install --quiet --disable-pip-version-check "${PIP_PACKAGES[@]}"
  fi
}

log() { printf '[install-test-tools] %s\n' "$*" >&2; }

start=$(date +%s)

mapfile -t missing < <(missing_packages "${PACKAGES[@]}")

if [[ ${#missing[@]} -eq 0 ]] && command -v promtool >/dev/null 2>&1; then
  log "already installed: $(promtool --version 2>&1 | head -1)"
  pip_install
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  log "must run as root (apt-get install ${missing[*]:-prometheus})"
  exit 1
fi

# --- never start services during the install --------------------------------
forbid_service_starts install-test-tools.sh

export DEBIAN_FRONTEND=noninteractive
export DEBCONF_NONINTERACTIVE_SEEN=true
APT_OPTS=(-y -q --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

if [[ ${#missing[@]} -eq 0 ]]; then
  # Package present but promtool missing (removed by hand): reinstall it.
  missing=(prometheus)
  APT_OPTS+=(--reinstall)
fi
log "installing: ${missing[*]}"

apt-get update -q </dev/null
apt-get install "${APT_OPTS[@]}" "${missing[@]}" </dev/null

# Keep the server from starting at the next boot on a systemd host (osk's tests only need promtool).
if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
  systemctl disable --now prometheus.service >/dev/null 2>&1 || true
fi

command -v promtool >/dev/null 2>&1 || { log "promtool still missing"; exit 1; }
pip_install

end=$(date +%s)
log "done in $((end - start))s: $(dpkg-query -W -f='${Package}=${Version} ' "${PACKAGES[@]}")$(promtool --version 2>&1 | head -1)"
