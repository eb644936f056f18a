#!/usr/bin/env bash
# One-command set-up for the real-engine tests (`npm run setup:docker`, also run by .ci/run).
#
#   1. installs Debian's docker.io, docker-registry, busybox-static, skopeo and openssl (only the
#      missing ones; `apt-get update` first when something is missing);
#   2. starts dockerd in the background if `docker info` does not answer, logging to
#      $DOCKERD_LOG, and waits (bounded) until it answers;
#   3. builds the local stand-ins for images that cannot be pulled here:
#        secure-registry-test/registry:2      CNCF distribution 2.8.2 (Debian's docker-registry),
#                                             laid out like the official registry:2 image
#        secure-registry-test/busybox:latest  busybox-static: sh, wget, nc, ...
#      Each image carries a label with a hash of its recipe and package versions; it is rebuilt
#      only when missing or when that hash changed.
#
# Idempotent: a second run on a prepared machine only checks, in a second or two.
# Must run as root (it installs packages and starts the daemon).
set -euo pipefail

DOCKERD_LOG="${DOCKERD_LOG:-/var/log/dockerd-secure-registry.log}"
DOCKERD_WAIT_SECONDS="${DOCKERD_WAIT_SECONDS:-60}"
REGISTRY_IMAGE="secure-registry-test/registry:2"
BUSYBOX_IMAGE="secure-registry-test/busybox:latest"
RECIPE_LABEL="org.secure-registry-test.recipe"
PACKAGES=(docker.io docker-registry busybox-static skopeo openssl)

log() { printf '[docker-setup] %s\n' "$*"; }
die() {
  printf '[docker-setup] ERROR: %s\n' "$*" >&2
  exit 1
}

if [ "$(id -u)" != "0" ]; then
  die "must run as root (it installs apt packages, starts dockerd and builds images). Re-run: sudo npm run setup:docker"
fi

# --- 1. packages ----------------------------------------------------------------------------
missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  command -v apt-get >/dev/null || die "missing packages (${missing[*]}) and no apt-get: this set-up targets Debian/Ubuntu"
  log "installing: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  log "packages present: ${PACKAGES[*]}"
fi

