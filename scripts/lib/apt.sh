# Sourced by the install scripts: what they share around apt-get.
#
#   missing_packages PKG...   prints the packages not installed and configured ("ii")
#   forbid_service_starts TAG keeps maintainer scripts from starting services until the shell
#                             exits: Debian's policy-rc.d switch (exit 101). An existing policy
#                             that forbids starts is kept; one that allows them is put aside and
#                             restored on exit.
#   APT_WAIT                  apt-get options that wait (up to 15 min) for the dpkg lock held by
#                             another apt run (an install beside this one, unattended-upgrades)
#                             instead of failing at once

missing_packages() {
  local pkg status
  for pkg in "$@"; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
    # "ii " = installed and configured; anything else (absent, half-configured) is redone
    [[ "$status" == "ii "* ]] || printf '%s\n' "$pkg"
  done
}

forbid_service_starts() {
  local tag=$1 rc=0
  POLICY=/usr/sbin/policy-rc.d
  policy_backup=""
  policy_created=0
  if [[ -e "$POLICY" ]]; then
    "$POLICY" dummy-service start >/dev/null 2>&1 || rc=$?
    if [[ $rc -ne 101 ]]; then
      policy_backup=$(mktemp "${POLICY}.${tag}.XXXXXX")
      mv -f "$POLICY" "$policy_backup"
    fi
  fi
  trap _restore_policy EXIT
  if [[ ! -e "$POLICY" ]]; then
    printf '#!/bin/sh\n# temporary: written by %s\nexit 101\n' "$tag" >"$POLICY"
    chmod 0755 "$POLICY"
    policy_created=1
  fi
}

_restore_policy() {
  if [[ $policy_created -eq 1 ]]; then rm -f "$POLICY"; fi
  if [[ -n "$policy_backup" && -e "$policy_backup" ]]; then mv -f "$policy_backup" "$POLICY"; fi
}

APT_WAIT=(-o DPkg::Lock::Timeout=900)
