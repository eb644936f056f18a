#!/usr/bin/env bash
# objstore-up.sh [--owner PID] [--label TEXT] [--listen ADDRESS]... [--bucket NAME]
#
# An S3-compatible object store for tests: single-node Ceph from Debian's packages (one monitor,
# one OSD keeping its data in memory ("memstore"), one radosgw), auth "none" inside the cluster,
# an S3 user with generated keys and one bucket. distribution's s3 driver works against it.
#   * radosgw answers plain HTTP on 127.0.0.1:<port> and on every --listen address (same port),
#     e.g. the docker0 gateway or the main namespace's address on a run of simulated hosts;
#   * the monitor listens on 127.0.0.1:<another port> (msgr2 only); both ports are picked free,
#     so several stores (test files, runs) coexist;
#   * everything lives in $SRT_OBJSTORE_ROOT/os-XXXXXX; nothing is written to /etc/ceph,
#     /var/lib/ceph or /var/log/ceph.
# Before starting, stores whose owner process is dead are removed (objstore-down.sh --dead).
# Output: `STORE_DIR=<dir>` as soon as the directory exists, `STORE_JSON=<dir>/store.json` when the
# bucket exists. On failure everything started is stopped and the directory removed.
set -euo pipefail
here=$(dirname "$(readlink -f "$0")")
# shellcheck source=objstore-lib.sh
. "$here/objstore-lib.sh"

owner=$PPID
label=manual
bucket=registry
listen=(127.0.0.1)
while [ $# -gt 0 ]; do
  case $1 in
    --owner) owner=$2; shift 2 ;;
    --label) label=$2; shift 2 ;;
    --listen) listen+=("$2"); shift 2 ;;
    --bucket) bucket=$2; shift 2 ;;
    *) srh_die "unknown argument $1 (usage: objstore-up.sh [--owner PID] [--label TEXT] [--listen ADDRESS]... [--bucket NAME])" ;;
  esac
done
[ "$(id -u)" = 0 ] || srh_die "must run as root"
for cmd in ceph ceph-mon ceph-osd radosgw radosgw-admin ceph-authtool monmaptool curl openssl ss flock; do
  command -v "$cmd" >/dev/null || srh_die "'$cmd' not found: run \`npm run setup:docker\` (scripts/test-hosts/setup.sh)"
