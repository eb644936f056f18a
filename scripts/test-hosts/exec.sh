#!/usr/bin/env bash
# exec.sh RUN_ID HOST [COMMAND...]   (default COMMAND: an interactive bash)
# Runs COMMAND inside a simulated host (its network, mount and UTS namespaces), for debugging:
#   bash scripts/test-hosts/exec.sh srh07a3f9 h1 docker ps
#   bash scripts/test-hosts/exec.sh srh07a3f9 h1 ctr -a /run/docker/containerd/containerd.sock ns ls
set -euo pipefail
here=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
. "$here/lib.sh"
rid=${1:-}
is_run_id "$rid" || srh_die "usage: exec.sh RUN_ID HOST [COMMAND...]"
host=${2:-}
[ -e "$(run_dir "$rid")/ns/$host.mnt" ] || srh_die "no host '$host' in run $rid (status.sh lists runs and hosts)"
shift 2
[ $# -gt 0 ] || set -- bash
host_exec "$rid" "$host" "$@"
