# lib.sh: names, addresses and helpers shared by the simulated-remote-host scripts.
# Sourced by up.sh, down.sh, sweep.sh, exec.sh, engine.sh and status.sh; not run on its own.
#
# A "run" is one set of hosts started together (one startTestHosts() call). A run claims a slot
# 0..15 under a lock (its addresses) and gets a run id `<prefix><slot><4 hex>` (default prefix
# "srh", e.g. srh07a3f9) that every name it creates carries, so two runs never collide, and a run
# that reuses a slot right after another does not share a single name with it. Leftovers are
# found by name:
#   slot directory      $SRT_HOSTS_ROOT/<prefix><slot>/ (owner, run id: the claim on the slot)
#   run directory       $SRT_HOSTS_ROOT/<run id>/ (owner, keys, logs, each host's files)
#   network namespaces  <run id>-<host> (one per host), <run id>_sw (the LAN "switch": bridge br0)
#   main-namespace link <run id>-lan (veth into the switch; carries the main namespace's address)
#   cgroup parent       <run id>-<host> (dockerd's containers, /sys/fs/cgroup/<controller>/...)
#   addresses           the slot's /28 of $SRT_HOSTS_LAN.0/24: .16*slot+1 = main namespace,
#                       .16*slot+2 ... +14 = the hosts, in the order they were named
# Host names: [a-z][a-z0-9]{0,7}. (Linux interface names have at most 15 characters: the main
# link's is 13; the others live inside the namespaces under fixed short names.)

SRT_HOSTS_ROOT=${SRT_HOSTS_ROOT:-/var/tmp/srt-hosts}
SRT_HOSTS_PREFIX=${SRT_HOSTS_PREFIX:-srh}
SRT_HOSTS_LAN=${SRT_HOSTS_LAN:-198.51.100}
SLOT_COUNT=16
MAX_HOSTS=13
LOCK_FILE=$SRT_HOSTS_ROOT/.lock
# Docker's own networks inside every host (each host is its own network namespace, so all hosts
# may use the same ranges): docker0, user-defined networks, swarm overlays.
HOST_BRIDGE_CIDR=203.0.113.1/26
HOST_POOL_BASE=203.0.113.64/26
SWARM_POOL_BASE=203.0.113.128/25

# log_history "message": one line in $SRT_HOSTS_ROOT/history.log (who started / stopped / swept
# what, for debugging a leftover), kept to its last 500 lines.
log_history() {
  local file=$SRT_HOSTS_ROOT/history.log caller
  caller=$(tr '\0' ' ' <"/proc/$PPID/cmdline" 2>/dev/null | cut -c1-120)
  mkdir -p "$SRT_HOSTS_ROOT"
  printf '%s %s [pid %s, parent %s: %s]\n' "$(date -Is)" "$1" "$$" "$PPID" "$caller" >>"$file"
  if [ "$(wc -l <"$file")" -gt 1000 ]; then
    tail -n 500 "$file" >"$file.tmp.$$" && mv "$file.tmp.$$" "$file"
  fi
}

srh_log() { printf '[test-hosts %s] %s\n' "$(date +%T.%3N)" "$*" >&2; }
srh_die() {
  srh_log "ERROR: $*"
  exit 1
}

