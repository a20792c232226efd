#!/usr/bin/env bash
# specs/examples/nginx-gateway.star: Debian's nginx in front of an HTTP
# mock_service; the backend's 503s, delays and drops (proxy rules) come out
# as nginx's own 503, 504 and 502.
. "$(dirname "$0")/lib.sh"
need_root
[ -x /usr/sbin/nginx ] || skip "nginx not installed (scripts/bootstrap installs nginx-light)"
cd "$TMP"

run_fb test "$FAULTBOX_SRC/specs/examples/nginx-gateway.star" -j 2 --format json --output nginx.json
expect_rc 0 "nginx-gateway.star"
for t in passes_the_backend_through backend_503_is_the_gateways_503 slow_backend_is_a_504 dropped_request_is_a_502; do
  expect_out err "^--- PASS: test_$t \("
done
expect_out err '^4 passed, 0 failed$'
python3 - nginx.json <<'PY' && ok "each fault fired once, on nginx's connection" || fail "proxy events"
import json, sys
t = {x["name"]: x for x in json.load(open(sys.argv[1]))["tests"]}
for name, action in [("test_backend_503_is_the_gateways_503", "error"), ("test_slow_backend_is_a_504", "delay"),
                     ("test_dropped_request_is_a_502", "drop")]:
    e = [x["fields"] for x in t[name]["events"] if x["type"] == "proxy"]
    assert [(f["action"], f["from"], f["path"]) for f in e] == [(action, "gateway", "/items/1")], (name, e)
PY
finish
