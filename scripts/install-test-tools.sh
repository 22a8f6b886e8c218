#!/usr/bin/env bash
# Install the command-line tools and servers the tests check against:
#   promtool (Debian's `prometheus` package): `promtool check rules` and `promtool test rules`
#   on the PrometheusRules osk renders (src/targets/kubernetes/monitoring/*.test.ts).
#   The Prometheus server itself, prometheus-mysqld-exporter and galera-4: the MariaDB/Galera
#   alerts are evaluated by a real Prometheus on what the real exporter reads from a real
#   one-node Galera cluster (src/targets/kubernetes/monitoring/exporters.test.ts), so the metric names and values the
#   alerts use are the exporter's own. galera-4 is only a Recommends of mariadb-server (not
#   installed with --no-install-recommends), so it is listed by name.
#   prometheus-blackbox-exporter: the API-probe module osk renders is run against test servers
#   (src/targets/kubernetes/monitoring/blackbox.test.ts) and against the all-in-one cloud's real APIs (the e2e).
#   debootstrap, umoci, skopeo: `osk images build` builds a real image from Debian's packages
#   into an OCI archive (src/images/build.test.ts) and pushes it to a real registry
#   (test/kubernetes/registry.e2e.test.ts; the registry itself is built from its Go module).
#
# Debian ships promtool only inside the `prometheus` package, which also carries the
# Prometheus server and a service for it; prometheus-mysqld-exporter carries a service too.
# The tests start their own servers on loopback, in a temporary directory: the packaged services
# are never started. A policy-rc.d that forbids starting services is in place for the whole
# install (the same switch osk up and install-oslo-validator.sh use), and on a host that runs
# systemd the units are disabled right after a fresh install, so they do not start at the next
# boot either. Recommends (the node exporter) are not installed.
#
# Idempotent: when promtool is there it only runs dpkg-query and exits.
# Safe for CI: runs as root, needs no stdin, never prompts.
set -euo pipefail
# shellcheck source=lib/apt.sh
source "$(dirname "$0")/lib/apt.sh"

# prometheus: promtool, and the server of the exporter test. mariadb-server + mariadb-backup,
# ovn-central: the backup scripts run for real against local servers
# (src/backup/kubernetes/scripts.test.ts). galera-4 + prometheus-mysqld-exporter: the Galera
# alerts against a real one-node cluster and the real exporter (src/targets/kubernetes/monitoring/exporters.test.ts).
# awscli: the offsite upload against a local S3 API (moto, from PyPI below).
# containerd, runc, containernetworking-plugins, iptables, conntrack, socat, umoci,
# busybox-static: the real node of the test cluster (test/cluster/real-node.ts): the container
# runtime and CNI plugins the kubelet drives, kube-proxy's iptables and conntrack, the forwarder
# that lets pods reach the API server, and the OCI layouts of the node's own small images.
# ipset: kube-router's network-policy controller, which enforces NetworkPolicies on the real node
# when asked (test/cluster/network-policies.ts), keeps its pod and namespace sets in ipsets.
# debootstrap, umoci, skopeo: the image build (src/images/build.test.ts) and its push.
# python3-openstackclient: the openstack CLI the real-node e2e points at the cloud with osk env -f.
# qemu-system-x86, qemu-utils, syslinux, syslinux-common, mtools, dosfstools, genisoimage,
# openssh-client: the guest image is built (src/images/guest/) and booted under QEMU with a config
# drive and SSH (boot.test.ts), and the hypervisor probe boots its kernel
# (src/targets/local/hypervisor-probe.test.ts).
# libvirt-daemon-system, libvirt-daemon-driver-qemu, libvirt-clients: a private libvirtd and
# virtlogd (src/targets/local/libvirt.ts) boot the guest image as a libvirt domain
# (libvirt.test.ts). libvirt-daemon-system also makes the libvirt-qemu account (the QEMU
# driver's built-in user) and the /etc, /var/lib, /var/log and /var/cache libvirt directories
# the private daemons mount the cloud's own directories over. Its services are never started by
# the install (policy-rc.d below) and are disabled on a systemd host.
# iputils-ping: the libvirt e2e pings a guest's floating IP from the external network's namespace
# (and SSHes to it with openssh-client); chromium: it logs into Horizon in a headless browser
# (driven by the npm package puppeteer-core, which downloads no browser of its own).
# ceph-mon, ceph-mgr, ceph-osd, ceph-common: the real-node e2e runs a Ceph cluster for the cloud
# it applies (test/cluster/ceph.ts), with the programs `osk up` runs for a cloud on its own Ceph.
PACKAGES=(prometheus mariadb-server mariadb-backup galera-4 prometheus-mysqld-exporter prometheus-blackbox-exporter ovn-central openvswitch-common awscli
  containerd runc containernetworking-plugins iptables ipset conntrack socat umoci busybox-static debootstrap skopeo
  python3-openstackclient qemu-system-x86 qemu-utils syslinux syslinux-common mtools dosfstools genisoimage openssh-client
  libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients iputils-ping chromium
  ceph-mon ceph-mgr ceph-osd ceph-common)
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
APT_OPTS=("${APT_WAIT[@]}" -y -q --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

if [[ ${#missing[@]} -eq 0 ]]; then
  # Package present but promtool missing (removed by hand): reinstall it.
  missing=(prometheus)
  APT_OPTS+=(--reinstall)
fi
log "installing: ${missing[*]}"

apt-get update -q "${APT_WAIT[@]}" </dev/null
apt-get install "${APT_OPTS[@]}" "${missing[@]}" </dev/null

# Keep the packaged servers from starting at the next boot on a systemd host (the tests start
# their own). One unit at a time: systemctl gives up on all of them when one is unknown.
if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
  for unit in prometheus.service prometheus-mysqld-exporter.service prometheus-blackbox-exporter.service \
    libvirtd.service virtlogd.service virtlockd.service libvirt-guests.service \
    ceph.target ceph-mon.target ceph-mgr.target ceph-osd.target; do
    systemctl disable --now "$unit" >/dev/null 2>&1 || true
  done
fi

command -v promtool >/dev/null 2>&1 || { log "promtool still missing"; exit 1; }
pip_install

end=$(date +%s)
log "done in $((end - start))s: $(dpkg-query -W -f='${Package}=${Version} ' "${PACKAGES[@]}")$(promtool --version 2>&1 | head -1)"
