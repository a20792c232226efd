#!/usr/bin/env bash
# Replay bundles: `faultbox test --bundle DIR|F.tar.gz` keeps the spec (and
# what it loads), seeds, command line, environment, report and service logs;
# `faultbox replay` runs exactly that again, from the bundle's copy of the
# spec, with the same seeds and flags. Also: the log tails in JSON and
# JUnit, and the JUnit file valid against junit.xsd.
. "$(dirname "$0")/lib.sh"
need_root
command -v xmllint >/dev/null || skip "needs xmllint"
prep_specs
cd "$TMP"
xsd="$FAULTBOX_SRC/tests/integration/junit.xsd"
mkdir lib
echo 'WANT = "PANG"' >lib/want.star
results() { grep -E '^(--- (PASS|FAIL)|  reason:|  replay:|[0-9]+ passed)' "$1" | sed -E 's/\([0-9]+ms, /(Nms, /'; }

FAULTBOX_BUNDLE_NOTE=ci-42 run_fb test replay.star --seed 7 --bundle b --normalize orig.norm --junit junit.xml --output report.json
expect_rc 2 "the recorded run fails"
cp out orig.txt
expect_out out '^--- FAIL: test_ping_fails \([0-9]+ms, seed=7\) ---$'
expect_out out '^--- FAIL: test_flaky_disk \([0-9]+ms, seed=7\) ---$'
expect_out out '^1 passed, 2 failed$'

# what the bundle holds
for f in bundle.json report.json spec/replay.star spec/lib/want.star logs/test_ping_fails/db.log logs/test_flaky_disk/db.log; do
  [ -f "b/$f" ] && ok "the bundle holds $f" || fail "the bundle lacks $f: $(cd b && find . -type f | tr '\n' ' ')"
done
grep -q 'mock-db: listening on :5432' b/logs/test_ping_fails/db.log && ok "the service log is in the bundle" || fail "db.log: $(cat b/logs/test_ping_fails/db.log)"
cmp -s replay.star b/spec/replay.star && ok "the spec is copied as it was" || fail "spec copy differs"
python3 - b/bundle.json "$FAULTBOX" <<'PY' && ok "the manifest has command line, flags, seeds, environment, version, kernel" || fail "manifest: $(cat b/bundle.json)"
import json, os, subprocess, sys
m = json.load(open(sys.argv[1]))
assert m["command_line"] == ["faultbox", "test", "replay.star", "--seed", "7", "--bundle", "b", "--normalize", "orig.norm",
                             "--junit", "junit.xml", "--output", "report.json"], m["command_line"]
assert m["args"] == ["--seed", "7"], m["args"]
assert m["seed"] == 7 and m["seeds"] == {"test_flaky_disk": 7, "test_ping_fails": 7, "test_ping_passes": 7}, m["seeds"]
assert m["environment"]["FAULTBOX_BUNDLE_NOTE"] == "ci-42", m["environment"]
assert "faultbox " + m["faultbox_version"] == subprocess.check_output([sys.argv[2], "--version"], text=True).strip()
assert m["kernel"].startswith(os.uname().release), m["kernel"]
assert m["star_file"] == "replay.star" and m["spec_dir"] == os.getcwd()
assert json.load(open("b/report.json"))["fail"] == 2
PY

# log tails in the JSON report and the JUnit file
python3 - <<'PY' && ok "each test's JSON result carries the db log tail" || fail "JSON logs: $(head -c 600 report.json)"
import json
for t in json.load(open("report.json"))["tests"]:
    [log] = t["logs"]
    assert log["service"] == "db" and "listening on :5432" in log["tail"] and log["cut"] is False, log
PY
if xmllint --noout --schema "$xsd" junit.xml 2>xml.err; then ok "JUnit validates against junit.xsd"; else fail "junit.xml: $(cat xml.err)"; fi
[ "$(grep -c '<system-out>--- db ---' junit.xml)" = 3 ] && grep -q '^mock-db: listening on :5432$' junit.xml \
  && ok "JUnit system-out per testcase has the db log" || fail "JUnit system-out: $(grep -A3 system-out junit.xml | head)"
sed 's/ hostname="[^"]*"/ hostname=""/' junit.xml >bad.xml
if xmllint --noout --schema "$xsd" bad.xml 2>/dev/null; then fail "junit.xsd accepts an empty hostname"; else ok "junit.xsd refuses an empty hostname"; fi

# replay: the bundle's spec (the loaded file changed since), same seeds
echo 'WANT = "PONG"' >lib/want.star
mkdir elsewhere && cd elsewhere
run_fb replay ../b --normalize ../replay.norm
cd ..
expect_rc 2 "replay fails as the recorded run did"
diff <(results orig.txt) <(results out) >diff.txt && ok "replay prints the recorded results" || { fail "replay differs"; sed 's/^/  /' diff.txt; }
expect_out err '^replay: faultbox test --seed 7 --normalize \.\./replay\.norm replay\.star \(from \.\./b\)$'
run_fb diff orig.norm replay.norm
expect_rc 0 "replay's normalized trace is the recorded one (same seed, same faults)"
run_fb test replay.star --seed 7 --test ping_fails
expect_rc 0 "the spec itself passes test_ping_fails now: replay used the bundle's copy"

