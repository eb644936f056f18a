#!/usr/bin/env bash
# up.sh [--owner PID] [--label TEXT] [--image REF]... HOST...
#
# Starts simulated remote Docker hosts on this machine (names and layout: lib.sh). Each host is
#   * a network namespace <run>-<host> whose eth0 has the host's address in the run's /28, plugged
#     into a bridge that lives in its own "switch" namespace <run>_sw. The main namespace is on the
#     same LAN through the link <run>-lan (the slice's first address). The bridge is NOT in the main
#     namespace on purpose: there bridge-nf-call-iptables=1 and the main dockerd's FORWARD DROP
#     would drop host-to-host traffic;
#   * a persistent mount + UTS namespace (hostname = the host's name): /etc is a copy-on-write
#     overlay of this machine's (whatever the host writes under /etc stays in the host), and
#     /etc/docker, /etc/containerd, /etc/containers/certs.d, /root (so /root/.docker),
#     /var/lib/docker and /run are the host's own directories, empty but for the configuration
#     written below; /sys remounted for its network namespace with the cgroup mounts kept;
#     binaries (/usr) and /tmp are shared with the machine;
#   * its own dockerd (which starts its own containerd, socket /run/docker/containerd/
#     containerd.sock inside the host), configured by the host's /etc/docker/daemon.json:
#     networks from 203.0.113.0/24, containers under the cgroup parent <run>-<host>; the
#     images named by --image (default: the two local test images) loaded into it;
#   * an sshd on port 22 accepting only the run's client key for root (no password, no PAM).
# Client side, in the run directory: client/id_ed25519, client/known_hosts (every host's key),
# client/ssh_config, and client/bin/ssh, a wrapper that adds `-F ssh_config`: with that directory
# first in PATH, `DOCKER_HOST=ssh://root@<address> docker ...` works.
#
# --owner: the process whose death makes the run a leftover (default: the caller). Before
# claiming a slot, leftovers of runs whose owner is dead are removed (sweep.sh).
# Output: `RUN_ID=<id>` as soon as a slot is claimed, then `RUN_JSON=<path>` when every host
# answers; run.json describes the run (hosts, addresses, sockets, keys, timings).
# On any failure everything created so far is removed (down.sh) and the exit code is non-zero.
set -euo pipefail
here=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
. "$here/lib.sh"

owner=$PPID
label=manual
images=()
hosts=()
while [ $# -gt 0 ]; do
  case $1 in
    --owner) owner=$2; shift 2 ;;
    --label) label=$2; shift 2 ;;
    --image) images+=("$2"); shift 2 ;;
    -*) srh_die "unknown option $1 (usage: up.sh [--owner PID] [--label TEXT] [--image REF]... HOST...)" ;;
    *) hosts+=("$1"); shift ;;
  esac
done
[ "${#images[@]}" -gt 0 ] || images=(secure-registry-test/registry:2 secure-registry-test/busybox:latest)

# ---- checks before anything is created -----------------------------------------------------
[ "$(id -u)" = 0 ] || srh_die "must run as root (network and mount namespaces, dockerd, sshd)"
for cmd in ip nsenter unshare flock mountpoint dockerd docker ctr /usr/sbin/sshd ssh ssh-keygen; do
  command -v "$cmd" >/dev/null || srh_die "'$cmd' not found: run \`npm run setup:docker\` (scripts/test-hosts/setup.sh)"
done
[ "${#hosts[@]}" -ge 1 ] && [ "${#hosts[@]}" -le "$MAX_HOSTS" ] || srh_die "name 1 to $MAX_HOSTS hosts"
for h in "${hosts[@]}"; do
  [[ $h =~ ^[a-z][a-z0-9]{0,7}$ ]] || srh_die "host name '$h' must match [a-z][a-z0-9]{0,7}"
done
[ "$(printf '%s\n' "${hosts[@]}" | sort | uniq -d)" = "" ] || srh_die "host names must be unique: ${hosts[*]}"
[[ $label =~ ^[A-Za-z0-9._-]{1,40}$ ]] || srh_die "label must be 1-40 of [A-Za-z0-9._-], got '$label'"
[[ $owner =~ ^[0-9]+$ ]] && owner_start=$(proc_start "$owner") || srh_die "owner pid '$owner' is not a running process"
for d in /etc /root /var/lib/docker /run; do
  [ -d "$d" ] || srh_die "$d does not exist on this machine: it is a mount point inside every host (is docker.io installed?)"
