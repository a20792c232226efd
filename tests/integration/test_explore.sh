#!/usr/bin/env bash
# --explore: parallel() under hold and release. Two independent writes pass
# in all N! orders of the calls held, printed as (K/K runs); a test that
# assumes the later write lands last passes without the flag, fails under
# --explore all in the run whose order is reversed, and its replay line
# (--explore-index K) fails the same way while index 0 passes.
. "$(dirname "$0")/lib.sh"
need_root
prep_specs
spec="$TMP/explore.star"

# the filters route what explore holds, only under the flag
run_fb test "$spec" --dry-run --explore all
expect_out out '^  db  \(seccomp filter: .*openat.*\)$'
run_fb test "$spec" --dry-run
expect_out out '^  db$'

run_fb test "$spec" --test two_keys --explore=all --format json
expect_rc 0 "independent writes under --explore=all"
expect_out err '^--- PASS: test_two_keys \(([0-9]+)/\1 runs\) ---$'
# K = N!, N: the calls the explored parallel() held
python3 - "$TMP/out" <<'PY' && ok "runs = held! and every run passed" || fail "runs are not N! of the held calls"
import json, math, sys
t = json.load(open(sys.argv[1]))["tests"][0]
held = [int(e["fields"]["held"]) for e in t["events"] if e["type"] == "explore"]
print("held", held, "runs", t["runs"], t["runs_passed"])
assert held and held[0] >= 2 and t["runs"] == t["runs_passed"] == math.factorial(held[0])
assert t["explore_index"] == t["runs"] - 1
PY

# the tutorial's two orders through order-svc and inventory-svc
run_fb test "$TMP/concurrency.star" --test two_small_orders --explore=all
expect_rc 0 "two parallel POSTs under --explore=all"
expect_out out '^--- PASS: test_two_small_orders \(([0-9]+)/\1 runs\) ---$'

run_fb test "$spec" --test last_write_wins
expect_rc 0 "the race is not hit without --explore"

run_fb test "$spec" --test last_write_wins --explore all
expect_rc 2 "--explore all finds the order that breaks it"
expect_out out 'reason: .*got "A", want "B"'
expect_out out '\(1/2 runs passed before failure\)'
expect_out out '^  replay: faultbox test .*explore.star --test last_write_wins --seed 0 --explore-index 1$'

# the replay line, run as printed, fails the same way; index 0 passes
replay=$(sed -n 's/^  replay: faultbox //p' "$TMP/out")
# shellcheck disable=SC2086
run_fb $replay
expect_rc 2 "the printed replay reproduces the failure"
expect_out out 'reason: .*got "A", want "B"'
run_fb test "$spec" --test last_write_wins --explore-index 0
expect_rc 0 "permutation 0 (the order they came in) passes"
# what index 1 did: db's two reads held and released the other way round;
# the nondet() relay held nothing
run_fb test "$spec" --test last_write_wins --explore-index 1 --format json
python3 - "$TMP/out" <<'PY' && ok "index 1 released db's 2 held reads as 1,0; relay held none" || fail "explore event or holds"
import json, sys
t = json.load(open(sys.argv[1]))["tests"][0]
ex = [e["fields"] for e in t["events"] if e["type"] == "explore"]
holds = [e["service"] for e in t["events"] if e.get("fields", {}).get("decision") == "hold(explore)"]
print(ex, holds)
assert ex == [{"held": "2", "index": "1", "order": "1,0"}] and holds == ["db", "db"]
PY

# sample: at most --runs, never more than the N! orders there are
run_fb test "$spec" --test two_keys --explore sample --runs 1
expect_rc 0 "sample with --runs 1"
expect_out out '^--- PASS: test_two_keys \([0-9]+ms, seed=0\) ---$'
run_fb test "$spec" --test two_keys --explore sample
expect_rc 0 "sample"
expect_out out '^--- PASS: test_two_keys \(([0-9]+)/\1 runs\) ---$'
expect_no_out out '100 runs'

run_fb test "$spec" --explore some
expect_rc 1 "an unknown --explore mode"
expect_out err 'test: --explore takes all or sample, not "some"'

# help, man page and completions know the flag
"$FAULTBOX" help test | grep -q -- '--explore all|sample' && ok "help shows --explore" || fail "help lacks --explore"
[ "$(bash_complete test --explore "")" = "all sample" ] && ok "bash completes --explore's modes" || fail "bash: --explore $(bash_complete test --explore "")"
[ "$(bash_complete test --explore-i)" = "--explore-index" ] && ok "bash completes --explore-index" || fail "bash: --explore-i"
grep -q -- "'--explore\\[" "$FAULTBOX_SRC/src/cli/completion/_faultbox" && ok "zsh completes --explore" || fail "zsh lacks --explore"
grep -q 'explore all|sample' "$FAULTBOX_SRC/doc/faultbox.1" && ok "man page has --explore" || fail "man page lacks --explore"
finish
