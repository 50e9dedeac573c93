#!/usr/bin/env bash
# Settlement throughput against PostgreSQL's own debit/credit benchmark, on this machine, in
# one run (issue #6):
#
#   1. pgbench tpcb-like, scale 10, 8 clients, fsync on (a throw-away PostgreSQL server);
#   2. sscard on embedded SQLite (durable commits), `sscard bench settle` with 64 clients;
#   3. sscard on that PostgreSQL server, the same load;
#   4. pgbench once more.
#
#   scripts/bench-settle.sh                # release build, 100 000 demo persons, 30 s each
#   PERSONS=1000000 DURATION=60 scripts/bench-settle.sh
#
# The ratios are against the mean of pgbench's two runs (it moves a lot between runs on a
# shared machine). Prints the results and the ratios; paste them into BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."

PERSONS=${PERSONS:-100000}
DURATION=${DURATION:-30}
CLIENTS=${CLIENTS:-64}
PGPORT=${PGPORT:-55432}
PORT=${PORT:-18282}

BIN=${SSCARD_BIN:-}
if [ -z "$BIN" ]; then
    cargo build -q --release -p sscard
    BIN=target/release/sscard
fi
BIN=$(realpath "$BIN")
PGBIN=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")

WORK=$(mktemp -d)
chmod 755 "$WORK"
SRV=""
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u sscardpg -- "$@"; else "$@"; fi
}
cleanup() {
    if [ -n "$SRV" ]; then kill "$SRV" 2>/dev/null || true; wait "$SRV" 2>/dev/null || true; fi
    as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -m immediate stop > /dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
if [ "$(id -u)" = 0 ] && ! id sscardpg > /dev/null 2>&1; then
    useradd --system --no-create-home sscardpg
fi

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"

echo "== PostgreSQL ($("$PGBIN/postgres" --version)) on 127.0.0.1:$PGPORT, fsync on"
mkdir -p "$WORK/pg" && chown sscardpg "$WORK/pg" 2> /dev/null || true
as_pg "$PGBIN/initdb" -D "$WORK/pg" -U postgres -A trust > /dev/null
cat >> "$WORK/pg/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$WORK/pg'
fsync = on
synchronous_commit = on
max_connections = 200
shared_buffers = 512MB
EOF
as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg/log" -w start > /dev/null
PGURL="postgres://postgres@127.0.0.1:$PGPORT"

as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres pgbench
as_pg "$PGBIN/pgbench" -h 127.0.0.1 -p "$PGPORT" -U postgres -i -s 10 -q pgbench > /dev/null 2>&1
run_pgbench() {
    as_pg "$PGBIN/pgbench" -h 127.0.0.1 -p "$PGPORT" -U postgres -b tpcb-like -c 8 -j 2 \
        -T "$DURATION" pgbench 2> /dev/null | awk '/^tps/ {print $3; exit}'
}
PGB=$(run_pgbench)
echo "pgbench tpcb-like scale=10 clients=8: tps=$PGB"

export SSCARD_PIN_KEY_FILE="$WORK/pin.key" SSCARD_ECARD_KEY_FILE="$WORK/ecard.key"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$SSCARD_PIN_KEY_FILE"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$SSCARD_ECARD_KEY_FILE"

run_settle() { # $1 = label, $2 = db url
    "$BIN" serve --db "$2" --listen "127.0.0.1:$PORT" --log warn --pool-size 32 \
        > "$WORK/serve.log" 2>&1 &
    SRV=$!
    for _ in $(seq 1 400); do
        curl -sf "http://127.0.0.1:$PORT/readyz" > /dev/null && break
        sleep 0.05
    done
    # A short warm-up, then the measured run.
    "$BIN" bench settle --url "http://127.0.0.1:$PORT" --samples "$WORK/samples-$1.json" \
        --clients "$CLIENTS" --duration 3 --run-id "warm$1" > /dev/null 2>&1 || true
    local line
    line=$("$BIN" bench settle --url "http://127.0.0.1:$PORT" --samples "$WORK/samples-$1.json" \
        --clients "$CLIENTS" --duration "$DURATION" --run-id "run$1")
    echo "sscard on $1, clients=$CLIENTS: $line" >&2
    kill "$SRV"
    wait "$SRV" 2> /dev/null || true
    SRV=""
    echo "$line" | sed -E 's/.*settle_tps=([0-9]+).*/\1/'
}

echo "== demo ($PERSONS persons) on SQLite"
"$BIN" demo --db "$WORK/s.db" --persons "$PERSONS" --samples "$WORK/samples-sqlite.json" > /dev/null 2>&1
SQ=$(run_settle sqlite "$WORK/s.db")

echo "== demo ($PERSONS persons) on PostgreSQL"
as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres sscard
"$BIN" demo --db "$PGURL/sscard" --persons "$PERSONS" --samples "$WORK/samples-postgres.json" > /dev/null 2>&1
PQ=$(run_settle postgres "$PGURL/sscard")

# pgbench again: on a shared machine it alone can move by half between two runs minutes apart,
# so the ratios are taken against the mean of the runs before and after sscard's.
as_pg "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -q -c CHECKPOINT pgbench > /dev/null
PGB2=$(run_pgbench)
echo "pgbench again, after sscard: tps=$PGB2"
awk -v a="$SQ" -v b="$PQ" -v p1="$PGB" -v p2="$PGB2" 'BEGIN {
    p = (p1 + p2) / 2
    printf "ratio sqlite/pgbench=%.2f postgres/pgbench=%.2f (pgbench mean %.0f of %.0f and %.0f)\n",
        a / p, b / p, p, p1, p2 }'