done
for img in "${images[@]}"; do
  timeout 30 docker image inspect "$img" >/dev/null 2>&1 || srh_die "image $img is not on the local engine: run \`npm run setup:docker\`"
done

ms() { echo $(($(date +%s%N) / 1000000)); }
t_start=$(ms)

# ---- claim a slot (under the lock, after sweeping dead runs) -------------------------------
mkdir -p "$SRT_HOSTS_ROOT"
# A slot is claimed by creating its slot directory (atomic); claims happen under the lock only.
rid=$(
  exec 9>"$LOCK_FILE"
  flock -w 180 9 || srh_die "timed out after 180 s waiting for $LOCK_FILE"
  bash "$here/sweep.sh" --locked >&2
  for n in $(seq 0 $((SLOT_COUNT - 1))); do
    mkdir "$(slot_dir "$n")" 2>/dev/null || continue
    id=$(new_run_id "$n")
    owner_file=$(printf 'pid=%s\nstart=%s\nlabel=%s\nhosts=%s\ncreated=%s\n' "$owner" "$owner_start" \
      "$label" "${hosts[*]}" "$(date -Is)")
    echo "$owner_file" >"$(slot_dir "$n")/owner"
    echo "$id" >"$(slot_dir "$n")/run"
    mkdir "$(run_dir "$id")"
    echo "$owner_file" >"$(run_dir "$id")/owner"
    echo "$id"
    exit 0
  done
  srh_die "all $SLOT_COUNT slots are in use by live runs (scripts/test-hosts/status.sh lists them)"
)
slot=$(slot_of "$rid")
RUN=$(run_dir "$rid")
log_history "up $rid: claimed for owner $owner ($label: ${hosts[*]})"
echo "RUN_ID=$rid"
done_ok=0
on_exit() {
  if [ "$done_ok" != 1 ]; then
    srh_log "start of $rid failed; removing what was created"
    for h in "${hosts[@]}"; do
      tail -n 20 "$RUN/hosts/$h/log/dockerd.log" 2>/dev/null | sed "s/^/[$h dockerd] /" >&2 || true
      tail -n 5 "$RUN/hosts/$h/log/sshd.log" 2>/dev/null | sed "s/^/[$h sshd] /" >&2 || true
    done
    bash "$here/down.sh" "$rid" >&2 || true
  fi
}
trap on_exit EXIT
trap 'exit 130' INT TERM
srh_log "$rid ($label): hosts ${hosts[*]} on $(slice_cidr "$slot")"

# ---- namespace handles: a private mount so that `unshare --mount=<file>` may bind to it --------
mkdir -p "$RUN/ns"
mount --bind "$RUN/ns" "$RUN/ns"
mount --make-private "$RUN/ns"

# ---- client: key, known_hosts, ssh config and the ssh wrapper the docker CLI runs -----------
C=$RUN/client
mkdir -p "$C/bin" "$C/docker-config"
ssh-keygen -q -t ed25519 -N '' -C "$rid-client" -f "$C/id_ed25519"
: >"$C/known_hosts"
cat >"$C/ssh_config" <<EOF
Host *
  User root
  IdentityFile $C/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $C/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  ConnectTimeout 10
  LogLevel ERROR
EOF
printf '#!/bin/sh\n# ssh with the test run %s configuration (key, known_hosts): the docker CLI runs plain `ssh`\nexec /usr/bin/ssh -F %s "$@"\n' \
  "$rid" "$C/ssh_config" >"$C/bin/ssh"
chmod 0755 "$C/bin/ssh"
echo '{}' >"$C/docker-config/config.json"

# ---- the LAN: a bridge in the switch namespace, the main namespace plugged in ------------
SW=$(switch_ns "$rid")
MAIN_LINK=$(main_link "$rid")
MAIN_ADDR=$(main_addr "$slot")
ip netns add "$SW"
ip -n "$SW" link set lo up
ip -n "$SW" link add br0 type bridge
ip -n "$SW" link set br0 up
ip link add "$MAIN_LINK" type veth peer name uplink netns "$SW"
ip -n "$SW" link set uplink master br0 up
ip addr add "$MAIN_ADDR/28" dev "$MAIN_LINK"
ip link set "$MAIN_LINK" up

# ---- the images every engine gets (nothing can be pulled): saved once, loaded into each ------
timeout 180 docker save -o "$RUN/images.tar" "${images[@]}" &
save_pid=$!