done
[[ $label =~ ^[A-Za-z0-9._-]{1,40}$ ]] || srh_die "label must be 1-40 of [A-Za-z0-9._-], got '$label'"
[[ $bucket =~ ^[a-z0-9][a-z0-9-]{2,62}$ ]] || srh_die "bucket must be 3-63 of [a-z0-9-], got '$bucket'"
# (Output captured before matching: with pipefail, `cmd | grep -q` fails when grep exits early.)
addresses=$(ip -o -4 addr show)
for a in "${listen[@]}"; do
  [[ $a =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || srh_die "--listen takes an IPv4 address, got '$a'"
  [[ $addresses == *" inet $a/"* ]] || [ "$a" = 127.0.0.1 ] || srh_die "--listen $a is not an address of this machine"
done
mapfile -t listen < <(printf '%s\n' "${listen[@]}" | awk '!seen[$0]++')
[[ $owner =~ ^[0-9]+$ ]] && owner_start=$(proc_start "$owner") || srh_die "owner pid '$owner' is not a running process"

ms() { echo $(($(date +%s%N) / 1000000)); }
t_start=$(ms)
mkdir -p "$SRT_OBJSTORE_ROOT"
C=$(
  exec 9>"$OBJSTORE_LOCK"
  flock -w 120 9 || srh_die "timed out after 120 s waiting for $OBJSTORE_LOCK"
  bash "$here/objstore-down.sh" --dead --locked >&2
  d=$(mktemp -d "$SRT_OBJSTORE_ROOT/os-XXXXXX")
  printf 'pid=%s\nstart=%s\nlabel=%s\ncreated=%s\n' "$owner" "$owner_start" "$label" "$(date -Is)" >"$d/owner"
  echo "$d"
)
echo "STORE_DIR=$C"
done_ok=0
on_exit() {
  if [ "$done_ok" != 1 ]; then
    srh_log "object store start failed; last log lines:"
    tail -n 15 "$C"/log/*.log 2>/dev/null >&2 || true
    objstore_down "$C"
  fi
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# A TCP port nobody listens on now (the daemons bind it a moment later; a collision fails loudly).
free_port() {
  local p i
  for i in $(seq 1 50); do
    p=$((20000 + RANDOM % 12000))
    [ -z "$(ss -Htln "( sport = :$p )")" ] && echo "$p" && return 0
  done
  srh_die "no free port found"
}
MON_PORT=$(free_port)
RGW_PORT=$(free_port)
[ "$MON_PORT" != "$RGW_PORT" ] || RGW_PORT=$(free_port)
FSID=$(cat /proc/sys/kernel/random/uuid)
mkdir -p "$C"/{run,log,mon,osd/ceph-0,rgw,crash}
chmod 0700 "$C"
endpoints=""
for a in "${listen[@]}"; do endpoints+=" endpoint=$a:$RGW_PORT"; done

cat >"$C/ceph.conf" <<EOF
[global]
fsid = $FSID
mon initial members = a
mon host = [v2:127.0.0.1:$MON_PORT]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
# With auth "none" only the crc mode exists; daemons of type client (radosgw) default to
# "secure" towards the monitor and would retry forever (get_initial_auth_request returned -13).
ms mon client mode = crc secure
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
run dir = $C/run
admin socket = $C/run/\$name.asok
pid file = $C/run/\$name.pid
log file = $C/log/\$name.log
crash dir = $C/crash
keyring = $C/keyring
mon data = $C/mon/\$cluster-\$id
osd data = $C/osd/\$cluster-\$id
osd objectstore = memstore
memstore device bytes = 1073741824
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
[client.rgw.srt]
rgw frontends = beast$endpoints
rgw data = $C/rgw
# radosgw daemonizes only once it is connected: bound how long that may take.
rgw init timeout = 120
EOF
CEPH=(ceph --conf "$C/ceph.conf" --connect-timeout 10)

# Monitor.
ceph-authtool --create-keyring "$C/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool "$C/keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
monmaptool --create --addv a "[v2:127.0.0.1:$MON_PORT]" --fsid "$FSID" "$C/monmap" >/dev/null
timeout 60 ceph-mon --conf "$C/ceph.conf" --mkfs -i a --monmap "$C/monmap" --keyring "$C/keyring" >>"$C/log/setup.log" 2>&1
# The daemons fork into the background once initialised; `&` so that one that never finishes
# initialising cannot block this script (the bounded waits below notice it).
ceph-mon --conf "$C/ceph.conf" -i a </dev/null >>"$C/log/setup.log" 2>&1 &
# OSD: registered with the monitor (which also proves the monitor answers), then its store made;
# its data directory must exist before --mkfs.
osd_uuid=$(cat /proc/sys/kernel/random/uuid)
timeout 60 "${CEPH[@]}" osd new "$osd_uuid" >>"$C/log/setup.log" 2>&1 || srh_die "the monitor did not register the OSD within 60 s"
timeout 60 ceph-osd --conf "$C/ceph.conf" -i 0 --mkfs --osd-uuid "$osd_uuid" >>"$C/log/setup.log" 2>&1
ceph-osd --conf "$C/ceph.conf" -i 0 </dev/null >>"$C/log/setup.log" 2>&1 &
osd_up() { [[ $(timeout 10 "${CEPH[@]}" osd stat -f json 2>/dev/null) == *'"num_up_osds":1'* ]]; }
wait_until 90 osd_up || srh_die "osd.0 not up within 90 s"
t_cluster=$(ms)

# Gateway (creates its pools on first start, the slow part).
radosgw --conf "$C/ceph.conf" -n client.rgw.srt </dev/null >>"$C/log/setup.log" 2>&1 &
rgw_answers() { curl -s -o /dev/null -m 2 "http://127.0.0.1:$RGW_PORT/"; }
wait_until 120 rgw_answers || srh_die "radosgw did not answer on 127.0.0.1:$RGW_PORT within 120 s"
t_rgw=$(ms)

# S3 user and bucket. curl's --aws-sigv4 does not send x-amz-content-sha256 and radosgw then
# refuses the signature: send it (the SHA-256 of an empty body).
access_key=$(openssl rand -hex 10 | tr a-f A-F)
secret_key=$(openssl rand -hex 20)
timeout 60 radosgw-admin --conf "$C/ceph.conf" user create --uid srt --display-name "srt test ($label)" \
  --access-key "$access_key" --secret-key "$secret_key" >/dev/null || srh_die "radosgw-admin user create failed"
region=us-east-1
status=$(curl -s -o "$C/log/bucket.out" -w '%{http_code}' -m 30 -X PUT \
  --aws-sigv4 "aws:amz:$region:s3" -u "$access_key:$secret_key" \
  -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
  "http://127.0.0.1:$RGW_PORT/$bucket")
[ "$status" = 200 ] || srh_die "creating bucket $bucket answered HTTP $status: $(cat "$C/log/bucket.out")"
t_done=$(ms)

{
  printf '{\n  "dir": "%s",\n  "label": "%s",\n  "endpoint": "http://127.0.0.1:%d",\n' "$C" "$label" "$RGW_PORT"
  printf '  "endpoints": [%s],\n' "$(for a in "${listen[@]}"; do printf '"http://%s:%d"\n' "$a" "$RGW_PORT"; done | paste -sd, -)"
  printf '  "port": %d,\n  "monitorPort": %d,\n  "region": "%s",\n  "bucket": "%s",\n' "$RGW_PORT" "$MON_PORT" "$region" "$bucket"
  printf '  "accessKey": "%s",\n  "secretKey": "%s",\n  "conf": "%s",\n' "$access_key" "$secret_key" "$C/ceph.conf"
  printf '  "pids": { "mon": %d, "osd": %d, "rgw": %d },\n' "$(cat "$C/run/mon.a.pid")" "$(cat "$C/run/osd.0.pid")" "$(cat "$C/run/client.rgw.srt.pid")"
  printf '  "timingsMs": { "cluster": %d, "gateway": %d, "userAndBucket": %d, "total": %d }\n}\n' \
    $((t_cluster - t_start)) $((t_rgw - t_cluster)) $((t_done - t_rgw)) $((t_done - t_start))
} >"$C/store.json"
chmod 0600 "$C/store.json"
done_ok=1
srh_log "object store $C up in $((t_done - t_start)) ms: http://127.0.0.1:$RGW_PORT bucket $bucket"
echo "STORE_JSON=$C/store.json"
