#!/usr/bin/env bash
# objstore-down.sh STORE_DIR      stop one object store (objstore-up.sh) and remove its directory
# objstore-down.sh --dead         the same for every store whose owner process is dead
# objstore-down.sh --all          every store under $SRT_OBJSTORE_ROOT (by hand, when no tests run)
# Kills only processes started with that store's `--conf <dir>/ceph.conf`, by pid. Safe to run twice.
set -uo pipefail
here=$(dirname "$(readlink -f "$0")")
# shellcheck source=objstore-lib.sh
. "$here/objstore-lib.sh"
[ "$(id -u)" = 0 ] || srh_die "must run as root"

mode=${1:-}
if [ "${2:-}" != --locked ] && [ "$mode" != "" ] && [ "${mode#--}" != "$mode" ]; then
  mkdir -p "$SRT_OBJSTORE_ROOT"
  exec 9>"$OBJSTORE_LOCK"
  flock -w 120 9 || srh_die "timed out after 120 s waiting for $OBJSTORE_LOCK"
fi
case $mode in
  --dead | --all)
    for d in "$SRT_OBJSTORE_ROOT"/os-*; do
      [ -d "$d" ] || continue
      [ "$mode" = --dead ] && owner_alive "$d" && continue
      srh_log "removing object store $d ($(tr '\n' ' ' <"$d/owner" 2>/dev/null))"
      objstore_down "$d"
    done
    ;;
  "") srh_die "usage: objstore-down.sh STORE_DIR | --dead | --all" ;;
  *)
    dir=$(readlink -m "$mode")
    [[ $dir == "$SRT_OBJSTORE_ROOT"/os-* ]] || srh_die "$mode is not a store directory under $SRT_OBJSTORE_ROOT"
    objstore_down "$dir"
    ;;
esac
exit 0
