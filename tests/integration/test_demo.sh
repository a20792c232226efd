#!/bin/bash
# The demo services reply as the tutorial reference (section 4) says; failing
# WALs and unreachable backends surface as the documented errors.
# Everything listens and is contacted on loopback only.
source "$(dirname "$0")/lib.sh"
DEMO="$FAULTBOX_BUILD/src/demo"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm_tmp' EXIT
# Never let curl go through a proxy from the environment (non-loopback).
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

free_port() { # prints a loopback port nothing listens on (services use SO_REUSEPORT, so a bind would not tell)
  python3 - <<'PY'
import random, socket
for _ in range(200):
    p = random.randint(20000, 40000)
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    try:
        s.bind(("::", p)); print(p); break
    except OSError:
        pass
    finally:
        s.close()
PY
}

start_svc() { # start_svc NAME VAR=VALUE...: runs $DEMO/NAME with PORT=$port; sets $port, $pid
  local name=$1; shift
  local log="$TMP/$name.$RANDOM.log"
  port=$(free_port)
  env PORT="$port" "$@" "$DEMO/$name" >"$log" 2>&1 & pid=$!; pids+=($pid)
  for _ in $(seq 100); do grep -q listening "$log" && return 0; kill -0 $pid 2>/dev/null || break; sleep 0.05; done
  fail "$name did not start"; cat "$log"; exit 1
}

stop_svc() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

talk() { # talk LINES...: prints replies of one connection (<EOF> when the peer closed)
  python3 - "$port" "$@" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
f = s.makefile("rwb")
for line in sys.argv[2:]:
    f.write((line + "\n").encode()); f.flush()
    r = f.readline().decode()
    print(r.rstrip("\n") if r else "<EOF>")
PY
}

