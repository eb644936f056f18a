#!/usr/bin/env bash
# status.sh: the runs of simulated hosts on this machine (owner alive or not, label, hosts and
# addresses) and anything named after the run prefix that would be a leftover.
set -uo pipefail
here=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
. "$here/lib.sh"

found=0
for slot in $(seq 0 $((SLOT_COUNT - 1))); do
  dir=$(run_dir "$slot")
  [ -d "$dir" ] || continue
  found=1
  state="owner DEAD (sweep.sh removes it)"
  owner_alive "$dir" && state="owner alive"
  printf '%s  %s  %s  %s  pid=%s label=%s hosts=%s\n' "$(run_id "$slot")" "$(slice_cidr "$slot")" \
    "main=$(main_addr "$slot")" "$state" "$(sed -n 's/^pid=//p' "$dir/owner" 2>/dev/null)" \
    "$(sed -n 's/^label=//p' "$dir/owner" 2>/dev/null)" "$(sed -n 's/^hosts=//p' "$dir/owner" 2>/dev/null)"
done
[ "$found" = 1 ] || echo "no runs under $SRT_HOSTS_ROOT"
echo "-- network namespaces: $(ip netns list | awk '{print $1}' | grep -E "^$SRT_HOSTS_PREFIX[0-9]{2}[-_]" | tr '\n' ' ')"
echo "-- main links: $(ip -br link | awk '{print $1}' | grep -E "^$SRT_HOSTS_PREFIX[0-9]{2}-lan" | tr '\n' ' ')"
echo "-- cgroups: $(compgen -G "/sys/fs/cgroup/*/$SRT_HOSTS_PREFIX[0-9][0-9]-*" | tr '\n' ' ')"
echo "-- mounts: $(grep -c " $SRT_HOSTS_ROOT/" /proc/self/mountinfo)"
