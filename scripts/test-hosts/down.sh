#!/usr/bin/env bash
# down.sh RUN_ID   (e.g. srh07a3f9; `status.sh` lists runs)
#
# Removes everything up.sh created for that run: the hosts' processes (sshd, dockerd, containerd,
# shims, containers, ssh sessions), their cgroup directories, mount and UTS namespace handles,
# network namespaces, the switch namespace and the main-namespace link, and the run directory.
# Works from names (lib.sh), so it also cleans a half-started run or one whose directory is gone.
# Safe to run twice and at any time; a run that is not there is a no-op.
# Kills only processes proven to belong to the run's hosts (their mount or network namespace, or
# a cgroup under the host's cgroup parent), by pid; never the main dockerd or anything else.
set -uo pipefail
here=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
. "$here/lib.sh"

rid=${1:-}
slot=$(slot_of "$rid") || srh_die "usage: down.sh RUN_ID (${SRT_HOSTS_PREFIX}<slot><4 hex>, e.g. ${SRT_HOSTS_PREFIX}07a3f9; status.sh lists them)"
[ "$(id -u)" = 0 ] || srh_die "must run as root"
RUN=$(run_dir "$rid")
SW=$(switch_ns "$rid")
log_history "down $rid: start"

# Host names: from the run directory, the network namespaces and the cgroup directories.
mapfile -t hosts < <(
  {
    ls "$RUN/hosts" 2>/dev/null
    ip netns list 2>/dev/null | awk '{print $1}' | sed -n "s/^$rid-//p"
    for c in /sys/fs/cgroup/*/"$rid"-*; do [ -d "$c" ] && basename "$c" | sed "s/^$rid-//"; done
  } | grep -E '^[a-z][a-z0-9]{0,7}$' | sort -u
)

is_nsfs() { [ "$(stat -f -c %T "$1" 2>/dev/null)" = nsfs ]; }

# Pids that belong to host $1: in its mount namespace, in its network namespace, or in a cgroup
# under its cgroup parent (containers have namespaces of their own but live in those cgroups).
host_pids() {
  local h=$1 handle=$RUN/ns/$1.mnt
  if is_nsfs "$handle"; then
    # one stat over every process: the inode of the namespace each one is in
    stat -L -c '%i %n' /proc/[0-9]*/ns/mnt 2>/dev/null |
      awk -v ns="$(stat -L -c %i "$handle")" '$1 == ns { split($2, p, "/"); print p[3] }'
  fi
  ip netns pids "$rid-$h" 2>/dev/null
  find /sys/fs/cgroup/*/"$rid-$h" -name cgroup.procs -exec cat {} + 2>/dev/null
}

# stop_pidfile HOST FILE SECONDS: SIGTERM the pid in FILE if it belongs to HOST, wait (bounded), SIGKILL.
stop_pidfile() {
  local h=$1 file=$2 limit=$3 pid
  pid=$(cat "$file" 2>/dev/null) || return 0
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  # (not `host_pids | grep -q`: with pipefail, grep's early exit fails the pipeline)
  [[ $'\n'$(host_pids "$h")$'\n' == *$'\n'$pid$'\n'* ]] || return 0
  kill -TERM "$pid" 2>/dev/null
  wait_until "$limit" not running "$pid" || {
    srh_log "$rid-$h: pid $pid ($(basename "$file")) still running after ${limit}s, SIGKILL"
    kill -KILL "$pid" 2>/dev/null
  }
}

for h in "${hosts[@]}"; do
  H=$RUN/hosts/$h
  # sshd first (no new sessions), then dockerd: SIGTERM lets it stop its containers (bounded by
  # its shutdown-timeout) and its containerd.
  stop_pidfile "$h" "$H/run/sshd.pid" 5
  stop_pidfile "$h" "$H/run/docker.pid" 20
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    mapfile -t left < <(host_pids "$h" | sort -un | grep -vx -e "$$" -e "${BASHPID:-$$}")
    [ "${#left[@]}" -eq 0 ] && break
    [ "$attempt" = 1 ] && srh_log "$rid-$h: killing leftover pids ${left[*]}"
    kill -KILL "${left[@]}" 2>/dev/null
    sleep 0.3
  done
  # Container cgroups (<controller>/<run>-<host>/<id>), deepest first; a cgroup whose last
  # process just died may need a moment before rmdir succeeds.
  for c in /sys/fs/cgroup/*/"$rid-$h"; do
    [ -d "$c" ] || continue
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
      find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
      [ -d "$c" ] || break
      sleep 0.3
    done
    [ -d "$c" ] && srh_log "WARNING: could not remove cgroup $c"
  done
  # Dropping the handles frees the mount namespace (with every mount dockerd made inside it) and
  # the UTS namespace, now that no process is left in them.
  for f in "$RUN/ns/$h.mnt" "$RUN/ns/$h.uts"; do
    # (umount(8) can miss a mount while other mounts on the machine change: check, then detach)
    if is_nsfs "$f" && ! umount "$f" 2>/dev/null && is_nsfs "$f"; then umount -l "$f"; fi
    rm -f "$f"
  done
  ip netns del "$rid-$h" 2>/dev/null
done

# The LAN: deleting the switch namespace removes the bridge and every host's switch port; the
# main link's peer is there too, so the main link goes with it (deleted explicitly if not).
ip netns del "$SW" 2>/dev/null
ip link del "$(main_link "$rid")" 2>/dev/null

if mountpoint -q "$RUN/ns"; then umount "$RUN/ns"; fi
if [ -d "$RUN" ]; then
  if grep -q " $RUN[/ ]" /proc/self/mountinfo; then
    srh_log "WARNING: mounts remain under $RUN, not deleting it:"
    grep " $RUN[/ ]" /proc/self/mountinfo >&2
    log_history "down $rid: FAILED, mounts remain"
    exit 1
  fi
  rm -rf "$RUN"
fi
# Release the slot last, if this run holds it (a run id of the first version is its slot's name,
# and its run directory was the slot directory: removed above).
SLOT_DIR=$(slot_dir "$slot")
if [ "$SLOT_DIR" != "$RUN" ] && [ "$(cat "$SLOT_DIR/run" 2>/dev/null)" = "$rid" ]; then
  rm -rf "$SLOT_DIR"
fi
log_history "down $rid: done"
exit 0
