#!/usr/bin/env bash
# sweep.sh [--locked]
#
# Removes the leftovers of runs whose owner process is dead (a test run killed before its
# teardown): every run directory whose `owner` pid (checked with its start time, so a reused pid
# does not count) no longer runs, and every run id found in namespace, link or cgroup names that
# has no run directory at all. Runs whose owner is alive are never touched.
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

# Run ids to sweep, in order (a run before the slot it holds), with the reason.
order=()
declare -A reason=()
add() {
  is_run_id "$1" || return 0
  [ -n "${reason[$1]:-}" ] && return 0
  order+=("$1")
  reason[$1]=$2
}

while read -r dir; do
  [ -n "$dir" ] && ! owner_alive "$dir" || continue
  why="owner gone ($(tr '\n' ' ' <"$dir/owner" 2>/dev/null))"
  add "$(cat "$dir/run" 2>/dev/null)" "$why"
  add "$(basename "$dir")" "$why" # a first-version run, or only the slot directory left
done < <(slot_dirs)
while read -r dir; do
  [ -n "$dir" ] && ! owner_alive "$dir" || continue
  add "$(basename "$dir")" "owner gone ($(tr '\n' ' ' <"$dir/owner" 2>/dev/null))"
done < <(run_dirs)

# Run ids in names on the machine (<run id>-<host>, <run id>_sw, <run id>-lan, cgroups) that
# have no directory at all.
while read -r name; do
  [[ $name =~ ^(${SRT_HOSTS_PREFIX}[0-9]{2}([0-9a-f]{4})?)[-_] ]] || continue
  rid=${BASH_REMATCH[1]}
  [ -d "$(run_dir "$rid")" ] || add "$rid" "leftovers without a run directory"
done < <(
  ip netns list 2>/dev/null | awk '{print $1}'
  ip -o link show 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'
  for c in /sys/fs/cgroup/*/"$SRT_HOSTS_PREFIX"[0-9][0-9]*; do [ -d "$c" ] && basename "$c"; done
)

for rid in "${order[@]}"; do
  srh_log "sweeping $rid: ${reason[$rid]}"
  bash "$here/down.sh" "$rid"
done
exit 0
