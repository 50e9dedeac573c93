#!/usr/bin/env bash
# Crash test of medical settlement (issue #6): kill -9 the server ROUNDS times (default 20)
# while `sscard bench settle` posts settlements, restart it each time, then check that every
# acknowledged settlement is stored exactly once, that nothing unacknowledged is half-applied
# and that the ledger invariants hold (`sscard ledger verify-acks`).
#
#   scripts/crash-test.sh                 # SQLite (embedded), the debug binary if built
#   SSCARD_BIN=target/release/sscard ROUNDS=20 scripts/crash-test.sh
#   DB_URL=postgres://… scripts/crash-test.sh   # an empty PostgreSQL database instead
#
# Prints one line per round and the final verdict; exits non-zero on any loss.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-20}
PERSONS=${PERSONS:-20000}
PORT=${PORT:-18181}
CLIENTS=${CLIENTS:-32}

BIN=${SSCARD_BIN:-}
if [ -z "$BIN" ]; then
    if [ -x target/debug/sscard ]; then
        BIN=target/debug/sscard
    else
        cargo build -q -p sscard
        BIN=target/debug/sscard
    fi
fi
BIN=$(realpath "$BIN")

WORK=$(mktemp -d)
SRV=""
cleanup() {
    if [ -n "$SRV" ]; then kill -9 "$SRV" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

DB=${DB_URL:-$WORK/crash.db}
export SSCARD_PIN_KEY_FILE="$WORK/pin.key"
export SSCARD_ECARD_KEY_FILE="$WORK/ecard.key"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$SSCARD_PIN_KEY_FILE"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$SSCARD_ECARD_KEY_FILE"

echo "== demo population ($PERSONS persons) in $DB"
"$BIN" demo --db "$DB" --persons "$PERSONS" --samples "$WORK/samples.json" > /dev/null

wait_ready() {
    for _ in $(seq 1 200); do
        if curl -sf "http://127.0.0.1:$PORT/readyz" > /dev/null; then return 0; fi
        sleep 0.05
    done
    echo "server did not become ready" >&2
    tail -20 "$WORK/serve.log" >&2
    return 1
}

: > "$WORK/acks"
for i in $(seq 1 "$ROUNDS"); do
    "$BIN" serve --db "$DB" --listen "127.0.0.1:$PORT" --log warn >> "$WORK/serve.log" 2>&1 &
    SRV=$!
    wait_ready
    "$BIN" bench settle --url "http://127.0.0.1:$PORT" --samples "$WORK/samples.json" \
        --clients "$CLIENTS" --duration 3 --run-id "crash$i" --ack-log "$WORK/acks.$i" \
        > "$WORK/bench.$i" 2> "$WORK/bench.$i.err" &
    BENCH=$!
    # Kill somewhere between 0.5 s and 2.5 s into the load.
    sleep "$(awk -v s="$RANDOM" 'BEGIN { srand(s); printf "%.2f", 0.5 + rand() * 2 }')"
    kill -9 "$SRV"
    wait "$SRV" 2> /dev/null || true
    SRV=""
    wait "$BENCH" || true
    cat "$WORK/acks.$i" >> "$WORK/acks"
    echo "round $i: killed; acknowledged $(wc -l < "$WORK/acks.$i"); $(tail -1 "$WORK/bench.$i")"
done

echo "== after $ROUNDS kills: checking $(wc -l < "$WORK/acks") acknowledged settlements"
"$BIN" ledger verify-acks --db "$DB" --acks "$WORK/acks"
