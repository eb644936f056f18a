#!/usr/bin/env bash
# status.sh: the runs of simulated hosts on this machine (owner alive or not, label, hosts and
# addresses) and anything named like a run that would be a leftover.
set -uo pipefail
here=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
. "$here/lib.sh"

found=0
while read -r dir; do
  [ -n "$dir" ] || continue
  found=1
  id=$(basename "$dir")
  slot=$(slot_of "$id")
  state="owner DEAD (sweep.sh removes it)"
  owner_alive "$dir" && state="owner alive"
  kind=run
  [ "$dir" = "$(slot_dir "$slot")" ] && kind="slot (run $(cat "$dir/run" 2>/dev/null || echo "$id, first version"))"
  printf '%-10s %s  %s  %s  %s  pid=%s label=%s hosts=%s\n' "$id" "$kind" "$(slice_cidr "$slot")" \
    "main=$(main_addr "$slot")" "$state" "$(sed -n 's/^pid=//p' "$dir/owner" 2>/dev/null)" \
    "$(sed -n 's/^label=//p' "$dir/owner" 2>/dev/null)" "$(sed -n 's/^hosts=//p' "$dir/owner" 2>/dev/null)"
done < <(slot_dirs; run_dirs)
[ "$found" = 1 ] || echo "no runs under $SRT_HOSTS_ROOT"
pattern="^$SRT_HOSTS_PREFIX[0-9]{2}([0-9a-f]{4})?[-_]"
echo "-- network namespaces: $(ip netns list | awk '{print $1}' | grep -E "$pattern" | tr '\n' ' ')"
echo "-- main links: $(ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | grep -E "$pattern" | tr '\n' ' ')"
echo "-- cgroups: $(compgen -G "/sys/fs/cgroup/*/$SRT_HOSTS_PREFIX[0-9][0-9]*-*" | tr '\n' ' ')"
echo "-- mounts under $SRT_HOSTS_ROOT: $(grep -c " $SRT_HOSTS_ROOT/" /proc/self/mountinfo)"
