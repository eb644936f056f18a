#!/usr/bin/env bash
# Debian packages for the test infrastructure of remote hosts, Swarm and object storage
# (test/support/hosts.ts, swarm.ts, object-store.ts). Run by `npm run setup:docker` and `.ci/run`
# after scripts/docker-setup.sh (kept separate so that adding a package here does not change that
# script's image recipe hash and rebuild the test images).
#
#   openssh-server   sshd inside each simulated host (key-only root login)
#   openssh-client   ssh / ssh-keygen in the main namespace (the docker CLI's ssh transport)
#   iproute2         ip netns / veth / bridge
#   util-linux       unshare / nsenter (persistent mount namespaces, running commands in a host)
#   containerd       ctr (docker.io brings containerd; ctr talks to each host's own containerd)
#   curl             S3 bucket creation (SigV4) against radosgw
#   ceph-mon ceph-osd radosgw   single-node Ceph: the S3 server for distribution's s3 driver
#
# Idempotent: installs only what is missing (`apt-get update` only then); a prepared machine is
# checked in well under a second. Must run as root. Nothing is started here: Debian's policy-rc.d
# (or the absence of an init system) keeps the packages' services down, and the tests start their
# own daemons with their own configuration.
set -euo pipefail

PACKAGES=(openssh-server openssh-client iproute2 util-linux containerd curl ceph-mon ceph-osd radosgw)

log() { printf '[test-hosts-setup] %s\n' "$*"; }
die() {
  printf '[test-hosts-setup] ERROR: %s\n' "$*" >&2
  exit 1
}

[ "$(id -u)" = "0" ] || die "must run as root (it installs apt packages). Re-run: sudo npm run setup:docker"

missing=()
for pkg in "${PACKAGES[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$pkg")
  fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  log "packages present: ${PACKAGES[*]}"
  exit 0
fi
command -v apt-get >/dev/null || die "missing packages (${missing[*]}) and no apt-get: this set-up targets Debian/Ubuntu"
started=$SECONDS
log "installing: ${missing[*]}"
# Wait (bounded) for a concurrent apt/dpkg run instead of failing on its lock.
apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -q "$@"; }
apt_get update
apt_get install -y --no-install-recommends "${missing[@]}"
log "installed in $((SECONDS - started))s"
