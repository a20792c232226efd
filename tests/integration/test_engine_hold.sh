#!/usr/bin/env bash
# Hold and release through the engine library (tests/helpers/engine_probe on
# a forked child, no lab): a held getppid blocks until released, runs or
# fails as the release says, and nothing stays held after a scope is
# removed, a drain, or teardown; rules change under a busy loop safely.
. "$(dirname "$0")/lib.sh"
P="$FAULTBOX_BUILD/tests/helpers/engine_probe"
# probe SCENARIO: its output in $TMP/out; a hang (timeout's 124) shows how
# far it got rather than ending the script under set -e
probe() {
  local rc=0
  timeout 120 "$P" "$1" >"$TMP/out" 2>&1 || rc=$?
  [ $rc = 0 ] && ok "$1 scenario ran" || fail "engine_probe $1 exited $rc: $(cat "$TMP/out")"
}
probe hold
# each held call blocks the child until something releases it
[ "$(grep -c '^while held: blocked$' "$TMP/out")" = 4 ] && ok "all 4 held calls blocked" \
  || fail "held calls did not block: $(grep '^while held' "$TMP/out" | tr '\n' ' ')"
expect_out out '^release other label: 0$'
expect_out out '^release gate: 1$'
expect_out out '^release gate with EPERM: 1$'
expect_out out '^after its scope went: ok$'
expect_out out '^after teardown: ok$'
# events: the release's own event comes before the call returns (the line
# saying how many were released is printed by another thread: either side)
joined=$(tr '\n' '|' <"$TMP/out")
echo "$joined" | grep -Eq 'event getppid released allow\|(release gate: 1\|)?after release: ok' \
  && ok "release allows: event, then the call returns" || fail "release allow: $joined"
echo "$joined" | grep -Eq 'event getppid released EPERM\|(release gate with EPERM: 1\|)?after release: Operation not permitted' \
  && ok "release with EPERM fails the call" || fail "release deny: $joined"
[ "$(grep -c '^event getppid hold(gate)$' "$TMP/out")" = 3 ] && ok "3 hold(gate) events" || fail "hold events"

probe drain
expect_out out '^during a 30s delay: blocked$'
expect_out out '^after drain: ok \(within 5s\)$'
expect_out out '^a hold after drain: ok$'
expect_out out '^held late: 0$'

# rule snapshots swapped while the child calls flat out: nothing lost
probe churn
expect_out out '^child: 20000 of 20000 calls returned$'
expect_out out '^scopes pushed and popped: many$'
finish
