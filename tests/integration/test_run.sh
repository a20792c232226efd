#!/usr/bin/env bash
# faultbox run on the tutorial's target program (chapter 1), on real processes.
. "$(dirname "$0")/lib.sh"
need_root
T="$FAULTBOX_BUILD/src/demo/target"
H="$FAULTBOX_BUILD/tests/helpers"

run_fb run "$T"
expect_rc 0 "target without faults"
expect_out out '^FS: wrote and read 14 bytes'
expect_no_out err 'seccomp filter installed'   # no faults, no filter: native speed

run_fb run --fault 'openat=ENOENT:100%:/tmp/faultbox*' "$T"
expect_rc 1 "openat denied on the target's file"
expect_out err 'fs write failed: open /tmp/faultbox-target-test: No such file or directory'
expect_out err '^\[faultbox\] openat\("/tmp/faultbox-target-test"\) -> deny\(ENOENT\)'
# the start-up line names the filter's syscalls, numbers and names, once each
expect_out err '^\[faultbox\] seccomp filter installed syscalls=\[[0-9]+( [0-9]+)*\] names=\[[a-z0-9 ]*openat[a-z0-9 ]*\]$'

run_fb run --fault 'write=EIO:100%:/tmp/faultbox*' "$T"
expect_rc 1 "write denied on the target's file only"
expect_out err 'fs write failed: write /tmp/faultbox-target-test: Input/output error'
expect_out out '^PID: '   # stdout writes were not faulted: fd -> path resolution

run_fb run --fault 'openat=ENOENT:100%:/data/*' "$T"
expect_rc 0 "a rule for another path leaves the target alone"
expect_out err 'never matched a syscall'

run_fb run --fault 'write=delay:300ms:100%:/tmp/faultbox*' "$T"
expect_rc 0 "delayed write"
ms=$(sed -n 's/^FS: wrote and read 14 bytes (took \([0-9]*\).*/\1/p' "$TMP/out")
[ -n "$ms" ] && [ "$ms" -ge 300 ] && ok "delay shows in the FS step (${ms}ms)" || fail "FS step took ${ms:-?}ms, want >= 300"

# 30 %: the same seed gives the same outcome every time; seeds differ.
pattern() { "$FAULTBOX" run --seed "$1" --fault 'write=EIO:30%:/tmp/fbfam*' -- "$H/fault_families" writes20 2>/dev/null; }
first=$(pattern 7)
same=1
for i in $(seq 2 20); do [ "$(pattern 7)" = "$first" ] || same=0; done
[ $same = 1 ] && ok "seed 7 gives $first in 20 runs" || fail "seed 7 decided differently across runs"
denied=$(echo "$first" | tr -cd x | wc -c)
[ "$denied" -ge 1 ] && [ "$denied" -le 12 ] && ok "about 30% denied ($denied/20)" || fail "$denied/20 denied at 30%"
diff_seen=0
for s in 1 2 3 4 5 6; do [ "$(pattern $s)" != "$first" ] && diff_seen=1; done
[ $diff_seen = 1 ] && ok "other seeds decide differently" || fail "every seed gave $first"

# Families: write= covers writev, pwrite64, pwritev2; openat= covers openat2.
run_fb run --fault 'write=EIO:100%:/tmp/fbfam*' -- "$H/fault_families" family
expect_rc 0 "family helper ran"
for call in writev pwrite64 pwritev2; do expect_out out "^$call: Input/output error"; done
run_fb run --fault 'openat=ENOENT:100%:/tmp/fbfam*' -- "$H/fault_families" openat2
expect_out out '^openat2: No such file or directory'

# Threads and forked children are faulted too.
run_fb run --fault 'write=EIO:100%:/tmp/fbfam*' -- "$H/fault_families" threads
expect_out out '^thread: Input/output error'
expect_out out '^child: Input/output error'

# A pending delay does not hold up teardown. SIGINT lets the delayed write
# go at once, so the target's own handler runs (exit 3), well before 20 s.
start=$(date +%s%N)
"$FAULTBOX" run --fault 'write=delay:20s:100%:/tmp/fbfam*' -- "$H/fault_families" handler >"$TMP/out" 2>"$TMP/err" &
pid=$!
for _ in $(seq 100); do grep -q 'delay(20s)' "$TMP/err" && break; sleep 0.1; done
kill -INT $pid
rc=0; wait $pid || rc=$?
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
[ $rc = 3 ] && ok "SIGINT during a 20s delay: the target's handler ran (exit 3)" || fail "exit $rc after SIGINT, want 3"
expect_out out '^handler: SIGINT'
[ "$elapsed" -lt 15000 ] && ok "SIGINT during a 20s delay ended the run in ${elapsed}ms" || fail "run took ${elapsed}ms after SIGINT"
# The target exits while another of its threads waits in a 20 s delay.
start=$(date +%s%N)
run_fb run --fault 'write=delay:20s:100%:/tmp/fbfam*' -- "$H/fault_families" exit_in_delay
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
expect_rc 0 "the target exited with a delayed write pending in a thread"
expect_out err 'write\("/tmp/fbfam-thread[^"]*"\) -> delay\(20s\)'
[ "$elapsed" -lt 15000 ] && ok "and the run ended in ${elapsed}ms, not after the delay" || fail "run took ${elapsed}ms"

run_fb run --fault 'write=EIO:abc%' "$T"
expect_rc 1 "malformed probability"
expect_out err 'segment "abc%"'
run_fb run --fault 'wirte=EIO' "$T"
expect_rc 1 "unknown syscall"
expect_out err 'unknown syscall "wirte" \(did you mean write\?\)'
run_fb run /nonexistent/bin
expect_rc 1 "missing binary"
expect_out err 'cannot execute /nonexistent/bin: No such file or directory'
finish
