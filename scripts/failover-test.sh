#!/usr/bin/env bash
# Failover test: a PostgreSQL primary and a synchronous streaming standby on loopback, sscard
# on the primary with demo data, write load whose acknowledgements are logged, the primary
# killed (immediate stop = crash), the standby promoted (pg_ctl promote), sscard pointed at the
# new primary, and every acknowledged write checked to be there.
#
# Usage: scripts/failover-test.sh            (uses target/debug/sscard, builds it if missing)
#        SSCARD=path/to/sscard scripts/failover-test.sh
#
# The load step is `load` below. With `sscard bench settle --ack-log` available (issue #6) it
# drives medical settlements through the HTTP API and the acknowledged settlement msg_ids are
# looked up in med_settlements; without it, acknowledged writes are committed INSERTs through
# psql (one per transaction, logged after COMMIT returned) into the IVR call log.
#
# Loopback only, bounded in time (about a minute), cleans up after itself (trap). As root the
# PostgreSQL servers run as the unprivileged user `sscardpg` (created if missing), like the
# test suite's throw-away servers.
set -euo pipefail
cd "$(dirname "$0")/.."

LOAD_SECS=${LOAD_SECS:-12}
KILL_AFTER=${KILL_AFTER:-6}
SSCARD=${SSCARD:-target/debug/sscard}

log() { printf '== failover: %s\n' "$*"; }
die() {
    printf 'FAILOVER TEST FAILED: %s\n' "$*" >&2
    for f in bench.log serve.log primary.log standby.log; do
        [ -f "${WORK:-/nonexistent}/$f" ] && { echo "--- $f (last lines)" >&2; tail -n 15 "$WORK/$f" >&2; }
    done
    exit 1
}

# --- PostgreSQL binaries -------------------------------------------------------------------
PGBIN=""
if command -v initdb >/dev/null 2>&1; then
    PGBIN=$(dirname "$(realpath "$(command -v initdb)")")
else
    PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi
[ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] || die "PostgreSQL binaries not found (apt-get install postgresql)"
PSQL=$(command -v psql || echo "$PGBIN/psql")

if [ ! -x "$SSCARD" ]; then
    log "building sscard"
    cargo build -q -p sscard
fi
SSCARD=$(realpath "$SSCARD")

# --- workspace, ports, cleanup -------------------------------------------------------------
WORK=$(mktemp -d /tmp/sscard-failover.XXXXXX)
chmod 755 "$WORK"
AS=()
if [ "$(id -u)" = 0 ]; then
    id sscardpg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin sscardpg
    chown sscardpg: "$WORK"
    AS=(runuser -u sscardpg --)
fi
pg() { "${AS[@]}" "$PGBIN/$1" "${@:2}"; }

free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 40000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
}
P1=$(free_port); P2=$(free_port); HTTP=$(free_port)
while [ "$P2" = "$P1" ]; do P2=$(free_port); done
PRIMARY="$WORK/primary"; STANDBY="$WORK/standby"
SERVER_PID=""; LOAD_PID=""

