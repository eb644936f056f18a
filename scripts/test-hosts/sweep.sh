#!/usr/bin/env bash
# sweep.sh [--locked]
#
# Removes the leftovers of runs whose owner process is dead (a test run killed before its
# teardown): for every slot, a run directory whose `owner` pid (checked with its start time, so a
# reused pid does not count) no longer runs, or namespaces / links / cgroups named after a slot
# that has no run directory at all. Runs whose owner is alive are never touched.
# up.sh calls it (with --locked, under the lock it already holds) before claiming a slot.
set -uo pipefail
here=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
. "$here/lib.sh"

[ "$(id -u)" = 0 ] || srh_die "must run as root"
if [ "${1:-}" != --locked ]; then
  mkdir -p "$SRT_HOSTS_ROOT"
  exec 9>"$LOCK_FILE"
  flock -w 180 9 || srh_die "timed out after 180 s waiting for $LOCK_FILE"
fi

# Names on the machine that look like a run's (listed once; matched per slot below).
mapfile -t present < <(
  ip netns list 2>/dev/null | awk '{print $1}'
  ip -o link show 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'
  for c in /sys/fs/cgroup/*/"$SRT_HOSTS_PREFIX"[0-9][0-9]-*; do [ -d "$c" ] && basename "$c"; done
)
# Anything named after slot $1 (run id followed by - or _)?
has_leftovers() {
  local rid name
  rid=$(run_id "$1")
  for name in "${present[@]}"; do
    [[ $name == "$rid"[-_]* ]] && return 0
  done
  return 1
}

for slot in $(seq 0 $((SLOT_COUNT - 1))); do
  dir=$(run_dir "$slot")
  if [ -d "$dir" ]; then
    owner_alive "$dir" && continue
    srh_log "sweeping $(run_id "$slot"): owner gone ($(tr '\n' ' ' <"$dir/owner" 2>/dev/null))"
  else
    has_leftovers "$slot" || continue
    srh_log "sweeping $(run_id "$slot"): leftovers without a run directory"
  fi
  bash "$here/down.sh" "$(run_id "$slot")"
done
exit 0
