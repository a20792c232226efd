#!/usr/bin/env bash
# `faultbox check` (load, list, warn of what nothing uses, exactly for what
# a matrix or fault_scenario applies) and the replay
# bundle a failing `faultbox test` writes unasked: named by each failure's
# replay lines, the newest FB_RUNS_KEEP kept, `faultbox replay` with no
# argument runs the last one, --no-bundle writes none.
. "$(dirname "$0")/lib.sh"
need_root
prep_specs
cd "$TMP"

cat >unused.star <<SPEC
db = service("db", "$demo/mock-db", interface("main", "tcp", 5432), healthcheck = tcp("localhost:5432"))
cache = service("cache", "$demo/mock-db", interface("main", "tcp", 6379))
api = service("api", "$demo/mock-db", interface("main", "tcp", 8080), depends_on = [db])
disk_full = fault_assumption("disk_full", target = db, write = deny("ENOSPC"))
db_down = fault_assumption("db_down", target = db, connect = deny("ECONNREFUSED"))

def ping():
    # the service named by string counts as a use
    events(service = "api")
    return db.main.send(data = "PING")

def pong():
    return db.main.send(data = "PING")

scenario(ping)
fault_matrix(scenarios = [ping], faults = [db_down], overrides = {(ping, db_down): expect_success()})
fault_matrix(scenarios = [pong], faults = [db_down])
# named only in a matrix no code declares while loading: it applies nothing
slow = fault_assumption("slow", target = db, write = delay("10ms"))
def never_called():
    fault_matrix(scenarios = [pong], faults = [slow])
SPEC
run_fb check unused.star
expect_rc 0 "check loads a spec with warnings: exit 0"
expect_out out '^Checked unused.star$'
expect_out out '^Services: 3$'
expect_out out '^Tests: 3$'
expect_out out '^warning: unused.star:2:1: service "cache" is never used: nothing depends on it and no test names it$'
expect_out out '^warning: unused.star:4:1: fault assumption "disk_full" is never used: no test, scenario or matrix applies it$'
expect_out out '^warning: unused.star:17:1: matrix cell test_matrix_pong_db_down has the default oracle'
expect_out out '^warning: unused.star:19:1: fault assumption "slow" is never used: no test, scenario or matrix applies it$'
expect_no_out out '"(db|api|db_down)" is never used'
expect_out out '^4 warnings$'
run_fb check --strict unused.star
expect_rc 1 "check --strict: a warning fails"
run_fb check first-test.star
expect_rc 0 "the tutorial's first spec checks clean"
expect_out out '^0 warnings$'

# a failing run keeps its bundle unasked
FAULTBOX_RUNS_DIR="$TMP/runs"  # lib.sh exports it
run_fb test failures.star --seed 7 --test assert_fails
expect_rc 2 "the failing test fails"
bundle=$(ls -d runs/*/ 2>/dev/null | head -1)
bundle=${bundle%/}
[ -f "$bundle/bundle.json" ] && ok "a failing run wrote its bundle to \$FAULTBOX_RUNS_DIR" || fail "no bundle in runs/: $(ls -R runs 2>&1)"
expect_out out '^  replay: faultbox test failures.star --test assert_fails --seed 7$'
expect_out out "^          faultbox replay $TMP/runs/[0-9]{8}-[0-9]{6}-[0-9]+ --test test_assert_fails$"
run_fb replay
expect_rc 2 "replay with no argument replays the last failure"
expect_out err "^replay: faultbox test --seed 7 --test assert_fails failures.star \(from $TMP/runs/"
expect_out out '^--- FAIL: test_assert_fails \([0-9]+ms, seed=7\) ---$'

rm -rf runs
run_fb test failures.star --test assert_fails --no-bundle
expect_rc 2 "--no-bundle: the test still fails"
[ ! -e runs ] && ok "--no-bundle writes no bundle" || fail "runs/ made: $(ls runs)"
expect_no_out out 'faultbox replay'
run_fb test first-test.star --test happy_path
[ ! -e runs ] && ok "a passing run writes no bundle" || fail "runs/ made: $(ls runs)"
run_fb replay
expect_rc 1 "replay with nothing recorded"
expect_out err "^faultbox: replay: no bundle given and no failed run under $TMP/runs "

FAULTBOX_RUNS_DIR=/proc/no-runs run_fb test failures.star --test assert_fails
expect_rc 2 "a bundle that cannot be kept leaves the verdict alone"
expect_out err "^faultbox: test: cannot keep the failed run's bundle: .*/proc/no-runs.* \(--no-bundle skips it\)$"

# only the newest FB_RUNS_KEEP (10) are kept
for i in $(seq 10 20); do mkdir -p "runs/20000101-0000$i-1" && echo '{}' >"runs/20000101-0000$i-1/bundle.json"; done
mkdir runs/keep-me
run_fb test failures.star --test assert_fails
[ "$(ls runs | grep -c '^[0-9]')" = 10 ] && [ ! -e runs/20000101-000010-1 ] && [ ! -e runs/20000101-000011-1 ] \
  && [ -d runs/keep-me ] && ok "the oldest bundles are removed, other files kept" || fail "runs/: $(ls runs | tr '\n' ' ')"
exit $((failures > 0))
