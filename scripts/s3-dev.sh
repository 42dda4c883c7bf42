#!/usr/bin/env bash
# A throwaway one-node Ceph cluster with its S3 gateway (radosgw) on 127.0.0.1, for tests and
# developers: a monitor, one in-memory OSD (memstore: nothing is kept after stop) and radosgw,
# plus one S3 user with known keys. Installs nothing: it needs Debian's ceph-mon, ceph-osd,
# radosgw and ceph-common packages (.ci/run installs them when missing).
#
#   scripts/s3-dev.sh start   start it (or reuse one that already answers), then print the env
#   scripts/s3-dev.sh env     print the environment for the AWS SDK (export lines)
#   scripts/s3-dev.sh status  exit 0 when the gateway answers
#   scripts/s3-dev.sh stop    stop the daemons and remove the cluster's directory
#
# Settings (environment): ETUF_S3_DIR (default /tmp/etuf-radosgw), ETUF_S3_PORT (7480),
# ETUF_S3_MON_PORT (3300), ETUF_S3_START_TIMEOUT (seconds, default 120).
set -euo pipefail

DIR="${ETUF_S3_DIR:-/tmp/etuf-radosgw}"
PORT="${ETUF_S3_PORT:-7480}"
MON_PORT="${ETUF_S3_MON_PORT:-3300}"
TIMEOUT="${ETUF_S3_START_TIMEOUT:-120}"
# Known, test-only credentials: this gateway listens on 127.0.0.1 and holds nothing of value.
ACCESS_KEY="etuf-dev-access-key"
SECRET_KEY="etuf-dev-secret-key-for-local-tests-only"
CONF="$DIR/ceph.conf"
# Ceph subsystems whose debug logging is off (debug_<name> = 0/0; ceph.conf below).
QUIET_SUBSYSTEMS=(asok auth bdev bluefs bluestore buffer compressor context crush crypto filer finisher
  heartbeatmap leveldb memdb mgrc mon monc ms none objclass objecter optracker osd paxos perfcounter
  prioritycache rados refs reserver rgw_sync rocksdb striper throttle timer tp)

say() { echo "s3-dev: $*" >&2; }
fail() {
  say "error: $*"
  exit 1
}

print_env() {
  echo "export AWS_ENDPOINT_URL=http://127.0.0.1:$PORT"
  echo "export AWS_ACCESS_KEY_ID=$ACCESS_KEY"
  echo "export AWS_SECRET_ACCESS_KEY=$SECRET_KEY"
  echo "export AWS_REGION=us-east-1"
}