run_fb replay b --test ping_fails
expect_rc 2 "replay --test narrows"
expect_out out '^--- FAIL: test_ping_fails \([0-9]+ms, seed=7\) ---$'
expect_no_out out 'test_flaky_disk|test_ping_passes'
expect_out out '^0 passed, 1 failed$'
run_fb replay b --test flaky_disk --seed 8 --normalize other.norm
run_fb diff orig.norm other.norm
expect_rc 2 "another --seed given to replay overrides the recorded one"

# packed, and flags recorded
echo 'WANT = "PANG"' >lib/want.star
run_fb test replay.star --seed 3 --runs 2 --test ping_passes --bundle r.tar.gz
expect_rc 0 "a passing run writes a packed bundle"
tar tzf r.tar.gz >list.txt && grep -qx './bundle.json' list.txt && grep -qx './spec/lib/want.star' list.txt \
  && grep -qx './logs/test_ping_passes/db.log' list.txt && ok "the .tar.gz holds manifest, spec and logs" || fail "tar: $(cat list.txt)"
run_fb replay r.tar.gz
expect_rc 0 "replay of the packed bundle"
expect_out out '^--- PASS: test_ping_passes \(2/2 runs\) ---$'
expect_out out '^1 passed, 0 failed$'
expect_out err '^replay: faultbox test --seed 3 --runs 2 --test ping_passes replay.star'
run_fb test replay.star --seed 7 --bundle f.tar.gz
run_fb replay f.tar.gz --test ping_fails
expect_rc 2 "replay of a failing packed bundle exits 2"
expect_out out '^--- FAIL: test_ping_fails \([0-9]+ms, seed=7\) ---$'

# service binaries are referenced, not copied
mkdir bin && cp "$demo/mock-db" bin/
sed "s|$demo/mock-db|$TMP/bin/mock-db|" replay.star >own-bin.star
run_fb test own-bin.star --test ping_passes --bundle ob
expect_rc 0 "a spec with its own binary"
rm bin/mock-db
run_fb replay ob
expect_rc 1 "a binary gone since recording is named where the spec declares it"
expect_out err "own-bin.star:7:6: service db: cannot execute $TMP/bin/mock-db: No such file or directory"

# bad bundles
run_fb replay missing
expect_rc 1 "a missing bundle"
expect_out err '^faultbox: replay: cannot open missing: No such file or directory$'
head -c 100 f.tar.gz >corrupt.tar.gz
run_fb replay corrupt.tar.gz
expect_rc 1 "a corrupt .tar.gz"
expect_out err '^faultbox: replay: cannot unpack corrupt.tar.gz: .+'
mkdir empty
run_fb replay empty
expect_rc 1 "a directory that is no bundle"
expect_out err '^faultbox: replay: empty: not a faultbox bundle \(no bundle.json\)$'
cp -r b nospec && rm nospec/spec/replay.star
run_fb replay nospec
expect_rc 1 "a bundle without its spec"
expect_out err '^faultbox: replay: nospec: the bundle has no spec/replay.star: No such file or directory$'
cp -r b badjson && echo '{"faultbox_bundle": 1,' >badjson/bundle.json
run_fb replay badjson
expect_rc 1 "a bundle with a broken manifest"
expect_out err '^faultbox: replay: badjson: bundle.json: not JSON'
run_fb replay b extra.star
expect_rc 1 "replay takes its spec from the bundle"
expect_out err 'unexpected argument "extra.star" \(the spec comes from the bundle\)'
FAULTBOX_RUNS_DIR="$TMP/no-runs" run_fb replay
expect_rc 1 "replay without a bundle, and no failed run recorded"
expect_out err '^faultbox: replay: no bundle given and no failed run under .*/no-runs '
run_fb replay --test ping_fails
expect_rc 2 "replay without a bundle: the last failed run's (test_check.sh checks which)"
mkdir other && touch other/keep
run_fb test replay.star --test ping_passes --bundle other
expect_rc 1 "--bundle refuses a directory that is not a bundle"
expect_out err 'other exists and is not a faultbox bundle \(not overwriting it\)'
[ -f other/keep ] && ok "and leaves it alone" || fail "other/keep is gone"
run_fb test replay.star --test ping_passes --bundle b
expect_rc 0 "--bundle replaces an old bundle"
[ ! -e b/logs/test_ping_fails ] && ok "nothing of the old bundle is left" || fail "old logs left in b"
finish