# --- 2. engine ------------------------------------------------------------------------------
engine_answers() { timeout 10 docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

if engine_answers; then
  log "Docker engine answers (server $(docker info --format '{{.ServerVersion}}' 2>/dev/null))"
else
  command -v dockerd >/dev/null || die "dockerd not found although docker.io is installed"
  log "starting dockerd in the background (log: $DOCKERD_LOG)"
  mkdir -p "$(dirname "$DOCKERD_LOG")"
  # setsid + nohup: the daemon must outlive this script and the shell that ran it.
  setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
  deadline=$((SECONDS + DOCKERD_WAIT_SECONDS))
  until engine_answers; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 30 "$DOCKERD_LOG" >&2 || true
      die "dockerd did not answer 'docker info' within ${DOCKERD_WAIT_SECONDS}s; see $DOCKERD_LOG (last lines above)"
    fi
    sleep 1
  done
  log "Docker engine answers after $((SECONDS + DOCKERD_WAIT_SECONDS - deadline))s"
fi

# --- 3. images ------------------------------------------------------------------------------
# The config file of the official registry:2 image (distribution's cmd/registry/config-example.yml).
REGISTRY_CONFIG='version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
'
DEFAULT_PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

pkg_version() { dpkg-query -W -f='${Version}' "$1"; }

# The recipe hash covers this script (the build steps and the config above) and the package
# versions whose files go into the images: any change there rebuilds.
recipe_hash() {
  {
    cat "${BASH_SOURCE[0]}"
    printf '%s\n' "$1"
    pkg_version busybox-static
    [ "$1" = registry ] && pkg_version docker-registry && pkg_version openssl
    true
  } | sha256sum | cut -c1-16
}

image_recipe() {
  docker image inspect --format "{{ index .Config.Labels \"$RECIPE_LABEL\" }}" "$1" 2>/dev/null || true
}

workdir="$(mktemp -d /tmp/docker-setup.XXXXXX)"
trap 'rm -rf "$workdir"' EXIT

# A busybox rootfs: the static binary as /bin/busybox with a link per applet (sh, wget, nc...).
make_busybox_rootfs() {
  local root="$1"
  mkdir -p "$root/bin" "$root/usr/bin" "$root/tmp" "$root/etc" "$root/root" "$root/var" "$root/proc" "$root/sys" "$root/dev"
  chmod 1777 "$root/tmp"
  install -m 0755 /bin/busybox "$root/bin/busybox"
  local applet
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
}

import_rootfs() {
  local root="$1" tag="$2" recipe="$3"
  shift 3
  local changes=(-c "LABEL $RECIPE_LABEL=$recipe" -c "ENV PATH=$DEFAULT_PATH")
  local change
  for change in "$@"; do changes+=(-c "$change"); done
  tar -C "$root" --numeric-owner -cf - . | docker import "${changes[@]}" - "$tag" >/dev/null
}

build_registry_image() {
  local recipe="$1" root="$workdir/registry"
  make_busybox_rootfs "$root"
  install -m 0755 /usr/bin/docker-registry "$root/bin/registry"
  # registry:2 (Alpine) has OpenSSL, and its busybox wget does HTTPS through it (TLS 1.3
  # included). Debian's busybox wget does the same when an `openssl` binary is on PATH (else it
  # falls back to a built-in TLS 1.2-only client), so a health check over HTTPS behaves alike.
  install -m 0755 /usr/bin/openssl "$root/usr/bin/openssl"
  mkdir -p "$root/usr/lib/ssl"
  [ -f /usr/lib/ssl/openssl.cnf ] && cp -L /usr/lib/ssl/openssl.cnf "$root/usr/lib/ssl/openssl.cnf"
  ln -s /etc/ssl/certs "$root/usr/lib/ssl/certs"
  # Both binaries are dynamically linked: copy exactly the libraries ldd names.
  local lib
  for lib in $({ ldd /usr/bin/docker-registry; ldd /usr/bin/openssl; } | grep -o '/[^ ]*' | sort -u); do
    [ -e "$root$lib" ] && continue
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
  mkdir -p "$root/etc/docker/registry" "$root/var/lib/registry" "$root/etc/ssl/certs"
  printf '%s' "$REGISTRY_CONFIG" >"$root/etc/docker/registry/config.yml"
  # registry:2 ships ca-certificates (proxy mode to public upstreams needs them).
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  fi
  import_rootfs "$root" "$REGISTRY_IMAGE" "$recipe" \
    'ENTRYPOINT ["/bin/registry"]' \
    'CMD ["serve","/etc/docker/registry/config.yml"]' \
    'VOLUME /var/lib/registry' \
    'EXPOSE 5000'
}

build_busybox_image() {
  local recipe="$1" root="$workdir/busybox"
  make_busybox_rootfs "$root"
  import_rootfs "$root" "$BUSYBOX_IMAGE" "$recipe" 'CMD ["sh"]'
}

ensure_image() {
  local kind="$1" tag="$2" want have
  want="$(recipe_hash "$kind")"
  have="$(image_recipe "$tag")"
  if [ "$have" = "$want" ]; then
    log "$tag up to date (recipe $want)"
    return
  fi
  log "building $tag (recipe $want${have:+, was $have})"
  local old_id
  old_id="$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)"
  "build_${kind}_image" "$want"
  if [ -n "$old_id" ]; then
    # The replaced build is now untagged; drop it unless something still uses it.
    docker rmi "$old_id" >/dev/null 2>&1 || true
  fi
  log "built $tag: $(docker image inspect --format '{{.Id}} {{.Size}} bytes' "$tag")"
}

ensure_image registry "$REGISTRY_IMAGE"
ensure_image busybox "$BUSYBOX_IMAGE"

# Smoke check: the registry binary runs inside its image (catches a missing library).
if ! docker run --rm --entrypoint /bin/registry "$REGISTRY_IMAGE" --version >/dev/null 2>&1; then
  die "$REGISTRY_IMAGE does not run /bin/registry --version; rebuild with: docker rmi $REGISTRY_IMAGE && npm run setup:docker"
fi
log "ready: $REGISTRY_IMAGE, $BUSYBOX_IMAGE"
