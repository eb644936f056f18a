# objstore-lib.sh: shared by objstore-up.sh and objstore-down.sh (sourced, not run).
# Every object store lives in its own directory $SRT_OBJSTORE_ROOT/os-XXXXXX (config, monitor
# data, pid files, logs, an `owner` file); its daemons are started with `--conf <that dir>/ceph.conf`,
# which is how a process is proven to be one of them before it is killed.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SRT_OBJSTORE_ROOT=${SRT_OBJSTORE_ROOT:-/var/tmp/srt-objstore}
[[ $SRT_OBJSTORE_ROOT =~ ^/[A-Za-z0-9._/-]+$ ]] || srh_die "SRT_OBJSTORE_ROOT must be an absolute path of [A-Za-z0-9._/-]"
OBJSTORE_LOCK=$SRT_OBJSTORE_ROOT/.lock
# Daemons in stop order: the gateway first, the monitor last.
OBJSTORE_DAEMONS=(client.rgw.srt osd.0 mon.a)

# Pids of processes whose command line names store directory $1's ceph.conf.
objstore_pids() {
  local f pid
  # -z: the arguments are NUL-separated; -x: one argument is exactly the path
  for f in $(grep -lzxF -- "$1/ceph.conf" /proc/[0-9]*/cmdline 2>/dev/null); do
    pid=${f#/proc/}
    pid=${pid%/cmdline}
    running "$pid" && echo "$pid"
  done
  return 0
}

# Stops every daemon of store directory $1 (pid files first, then anything else still naming its
# config), bounded, and removes the directory. Safe to run twice.
objstore_down() {
  local dir=$1 name pid left
  [ -d "$dir" ] || return 0
  for name in "${OBJSTORE_DAEMONS[@]}"; do
    pid=$(cat "$dir/run/$name.pid" 2>/dev/null) || continue
    [[ $pid =~ ^[0-9]+$ ]] || continue
    [[ $'\n'$(objstore_pids "$dir")$'\n' == *$'\n'$pid$'\n'* ]] || continue
    kill -TERM "$pid" 2>/dev/null
    wait_until 15 not running "$pid" || { srh_log "$name ($pid) still running after 15 s, SIGKILL"; kill -KILL "$pid" 2>/dev/null; }
  done
  for _ in 1 2 3 4 5; do
    mapfile -t left < <(objstore_pids "$dir")
    [ "${#left[@]}" -eq 0 ] && break
    kill -KILL "${left[@]}" 2>/dev/null
    sleep 0.3
  done
  rm -rf "$dir"
}