# ---- hosts: namespaces, files, dockerd --------------------------------------------------------
host_addresses=()
i=0
for h in "${hosts[@]}"; do
  addr=$(host_addr "$slot" "$i")
  host_addresses+=("$addr")
  i=$((i + 1))
  H=$RUN/hosts/$h
  NS=$(host_ns "$rid" "$h")
  mkdir -p "$H"/{etc-upper,etc-work,etc-docker,etc-containerd,etc-containers-certs.d,root/.docker,lib-docker,run/sshd,ssh,log,cgkeep}
  chmod 0755 "$H/run/sshd"
  chmod 0700 "$H/root"

  ip netns add "$NS"
  ip -n "$SW" link add "p-$h" type veth peer name eth0 netns "$NS"
  ip -n "$SW" link set "p-$h" master br0 up
  ip -n "$NS" link set lo up
  ip -n "$NS" addr add "$addr/28" dev eth0
  ip -n "$NS" link set eth0 up

  touch "$RUN/ns/$h.mnt" "$RUN/ns/$h.uts"
  # slave: unmounts in the main namespace (`ip netns del` of any run) still reach this namespace,
  # so it never keeps another run's network namespace alive.
  unshare --mount="$RUN/ns/$h.mnt" --uts="$RUN/ns/$h.uts" --propagation slave hostname "$h"
  host_exec "$rid" "$h" sh -ec "
    # sysfs of this network namespace (dockerd reads /sys/class/net), cgroup mounts kept
    mount --rbind /sys/fs/cgroup '$H/cgkeep'
    umount -l /sys
    mount -t sysfs sysfs /sys
    mount --move '$H/cgkeep' /sys/fs/cgroup
    # /etc copy-on-write: what the host writes there stays in etc-upper, never on this machine
    mount -t overlay overlay -o 'lowerdir=/etc,upperdir=$H/etc-upper,workdir=$H/etc-work' /etc
    # the trust and engine configuration directories start empty (not the machine's)
    mkdir -p /etc/docker /etc/containerd /etc/containers/certs.d
    mount --bind '$H/etc-docker' /etc/docker
    mount --bind '$H/etc-containerd' /etc/containerd
    mount --bind '$H/etc-containers-certs.d' /etc/containers/certs.d
    mount --bind '$H/root' /root
    mount --bind '$H/lib-docker' /var/lib/docker
    mount --bind '$H/run' /run
  "

  # The host's own daemon.json (what an administrator would have written); shutdown-timeout
  # bounds how long dockerd waits for containers when the host is stopped.
  cat >"$H/etc-docker/daemon.json" <<EOF
{
  "bip": "$HOST_BRIDGE_CIDR",
  "default-address-pools": [{ "base": "$HOST_POOL_BASE", "size": 28 }],
  "cgroup-parent": "$NS",
  "shutdown-timeout": 2,
  "storage-driver": "overlay2",
  "log-driver": "json-file"
}
EOF
  if [ -f /etc/containerd/config.toml ]; then cp /etc/containerd/config.toml "$H/etc-containerd/config.toml"; fi
  echo '{}' >"$H/root/.docker/config.json"

  start_dockerd "$rid" "$h"
done
t_namespaces=$(ms)

for h in "${hosts[@]}"; do
  wait_until 90 host_docker "$rid" "$h" version ||
    srh_die "dockerd of $h did not answer within 90 s (log: $RUN/hosts/$h/log/dockerd.log)"
done
t_dockerd=$(ms)
wait "$save_pid" || srh_die "docker save ${images[*]} failed"
load_pids=()
for h in "${hosts[@]}"; do
  timeout 180 env DOCKER_CONFIG="$C/docker-config" docker -H "unix://$RUN/hosts/$h/run/docker.sock" \
    load -q -i "$RUN/images.tar" >"$RUN/hosts/$h/log/load.log" 2>&1 &
  load_pids+=($!)
done
for p in "${load_pids[@]}"; do wait "$p" || srh_die "loading images into a host failed (see $RUN/hosts/*/log/load.log)"; done
rm -f "$RUN/images.tar"
t_images=$(ms)