answers() { curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/"; }

# The user exists only once the gateway has started with this cluster's keys.
user_ready() {
  [ -f "$DIR/ready" ] || return 1
  answers
}

stop_daemons() {
  local pids=() f pid
  for f in "$DIR"/run/*.pid; do
    [ -f "$f" ] || continue
    pid="$(cat "$f")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  for _ in $(seq 1 50); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && return 0
    sleep 0.2
  done
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
}

write_conf() {
  local fsid="$1"
  cat >"$CONF" <<CONF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$MON_PORT]
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
ms bind msgr2 = true
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
run dir = $DIR/run
pid file = $DIR/run/\$name.pid
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
mon data = $DIR/mon/\$cluster-\$id
osd data = $DIR/osd/\$cluster-\$id
osd objectstore = memstore
memstore device bytes = 2147483648
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
# The cluster log stays in this cluster's directory (default: the shared /var/log/ceph).
mon cluster log file = $DIR/log/\$cluster.\$channel.log
# Speed (measured with server/bench/gateway-cost.ts; docs/server.md, "Tuning the gateway").
# The monitor commits a change after 1 s by default: 0.1 s brings the start from 16-36 s to 6-8 s
# (every pool the gateway creates, the OSD's boot, are monitor commits).
paxos propose interval = 0.1
paxos min wait = 0.01
# The OSD joins the CRUSH map by itself, with a weight PGs map to (memstore reports ~0 TiB).
osd crush initial weight = 1
# No debug logging and none gathered in memory for a crash dump (Ceph's defaults gather up to
# level 5 of most subsystems): 10-20 % less CPU per request. debug rgw 1 is the access log.
$(for s in "${QUIET_SUBSYSTEMS[@]}"; do echo "debug $s = 0/0"; done)
debug rgw = 1/1
# No per-op history (dump_historic_ops) in the OSD; fewer threads handing each op to the next
# on two cores (defaults: 3 messenger threads, 8 op shards x 2 threads, 512 gateway threads).
osd enable op tracker = false
ms async op threads = 1
osd op num shards = 2
osd op num threads per shard = 1

[client.admin]
keyring = $DIR/admin.keyring

[client.rgw.a]
keyring = $DIR/rgw.keyring
rgw frontends = beast endpoint=127.0.0.1:$PORT tcp_nodelay=1
rgw thread pool size = 16
rgw data = $DIR/rgw
CONF
}

start() {
  if user_ready; then
    say "reusing the gateway already answering on 127.0.0.1:$PORT"
    print_env
    return 0
  fi
  if answers; then
    fail "something else answers on 127.0.0.1:$PORT (not this script's gateway; set ETUF_S3_PORT or stop it)"
  fi
  for tool in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool uuidgen curl; do
    command -v "$tool" >/dev/null 2>&1 ||
      fail "$tool is missing: apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common uuid-runtime curl"
  done
  [ -d "$DIR" ] && { stop_daemons; rm -rf "$DIR"; }
  mkdir -p "$DIR"/{run,log,mon,osd/ceph-0,rgw}
  local deadline=$((SECONDS + TIMEOUT)) fsid osd_uuid
  fsid="$(uuidgen)"
  osd_uuid="$(uuidgen)"
  write_conf "$fsid"
  local c=(-c "$CONF")
  # Every key, with its caps, is in the monitor's keyring from its first start: no `ceph auth`
  # round trips (each `ceph` command is a Python process and a monitor commit).
  {
    ceph-authtool --create-keyring "$DIR/mon.keyring" --gen-key -n mon. --cap mon 'allow *'
    ceph-authtool --create-keyring "$DIR/admin.keyring" --gen-key -n client.admin \
      --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *'
    ceph-authtool --create-keyring "$DIR/osd/ceph-0/keyring" --gen-key -n osd.0 \
      --cap osd 'allow *' --cap mon 'allow profile osd'
    ceph-authtool --create-keyring "$DIR/rgw.keyring" --gen-key -n client.rgw.a \
      --cap mon 'allow rw' --cap osd 'allow rwx'
    for k in admin.keyring osd/ceph-0/keyring rgw.keyring; do
      ceph-authtool "$DIR/mon.keyring" --import-keyring "$DIR/$k"
    done
    monmaptool --create --addv a "[v2:127.0.0.1:$MON_PORT]" --fsid "$fsid" "$DIR/monmap"
    ceph-mon "${c[@]}" --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/mon.keyring"
    ceph-mon "${c[@]}" -i a 9>&-
  } >"$DIR/log/setup.log" 2>&1 || fail "the monitor did not start (see $DIR/log/)"
  # One `ceph` command: osd.0 in the map; on boot it puts itself into the CRUSH map under
  # root=default (osd crush update on start, with `osd crush initial weight`).
  {
    timeout 30 ceph "${c[@]}" osd new "$osd_uuid" 0 &&
      ceph-osd "${c[@]}" --no-mon-config -i 0 --mkfs --osd-uuid "$osd_uuid" &&
      ceph-osd "${c[@]}" -i 0 9>&- &&
      radosgw "${c[@]}" -n client.rgw.a 9>&-
  } >>"$DIR/log/setup.log" 2>&1 || fail "the OSD or gateway did not start (see $DIR/log/setup.log)"
  until answers; do
    [ "$SECONDS" -lt "$deadline" ] || fail "radosgw did not answer on 127.0.0.1:$PORT within ${TIMEOUT}s (see $DIR/log/)"
    sleep 0.5
  done
  until timeout 30 radosgw-admin "${c[@]}" user create --uid=etuf --display-name="electron-tuf tests" \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >>"$DIR/log/setup.log" 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || fail "could not create the S3 user within ${TIMEOUT}s (see $DIR/log/setup.log)"
    sleep 1
  done
  touch "$DIR/ready"
  say "radosgw answers on 127.0.0.1:$PORT (cluster in $DIR)"
  print_env
}

stop() {
  if [ -d "$DIR" ]; then
    stop_daemons
    rm -rf "$DIR"
    say "stopped"
  fi
}

# One start or stop at a time (test files starting it lazily in parallel, a developer's shell).
# The daemons are started with fd 9 closed (`9>&-`): inheriting it, they would hold the lock for
# their whole life, and every later start (reuse) or stop would wait for it and fail.
locked() {
  exec 9>"$DIR.lock"
  flock -w "$TIMEOUT" 9 || fail "another s3-dev.sh holds $DIR.lock"
  "$@"
}

case "${1:-}" in
  start) locked start ;;
  env) print_env ;;
  status) user_ready ;;
  stop) locked stop ;;
  *)
    echo "usage: $0 start|env|status|stop" >&2
    exit 2
    ;;
esac
