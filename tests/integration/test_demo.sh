#!/bin/bash
# mock-db replies as the tutorial reference (4.2) says, and a failing WAL makes SET fail.
source "$(dirname "$0")/lib.sh"
MOCKDB="$FAULTBOX_BUILD/src/demo/mock-db"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT

start_db() { # start_db WAL_PATH: sets $port
  for _ in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 20000))
    PORT=$port WAL_PATH=$1 "$MOCKDB" >"$TMP/db.out" 2>"$TMP/db.err" & pids+=($!)
    for _ in $(seq 50); do grep -q listening "$TMP/db.err" && return 0; kill -0 $! 2>/dev/null || break; sleep 0.05; done
  done
  fail "mock-db did not start"; exit 1
}

talk() { # talk LINES...: prints replies of one connection
  python3 - "$port" "$@" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
f = s.makefile("rwb")
for line in sys.argv[2:]:
    f.write((line + "\n").encode()); f.flush()
    print(f.readline().decode().rstrip("\n"))
PY
}

expect_eq() { if [ "$1" = "$2" ]; then ok "$3"; else fail "$3: expected '$2', got '$1'"; fi; }

start_db "$TMP/wal"
out=$(talk PING "SET k hello world" "GET k" "GET nope" "SET k" "FOO")
expect_eq "$out" $'PONG\nOK\nhello world\nNOT_FOUND\nERR usage: SET key value\nERR unknown command: FOO' "mock-db replies per protocol"
expect_eq "$(cat "$TMP/wal")" "SET k hello world" "SET is appended to the WAL"

start_db "/nonexistent-dir/wal"
out=$(talk "SET a b" "GET a")
expect_eq "$out" $'ERR wal: open: No such file or directory\nNOT_FOUND' "WAL failure rejects SET and stores nothing"

[ "$failures" = 0 ]