http() { # http METHOD PATH [BODY [CURL-ARGS...]]: sets $code, $ctype, $body (trailing newline kept)
  local method=$1 path=$2; shift 2
  local args=(-s --noproxy '*' --max-time 15 -X "$method" -o "$TMP/body" -w '%{http_code} %{content_type}')
  if [ $# -gt 0 ]; then args+=(--data-binary "$1"); shift; fi
  local w
  w=$(curl "${args[@]}" "$@" "http://127.0.0.1:$port$path") || true
  code=${w%% *}; ctype=${w#* }
  body=$(cat "$TMP/body" 2>/dev/null; echo x); body=${body%x}
  rm -f "$TMP/body"
}

expect_eq() { if [ "$1" = "$2" ]; then ok "$3"; else fail "$3: expected '$2', got '$1'"; fi; }

expect_http() { # expect_http CODE BODY DESCRIPTION (BODY without its trailing newline)
  expect_eq "$code $body" "$1 $2"$'\n' "$3"
}

expect_http_prefix() { # expect_http_prefix CODE BODY-PREFIX DESCRIPTION
  if [ "$code" = "$1" ] && [ "${body#"$2"}" != "$body" ]; then ok "$3"; else
    fail "$3: expected $1 '$2...', got $code '$body'"; fi
}

# ---- mock-db (4.2) ----
start_svc mock-db WAL_PATH="$TMP/db.wal"; db_port=$port
out=$(talk PING "SET k hello world" "GET k" "GET nope" "SET k" "FOO")
expect_eq "$out" $'PONG\nOK\nhello world\nNOT_FOUND\nERR usage: SET key value\nERR unknown command: FOO' "mock-db replies per protocol"
expect_eq "$(cat "$TMP/db.wal")" "SET k hello world" "SET is appended to the WAL"

start_svc mock-db WAL_PATH="/nonexistent-dir/wal"; baddb_port=$port
out=$(talk "SET a b" "GET a")
expect_eq "$out" $'ERR wal: open: No such file or directory\nNOT_FOUND' "WAL failure rejects SET and stores nothing"

# ---- inventory-svc (4.4) ----
start_svc inventory-svc WAL_PATH="$TMP/inv.wal"; inv_port=$port
out=$(talk PING "CHECK widget" "check gadget" "CHECK nope" "CHECK" "RESERVE widget 3" "RESERVE gizmo 26" \
  "RESERVE nope 1" "RESERVE widget x" "RESERVE widget" "FOO" "CHECK widget" "QUIT")
expect_eq "$out" 'PONG
100
50
NOT_FOUND
ERR usage: CHECK <sku>
OK 97
ERR insufficient_stock 25
ERR not_found
ERR bad qty: strconv.Atoi: parsing "x": invalid syntax
ERR usage: RESERVE <sku> <qty>
ERR unknown: FOO
97
<EOF>' "inventory-svc replies per protocol"
expect_eq "$(cat "$TMP/inv.wal")" "RESERVE widget 3" "only the successful reservation is in the WAL"

start_svc inventory-svc WAL_PATH="/nonexistent-dir/inv.wal"; badinv_port=$port
out=$(talk "RESERVE widget 1" "CHECK widget")
expect_eq "$out" $'ERR wal: open: no such file or directory\n100' "WAL open failure rejects the reservation, stock unchanged"

# ---- mock-api (4.3) ----
start_svc mock-api DB_ADDR="localhost:$db_port"   # a host name: exercises getaddrinfo
http GET /health;                      expect_http 200 "ok" "mock-api GET /health"
http POST /health;                     expect_http 200 "ok" "mock-api /health answers any method"
expect_eq "$ctype" "text/plain; charset=utf-8" "mock-api replies text/plain"
http POST /data/k $'  hello world \n';  expect_http 200 "stored: k=hello world" "POST /data/k stores the trimmed body"
http GET /data/k;                      expect_http 200 "hello world" "GET /data/k returns the value"
http POST /data/e "";                  expect_http 200 "stored: e=default" "empty body stores 'default'"
http GET /data/nope;                   expect_http 404 "not found" "GET of a missing key is 404"
http GET /data/;                       expect_http 400 "key required" "empty key is 400"
http DELETE /data/k;                   expect_http 405 "method not allowed" "other methods are 405"
http GET /elsewhere;                   expect_http 404 "404 page not found" "unknown route is 404"
http POST /data/big "$(head -c 3000 /dev/zero | tr '\0' v)" -H 'Expect: 100-continue'
expect_eq "$code ${#body}" "200 3013" "a 100-continue upload is read in full"
http GET /data/k?x=1;                  expect_http 200 "hello world" "the query string is not part of the key"

start_svc mock-api DB_ADDR="127.0.0.1:$baddb_port"
http POST /data/x "y";                 expect_http 500 "db error: ERR wal: open: No such file or directory" "a db error reply is 500 with the reply"

start_svc mock-api DB_ADDR="127.0.0.1:$(free_port)"
http GET /data/k;                      expect_http_prefix 500 "db error:" "db down: GET is 500 'db error:'"
expect_eq "$body" $'db error: connect to db: connection refused\n' "db down: the error names the refused connect"
http POST /data/k v;                   expect_http_prefix 500 "db error: connect to db:" "db down: POST is 500 'db error:'"

# A db that accepts and hangs up without a reply line.
mute_port=$(free_port)
python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); print("listening", flush=True)
while True:
    c, _ = s.accept(); c.recv(100); c.close()
' "$mute_port" >"$TMP/mute.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do grep -q listening "$TMP/mute.log" && break; sleep 0.05; done
start_svc mock-api DB_ADDR="127.0.0.1:$mute_port"
http GET /data/k;                      expect_http 500 "db error: no response from db" "a db that hangs up is 'no response from db'"

# ---- order-svc (4.5) ----
start_svc inventory-svc WAL_PATH="$TMP/orders.wal"; inv_pid=$pid; inv_port=$port
start_svc order-svc INVENTORY_ADDR="127.0.0.1:$inv_port"; orders_port=$port
http GET /health;                      expect_http 200 "ok" "order-svc GET /health"
http POST /orders '{"sku":"widget","qty":1}'
expect_http 200 '{"id":1,"sku":"widget","qty":1,"status":"confirmed","remaining_stock":99}' "happy path: confirmed, remaining_stock 99"
expect_eq "$ctype" "application/json" "order JSON is application/json"
http GET /orders/1
expect_http 200 '{"id":1,"sku":"widget","qty":1,"status":"confirmed","remaining_stock":99}' "GET /orders/1 returns the stored order"
http POST /orders '{"sku":"gizmo","qty":26}'
expect_http 409 '{"id":2,"sku":"gizmo","qty":26,"status":"failed","error":"ERR insufficient_stock 25"}' "insufficient stock is 409 with the raw reply"
http POST /orders '{"sku":"nope","qty":1}'
expect_http 404 '{"id":3,"sku":"nope","qty":1,"status":"failed","error":"sku not found"}' "unknown sku is 404 failed order"
http GET /orders/2
expect_http 200 '{"id":2,"sku":"gizmo","qty":26,"status":"failed","error":"ERR insufficient_stock 25"}' "failed orders are stored too"
http POST /orders '{"sku":"gadget","qty":0}'
expect_http 200 '{"id":4,"sku":"gadget","qty":1,"status":"confirmed","remaining_stock":49}' "qty <= 0 becomes 1"
http POST /orders '{"sku":"gizmo","qty":25}'
expect_http 200 '{"id":5,"sku":"gizmo","qty":25,"status":"confirmed"}' "remaining_stock 0 is omitted"
http POST /orders ' { "Note": {"a":[1, -2.5e3, true, null, "x\"y"]}, "SKU" : "wid\u0067et", "qty": 2 } '
expect_http 200 '{"id":6,"sku":"widget","qty":2,"status":"confirmed","remaining_stock":97}' "JSON: unknown keys skipped, keys case-insensitive, escapes decoded"
http POST /orders '{"sku":"a<b","qty":1}'
expect_http 404 '{"id":7,"sku":"a\u003cb","qty":1,"status":"failed","error":"sku not found"}' "JSON output escapes like Go"
http POST /orders '{"sku":';           expect_http 400 "bad request: unexpected EOF" "truncated JSON is 400"
http POST /orders '{"sku":"widget","qty":1.5}'; expect_http 400 "bad request: qty must be an integer" "non-integer qty is 400"
http POST /orders '';                  expect_http 400 "bad request: EOF" "empty body is 400"
http POST /orders '{"qty":1}';         expect_http 400 "sku required" "missing sku is 400"
http GET /orders;                      expect_http 405 "method not allowed" "GET /orders is 405"
http GET /orders/99;                   expect_http 404 "order not found" "unknown order is 404"
http GET /orders/x;                    expect_http 404 "order not found" "malformed order id is 404"
http GET /inventory/widget;            expect_http 200 '{"sku":"widget","qty":97}' "GET /inventory/widget"
expect_eq "$ctype" "application/json" "inventory JSON is application/json"
http GET /inventory/nope;              expect_http 404 "sku not found" "GET /inventory of an unknown sku is 404"
http GET /elsewhere;                   expect_http 404 "404 page not found" "order-svc unknown route is 404"

stop_svc "$inv_pid"
http POST /orders '{"sku":"widget","qty":1}'
expect_http 503 '{"id":8,"sku":"widget","qty":1,"status":"failed","error":"inventory unreachable: connect to inventory: connection refused"}' "inventory down: 503 failed order"
http GET /inventory/widget;            expect_http_prefix 503 "inventory error: connect to inventory:" "inventory down: GET /inventory is 503"

start_svc order-svc INVENTORY_ADDR="localhost:$badinv_port"
http POST /orders '{"sku":"widget","qty":1}'
expect_http 409 '{"id":1,"sku":"widget","qty":1,"status":"failed","error":"ERR wal: open: no such file or directory"}' "WAL failure is 409 with the wal error"

[ "$failures" = 0 ]