# ---- sshd: own config, own host key, key-only root login ------------------------------------
i=0
for h in "${hosts[@]}"; do
  H=$RUN/hosts/$h
  addr=${host_addresses[$i]}
  i=$((i + 1))
  ssh-keygen -q -t ed25519 -N '' -C "$rid-$h" -f "$H/ssh/ssh_host_ed25519_key"
  cp "$C/id_ed25519.pub" "$H/ssh/authorized_keys"
  cat >"$H/ssh/sshd_config" <<EOF
Port 22
ListenAddress 0.0.0.0
HostKey $H/ssh/ssh_host_ed25519_key
PidFile /run/sshd.pid
AuthorizedKeysFile $H/ssh/authorized_keys
# The keys live under $SRT_HOSTS_ROOT, not in a root-owned 0700 home: StrictModes would refuse them.
StrictModes no
PermitRootLogin prohibit-password
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
  echo "$addr $(cut -d' ' -f1,2 "$H/ssh/ssh_host_ed25519_key.pub")" >>"$C/known_hosts"
  host_exec "$rid" "$h" /usr/sbin/sshd -f "$H/ssh/sshd_config" -E "$H/log/sshd.log" </dev/null >/dev/null 2>&1
done
i=0
for h in "${hosts[@]}"; do
  addr=${host_addresses[$i]}
  i=$((i + 1))
  if ! wait_until 60 "$C/bin/ssh" "root@$addr" true; then
    "$C/bin/ssh" -v "root@$addr" true 2>&1 | tail -n 15 | sed "s/^/[$h ssh -v] /" >&2
    srh_die "sshd of $h ($addr) did not accept the client key within 60 s"
  fi
done
t_sshd=$(ms)

# ---- run.json: everything a test needs (values are validated above: no JSON escaping needed) ---
{
  printf '{\n  "runId": "%s",\n  "slot": %d,\n  "slotDir": "%s",\n  "label": "%s",\n  "runDir": "%s",\n' \
    "$rid" "$slot" "$(slot_dir "$slot")" "$label" "$RUN"
  printf '  "mainAddress": "%s",\n  "subnet": "%s",\n  "switchNetns": "%s",\n  "mainLink": "%s",\n' \
    "$MAIN_ADDR" "$(slice_cidr "$slot")" "$SW" "$MAIN_LINK"
  printf '  "swarmAddressPool": "%s",\n' "$SWARM_POOL_BASE"
  printf '  "client": { "privateKeyPath": "%s", "knownHostsPath": "%s", "sshConfigPath": "%s", "binDir": "%s", "dockerConfigDir": "%s" },\n' \
    "$C/id_ed25519" "$C/known_hosts" "$C/ssh_config" "$C/bin" "$C/docker-config"
  printf '  "timingsMs": { "namespaces": %d, "dockerd": %d, "images": %d, "sshd": %d, "total": %d },\n' \
    $((t_namespaces - t_start)) $((t_dockerd - t_namespaces)) $((t_images - t_dockerd)) $((t_sshd - t_images)) $((t_sshd - t_start))
  printf '  "hosts": [\n'
  i=0
  for h in "${hosts[@]}"; do
    H=$RUN/hosts/$h
    [ "$i" = 0 ] || printf ',\n'
    printf '    { "name": "%s", "address": "%s", "netns": "%s", "dir": "%s", "cgroupParent": "%s",\n' \
      "$h" "${host_addresses[$i]}" "$(host_ns "$rid" "$h")" "$H" "$(host_ns "$rid" "$h")"
    printf '      "mountNamespace": "%s", "utsNamespace": "%s",\n' "$RUN/ns/$h.mnt" "$RUN/ns/$h.uts"
    printf '      "dockerSocket": "%s", "containerdSocket": "%s", "hostKey": "%s",\n' \
      "$H/run/docker.sock" "$H/run/docker/containerd/containerd.sock" "$(cut -d' ' -f1,2 "$H/ssh/ssh_host_ed25519_key.pub")"
    printf '      "dockerdPid": %d, "sshdPid": %d }' "$(cat "$H/run/docker.pid")" "$(cat "$H/run/sshd.pid")"
    i=$((i + 1))
  done
  printf '\n  ]\n}\n'
} >"$RUN/run.json"
done_ok=1
log_history "up $rid: ready"
srh_log "$rid up in $((t_sshd - t_start)) ms (namespaces $((t_namespaces - t_start)), dockerd $((t_dockerd - t_namespaces)), images $((t_images - t_dockerd)), sshd $((t_sshd - t_images)))"
echo "RUN_JSON=$RUN/run.json"
