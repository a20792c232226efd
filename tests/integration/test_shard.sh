#!/usr/bin/env bash
# `faultbox test --shard I/N` and `faultbox merge`: the shards of a spec run
# every test exactly once, and their merged report is the report of one run
# (apart from timings and pids).
. "$(dirname "$0")/lib.sh"
need_root
demo="$FAULTBOX_BUILD/src/demo"
sed -e "s|DEMO|$demo|g" "$FAULTBOX_SRC/tests/integration/specs/failures.star" >"$TMP/failures.star"
cd "$TMP"

for bad in 0/3 4/3 3 a/3 1/0 -1/3; do
  run_fb test --shard "$bad" failures.star
  expect_rc 1 "--shard $bad is refused"
  expect_out err '^faultbox: test: --shard: (want I/N, the I-th of N shards \(e\.g\. 2/4\), not ".*"|shard [0-9]+/[0-9]+: want 1 <= I <= N)$'
done

# --no-bundle: each shard keeps a bundle of its own, the merged report names none
run_fb test --seed 7 -j 2 --no-bundle --output all.json failures.star
cp out all.txt
expect_rc 2 "the whole spec (two tests fail)"
for i in 1 2 3; do
  run_fb test --seed 7 --shard "$i/3" --output "report-$i.json" --junit "junit-$i.xml" failures.star
  [ "$rc" = 0 ] || [ "$rc" = 2 ] && ok "shard $i/3 ran (exit $rc)" || fail "shard $i/3: exit $rc"
  grep -o '^--- [A-Z]*: test_[a-z_]*' out | sed 's/.* //' >>ran.txt
done
if [ "$(sort ran.txt)" = "$(grep -o '^--- [A-Z]*: test_[a-z_]*' all.txt | sed 's/.* //' | sort)" ] && [ "$(sort ran.txt | uniq -d)" = "" ]; then
  ok "shards 1/3, 2/3, 3/3 ran every test exactly once: $(tr '\n' ' ' <ran.txt)"
else
  fail "shards ran: $(tr '\n' ' ' <ran.txt)"
fi
run_fb test --shard 1/7 failures.star
expect_rc 0 "a shard beyond the tests runs nothing"
expect_out out '^0 passed, 0 failed$'

run_fb merge report-3.json report-1.json report-2.json --output merged.json --junit merged.xml
expect_rc 2 "merge exits 2 when a shard's test failed"
strip_times() { sed -E 's/\([0-9]+ms, /(Nms, /' "$1"; }
diff <(strip_times all.txt) <(strip_times out) >diff.txt && ok "merged text is the text of one run" || { fail "merged text differs"; sed 's/^/  /' diff.txt; }
python3 - all.json merged.json <<'PY' && ok "merged JSON is the JSON of one run" || fail "merged JSON differs"
import json, sys
def norm(d):
    d.pop("duration_ms")
    d.pop("start_time")
    for t in d["tests"]:
        t.pop("duration_ms")
        t.pop("phases_us", None)
        for e in t["events"]:
            e.pop("timestamp")
            e.get("fields", {}).pop("pid", None)
    return d
a, m = (norm(json.load(open(f))) for f in sys.argv[1:])
if a != m:
    print(json.dumps(a, indent=1)[:2000]); print(json.dumps(m, indent=1)[:2000]); sys.exit(1)
PY
if xmllint --noout --schema "$FAULTBOX_SRC/tests/integration/junit.xsd" merged.xml 2>xml.err && grep -q 'tests="4" failures="2"' merged.xml; then ok "merged JUnit counts 4 tests, 2 failures"; else fail "merged JUnit: $(cat xml.err; head -3 merged.xml)"; fi

run_fb merge report-3.json --format json
expect_rc 0 "merge of a passing shard exits 0"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["version"]==2 and d["pass"]==2' out && ok "--format json on stdout" || fail "--format json"
expect_out err '^2 passed, 0 failed$'

echo '{"version": 2, "tests": [' >broken.json
run_fb merge report-1.json broken.json
expect_rc 1 "an unreadable report"
expect_out err '^faultbox: merge: broken.json: not JSON'
run_fb merge report-1.json missing.json
expect_rc 1 "a missing report"
expect_out err '^faultbox: merge: missing.json: cannot open missing.json: No such file or directory$'
run_fb merge report-1.json report-1.json
expect_rc 1 "the same shard twice"
expect_out err 'merge: report-1.json: test_assert_fails is in more than one report'
run_fb merge
expect_rc 1 "merge without reports"
finish