[[ $SRT_HOSTS_PREFIX =~ ^[a-z]{1,4}$ ]] || srh_die "SRT_HOSTS_PREFIX must be 1-4 lowercase letters, got '$SRT_HOSTS_PREFIX'"
[[ $SRT_HOSTS_LAN =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || srh_die "SRT_HOSTS_LAN must be the first three octets of a /24, got '$SRT_HOSTS_LAN'"
[[ $SRT_HOSTS_ROOT =~ ^/[A-Za-z0-9._/-]+$ ]] || srh_die "SRT_HOSTS_ROOT must be an absolute path of [A-Za-z0-9._/-], got '$SRT_HOSTS_ROOT'"

# new_run_id SLOT: a fresh run id for that slot.
new_run_id() { printf '%s%02d%s' "$SRT_HOSTS_PREFIX" "$1" "$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')"; }
# Run ids: <prefix><slot><4 hex>. The first version of these scripts used <prefix><slot> alone;
# such runs may still be around, started by an older checkout, and are recognised (and swept when
# their owner is dead) the same way.
RUN_ID_PATTERN="^${SRT_HOSTS_PREFIX}([0-9]{2})([0-9a-f]{4})?\$"
is_run_id() { [[ $1 =~ $RUN_ID_PATTERN ]] && ((10#${BASH_REMATCH[1]} < SLOT_COUNT)); }
# slot_of RUN_ID -> the slot number (fails for anything that is not a run id)
slot_of() {
  is_run_id "$1" || return 1
  echo $((10#${BASH_REMATCH[1]}))
}
# The slot directory $SRT_HOSTS_ROOT/<prefix><slot>: created (mkdir, under the lock) to claim the
# slot, holds the claiming run's `owner` file and `run` (its id); removed last by down.sh. (An
# older checkout used this very path as its run directory, so it sees the slot as taken too.)
slot_dir() { printf '%s/%s%02d' "$SRT_HOSTS_ROOT" "$SRT_HOSTS_PREFIX" "$1"; }
run_dir() { printf '%s/%s' "$SRT_HOSTS_ROOT" "$1"; }
switch_ns() { printf '%s_sw' "$1"; }
main_link() { printf '%s-lan' "$1"; }
host_ns() { printf '%s-%s' "$1" "$2"; }
main_addr() { printf '%s.%d' "$SRT_HOSTS_LAN" $(($1 * 16 + 1)); }
host_addr() { printf '%s.%d' "$SRT_HOSTS_LAN" $(($1 * 16 + 2 + $2)); }
slice_cidr() { printf '%s.%d/28' "$SRT_HOSTS_LAN" $(($1 * 16)); }
# Run directories and slot directories on this machine (any state).
run_dirs() { compgen -G "$SRT_HOSTS_ROOT/${SRT_HOSTS_PREFIX}[0-9][0-9][0-9a-f][0-9a-f][0-9a-f][0-9a-f]"; }
slot_dirs() { compgen -G "$SRT_HOSTS_ROOT/${SRT_HOSTS_PREFIX}[0-9][0-9]"; }

# Start time of a process (clock ticks since boot, field 22 of /proc/PID/stat): with the pid it
# identifies a process even after its pid is reused. The command name (field 2) may hold spaces
# and parentheses, so count fields after its closing parenthesis.
proc_start() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  # shellcheck disable=SC2086
  set -- $stat
  echo "${20}"
}

# running PID: the process exists and is not a zombie (this machine's init reaps its orphans
# only every second or two, so `kill -0` would report a stopped daemon as running meanwhile).
running() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# owner_alive DIR: true while the process recorded in DIR/owner still runs (a zombie does not).
owner_alive() {
  local pid start
  [ -f "$1/owner" ] || return 1
  pid=$(sed -n 's/^pid=//p' "$1/owner")
  start=$(sed -n 's/^start=//p' "$1/owner")
  [ -n "$pid" ] && [ -n "$start" ] && [ "$(proc_start "$pid")" = "$start" ] && running "$pid"
}

# wait_until SECONDS CMD...: poll CMD (quietly) every 0.2 s until it succeeds; bounded.
wait_until() {
  local limit=$1 deadline
  shift
  deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# Run a command inside host $2 of run $1: its network, mount and UTS namespaces.
host_exec() {
  local rid=$1 host=$2 dir
  shift 2
  dir=$(run_dir "$rid")
  nsenter --net="/run/netns/$(host_ns "$rid" "$host")" --mount="$dir/ns/$host.mnt" \
    --uts="$dir/ns/$host.uts" -- "$@"
}

# Start host $2's dockerd in the background, with the paths the host sees as standard ones.
# setsid -f: it outlives the caller and keeps none of the caller's descriptors (its output goes to
# the host's log), so a caller reading our output is not kept waiting.
start_dockerd() {
  local rid=$1 host=$2
  host_exec "$rid" "$host" setsid -f dockerd --data-root /var/lib/docker --exec-root /var/run/docker \
    --pidfile /var/run/docker.pid -H unix:///var/run/docker.sock --config-file /etc/docker/daemon.json \
    </dev/null >>"$(run_dir "$rid")/hosts/$host/log/dockerd.log" 2>&1
}

# The docker CLI against host $2's dockerd through its socket (visible from the main namespace),
# with the run's own client configuration (never ~/.docker).
host_docker() {
  local rid=$1 host=$2 dir
  shift 2
  dir=$(run_dir "$rid")
  DOCKER_CONFIG="$dir/client/docker-config" docker -H "unix://$dir/hosts/$host/run/docker.sock" "$@"
}

not() { ! "$@"; }
