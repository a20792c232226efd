#!/usr/bin/env bash
# determinism(): with it declared, every service's filter routes clock
# reads, getrandom, opens, connect, sendto with an address and raw
# sockets; the runner records one unmediated_io event per service,
# category and detail, prints a line per test and, under strict, fails a
# test naming service, category and an example. allow= and
# nondeterministic_ok= tolerate. Without it nothing changes.
. "$(dirname "$0")/lib.sh"
need_root
prep_specs
spec="$TMP/determinism.star"
lax="$TMP/determinism-lax.star"

# routing: a service no fault names still gets a filter under determinism()
run_fb test "$spec" --dry-run
expect_out out '^  helper  \(seccomp filter: clock_gettime,gettimeofday,time,getrandom,open(,openat|at),.*connect\)$'
# without it, no filter at all
grep -v '^determinism' "$spec" >"$TMP/plain.star"
run_fb test "$TMP/plain.star" --dry-run
expect_out out '^  helper$'
run_fb test "$TMP/plain.star" --test clock_allowed --format json
expect_no_out out '"determinism"|unmediated_io'
# nondeterministic_ok=True: no filter for that one
run_fb test "$lax" --dry-run
expect_out out '^  free$'

run_fb test "$spec" --test clock_allowed --show all
expect_rc 0 "an allowed clock read passes"
expect_out out '^  determinism: [0-9]+ unmediated: (.*, )?helper clock clock_gettime\(CLOCK_REALTIME\) ×2 \(allowed\).* \(clock reads through the vDSO never trap\)$'

run_fb test "$spec" --test getrandom_strict
expect_rc 2 "strict: getrandom fails the test"
expect_out out 'reason: strict determinism: service helper reached unmediated rand \(getrandom\(16 bytes\) via getrandom, 1 call\); add "rand" to determinism\(allow=\[\.\.\.\]\) \(.*determinism.star:3:1\) or service\("helper", nondeterministic_ok=\["rand"\]\)'
expect_out out '^  determinism: [0-9]+ unmediated:.* helper rand getrandom\(16 bytes\) ×1[ ,]'

run_fb test "$spec" --test dns_out --format json
expect_rc 2 "strict: DNS out of the lab fails the test"
python3 - "$TMP/out" <<'PY' && ok "JSON: reason, determinism summary, the event with its count" || fail "JSON of dns_out: $(head -c 3000 "$TMP/out")"
import json, sys
t = json.load(open(sys.argv[1]))["tests"][0]
assert t["reason"].startswith("strict determinism: service helper reached unmediated dns (8.8.8.8:53 via connect, 1 call)"), t["reason"]
u = [x for x in t["determinism"]["unmediated_io"] if x["service"] == "helper"]
assert u == [{"service": "helper", "category": "dns", "detail": "8.8.8.8:53", "syscall": "connect", "count": 1, "allowed": False}], u
ev = [e for e in t["events"] if e["type"] == "unmediated_io" and e["service"] == "helper"]
assert len(ev) == 1 and ev[0]["fields"]["count"] == "1" and ev[0]["fields"]["allowed"] == "false", ev
# calls only determinism() routes are counted, not logged as syscall events
assert not [e for e in t["events"] if e["type"] == "syscall"], "syscall events logged"
PY

run_fb test "$spec" --test loopback_dns_is_not_unmediated --show all
expect_rc 0 "loopback is not out of the lab"
expect_out out '^  determinism: '
expect_no_out out 'helper (dns|network)'

run_fb test "$spec" --test raw_socket
expect_rc 2 "strict: a raw socket fails the test"
expect_out out 'reason: strict determinism: service helper reached unmediated raw-socket \(socket\(AF_PACKET\) via socket'

run_fb test "$spec" --test urandom_exempt --show all
expect_rc 0 "nondeterministic_ok=[\"rand\"]: head reading /dev/urandom passes"
expect_out out 'shell rand /dev/urandom ×[0-9]+ \(allowed\)'

run_fb test "$lax" --show all
expect_rc 0 "strict=False records and passes; nondeterministic_ok=True is not watched"
expect_out out '^  determinism: 1 unmediated: helper rand getrandom\(16 bytes\) ×2 \(clock'

# the normalized trace keeps it; the report reads back through merge
run_fb test "$spec" --test dns_out --normalize "$TMP/norm" --format json --output "$TMP/r.json"
grep -q '^unmediated_io dns 8.8.8.8:53$' "$TMP/norm" && ok "normalized trace has the unmediated_io line" \
  || { fail "normalized trace lacks it"; cat "$TMP/norm"; }
run_fb merge "$TMP/r.json"
expect_out out 'determinism: [0-9]+ unmediated:.* helper dns 8.8.8.8:53 ×1'
finish