cleanup() {
    set +e
    [ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    for d in "$PRIMARY" "$STANDBY"; do
        [ -f "$d/postmaster.pid" ] && pg pg_ctl -D "$d" stop -m immediate >/dev/null 2>&1
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

sql() { # sql PORT 'statement' -> unaligned output
    "$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U postgres -d "${3:-sscard}" -c "$2"
}

# --- primary -------------------------------------------------------------------------------
log "primary on 127.0.0.1:$P1, standby on 127.0.0.1:$P2 ($PGBIN)"
pg initdb -D "$PRIMARY" -A trust -U postgres -E UTF8 --locale=C >/dev/null
cat >>"$PRIMARY/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $P1
unix_socket_directories = '$WORK'
wal_level = replica
max_wal_senders = 5
wal_keep_size = '256MB'
hot_standby = on
synchronous_commit = on
max_connections = 100
EOF
cat >>"$PRIMARY/pg_hba.conf" <<EOF
host replication all 127.0.0.1/32 trust
host all all 127.0.0.1/32 trust
EOF
pg pg_ctl -D "$PRIMARY" -l "$WORK/primary.log" -w -t 60 start >/dev/null
sql "$P1" "CREATE DATABASE sscard" postgres

# --- synchronous standby -------------------------------------------------------------------
pg pg_basebackup -h 127.0.0.1 -p "$P1" -U postgres -D "$STANDBY" -R -X stream --checkpoint=fast
cat >>"$STANDBY/postgresql.auto.conf" <<EOF
primary_conninfo = 'host=127.0.0.1 port=$P1 user=postgres application_name=standby1'
port = $P2
EOF
pg pg_ctl -D "$STANDBY" -l "$WORK/standby.log" -w -t 60 start >/dev/null
# Synchronous only once the standby is attached (before, every commit would wait for it).
sql "$P1" "ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 (standby1)'" postgres
sql "$P1" "SELECT pg_reload_conf()" postgres >/dev/null
for _ in $(seq 1 100); do
    state=$(sql "$P1" "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'" postgres || true)
    [ "$state" = "sync" ] && break
    sleep 0.2
done
[ "$state" = "sync" ] || die "the standby did not become synchronous (state: '$state')"
log "standby1 streams synchronously (pg_stat_replication.sync_state = sync)"

# --- sscard on the primary ---------------------------------------------------------------------
URL1="postgres://postgres@127.0.0.1:$P1/sscard"
URL2="postgres://postgres@127.0.0.1:$P2/sscard"
# Key files, SMS log: everything sscard writes stays in the work directory.
cd "$WORK"
export SSCARD_PIN_KEY_FILE="$WORK/pin.key" SSCARD_ECARD_KEY_FILE="$WORK/ecard.key"
for k in "$SSCARD_PIN_KEY_FILE" "$SSCARD_ECARD_KEY_FILE"; do
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$k"
done
"$SSCARD" demo --db "$URL1" --persons 300 --seed 7 --samples "$WORK/samples.json" >/dev/null
"$SSCARD" serve --db "$URL1" --listen "127.0.0.1:$HTTP" >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$HTTP") 2>/dev/null && break
    sleep 0.2
done
log "sscard serves on 127.0.0.1:$HTTP against the primary"

ACKS="$WORK/acks.txt"
: >"$ACKS"
MODE=""
if "$SSCARD" bench settle --help 2>/dev/null | grep -q -- '--ack-log'; then
    MODE=settle
else
    MODE=psql
fi

# The load: writes acknowledged to the client are appended to $ACKS, one id per line.
load() {
    case "$MODE" in
    settle)
        "$SSCARD" bench settle --url "http://127.0.0.1:$HTTP" --samples "$WORK/samples.json" \
            --clients 4 --duration "$LOAD_SECS" --ack-log "$ACKS" >"$WORK/bench.log" 2>&1 || true
        ;;
    psql)
        local i=0 end=$((SECONDS + LOAD_SECS))
        while [ "$SECONDS" -lt "$end" ]; do
            i=$((i + 1))
            # One transaction per write; the id is logged only after COMMIT was acknowledged.
            if sql "$P1" "INSERT INTO ivr_calls (started_at, caller_hash, menu, outcome)
                          VALUES (to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),
                                  'failover-$i', '3-1-1', 'completed')" >/dev/null 2>&1; then
                echo "failover-$i" >>"$ACKS"
            fi
        done
        ;;
    esac
}

log "load ($MODE) for ${LOAD_SECS}s; the primary is killed after ${KILL_AFTER}s"
load &
LOAD_PID=$!
sleep "$KILL_AFTER"
pg pg_ctl -D "$PRIMARY" stop -m immediate >/dev/null
log "primary killed (immediate stop) under load"
wait "$LOAD_PID" || true
LOAD_PID=""
[ "$(sort -u "$ACKS" | wc -l)" -gt 0 ] || die "no write was acknowledged"
kill "$SERVER_PID" 2>/dev/null || true
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""

# --- promotion -------------------------------------------------------------------------------
pg pg_ctl -D "$STANDBY" promote -w -t 60 >/dev/null
[ "$(sql "$P2" "SELECT pg_is_in_recovery()")" = "f" ] || die "the standby is still in recovery"
log "standby promoted: it is the primary now"

# --- every acknowledged write is on the new primary ------------------------------------------
acked=$(sort -u "$ACKS" | wc -l)
if [ "$MODE" = settle ]; then
    table="med_settlements"; column="msg_id"
else
    table="ivr_calls"; column="caller_hash"
fi
sort -u "$ACKS" >"$WORK/acked.txt"
cat >"$WORK/verify.sql" <<EOF
CREATE TEMP TABLE acked (id TEXT PRIMARY KEY);
\\copy acked FROM '$WORK/acked.txt'
SELECT count(*) FROM acked a WHERE NOT EXISTS (SELECT 1 FROM $table t WHERE t.$column = a.id);
EOF
missing=$("$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$P2" -U postgres -d sscard \
    -f "$WORK/verify.sql" | tail -n 1)
present=$(sql "$P2" "SELECT count(*) FROM $table")
log "acknowledged: $acked, missing on the new primary: $missing ($table holds $present rows)"
[ "$missing" = "0" ] || die "$missing acknowledged writes were lost"

# --- sscard on the new primary ---------------------------------------------------------------
"$SSCARD" migrate status --db "$URL2" | tail -n 1
"$SSCARD" audit verify --db "$URL2"
"$SSCARD" ledger check --db "$URL2"
"$SSCARD" serve --db "$URL2" --listen "127.0.0.1:$HTTP" >"$WORK/serve2.log" 2>&1 &
SERVER_PID=$!
ok=""
for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$HTTP") 2>/dev/null && exec 3<>"/dev/tcp/127.0.0.1/$HTTP"; then
        printf 'GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3
        head -n 1 <&3 | grep -q ' 200 ' && ok=1
        exec 3>&-
        [ -n "$ok" ] && break
    fi
    sleep 0.2
done
[ -n "$ok" ] || die "sscard does not answer /readyz on the new primary"
sql "$P2" "INSERT INTO ivr_calls (started_at, caller_hash) VALUES ('2026-01-01T00:00:00.000Z', 'after-failover')" >/dev/null
log "sscard serves on the new primary (/readyz 200) and it takes writes"
log "PASSED: no acknowledged write was lost"
