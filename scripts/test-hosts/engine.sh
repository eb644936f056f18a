#!/usr/bin/env bash
# engine.sh RUN_ID HOST stop|start|restart|reload
# Controls one simulated host's dockerd, e.g. to test what happens when a node's engine is lost:
#   stop     SIGTERM (dockerd stops its containers and its containerd), bounded wait, then SIGKILL
#   start    start it again with the host's own configuration and data; wait until it answers
#   reload   SIGHUP: dockerd re-reads the reloadable parts of /etc/docker/daemon.json
set -euo pipefail
here=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
. "$here/lib.sh"
rid=${1:-}
is_run_id "$rid" || srh_die "usage: engine.sh RUN_ID HOST stop|start|restart|reload"
host=${2:-}
H=$(run_dir "$rid")/hosts/$host
[ -e "$(run_dir "$rid")/ns/$host.mnt" ] || srh_die "no host '$host' in run $rid"

# The pid in the host's pidfile, if that process runs inside this host's mount namespace.
dockerd_pid() {
  local pid
  pid=$(cat "$H/run/docker.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] && running "$pid" &&
    [ "$(stat -L -c %i "/proc/$pid/ns/mnt" 2>/dev/null)" = "$(stat -L -c %i "$(run_dir "$rid")/ns/$host.mnt")" ] &&
    echo "$pid"
}
stop() {
  local pid
  pid=$(dockerd_pid) || return 0
  kill -TERM "$pid"
  wait_until 30 not running "$pid" || { srh_log "dockerd $pid of $host did not stop in 30 s, SIGKILL"; kill -KILL "$pid"; }
  wait_until 10 not running "$pid" || srh_die "dockerd $pid of $host survived SIGKILL"
}
start() {
  dockerd_pid >/dev/null && return 0
  start_dockerd "$rid" "$host"
  wait_until 90 host_docker "$rid" "$host" version || srh_die "dockerd of $host did not answer within 90 s (log: $H/log/dockerd.log)"
}
case ${3:-} in
  stop) stop ;;
  start) start ;;
  restart) stop; start ;;
  reload) pid=$(dockerd_pid) || srh_die "dockerd of $host is not running"; kill -HUP "$pid" ;;
  *) srh_die "usage: engine.sh RUN_ID HOST stop|start|restart|reload" ;;
esac
