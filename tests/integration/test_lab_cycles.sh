#!/usr/bin/env bash
# 200 create/start/destroy cycles of a two-service lab (one service that
# stays until teardown, one that exits at once) leave nothing behind: no
# cgroup, mount, network namespace, link, fd or process. The cycles run in
# tests/helpers/lab_cycles, which counts its own fds and children and looks
# for its labs' namespaces in every process; this script checks the host.
. "$(dirname "$0")/lib.sh"
need_root
helper="$FAULTBOX_BUILD/tests/helpers/lab_cycles"
[ -x "$helper" ] || { fail "no $helper (build the tests)"; finish; }
n=${FAULTBOX_LAB_CYCLES:-200}
# the sleeping service's argument, unique to this run: its processes are ours
marker=$((900000 + $$))
mounts_before=$(grep -c faultbox /proc/self/mountinfo || true)
links_before=$(ip -o link | grep -c 'fbv\|fbbr' || true)

set +e
"$helper" "$n" "$marker" >"$TMP/out" 2>"$TMP/err" &
pid=$!
wait $pid
rc=$?
set -e
expect_rc 0 "$n lab cycles"
val() { sed -n "s/^$1 //p" "$TMP/out"; }
echo "info: $(val ms_per_cycle) ms per create+start+destroy"
[ "$(val cycles)" = "$n" ] && ok "$n cycles ran" || fail "cycles: $(val cycles)"
[ -n "$(val fds_before)" ] && [ "$(val fds_before)" = "$(val fds_after)" ] \
  && ok "fds of the runner: $(val fds_before) before, $(val fds_after) after" \
  || fail "fds of the runner: $(val fds_before) before, $(val fds_after) after"
[ "$(val children)" = 0 ] && ok "no child process left" || fail "$(val children) child processes left"
[ "$(val fork_servers)" = 1 ] && ok "one fork server of inits, kept for the process's labs" \
  || fail "$(val fork_servers) fork servers"
[ "$(val fork_server_replaced)" = 1 ] && ok "a killed fork server was replaced (and reaped)" \
  || fail "the fork server killed halfway was not replaced"
[ "$(val netns_alive)" = 0 ] && ok "no lab network namespace held by the runner or a process of its labs" \
  || fail "$(val netns_alive) lab network namespaces still held"
left=$(find /sys/fs/cgroup -maxdepth 3 -type d -name "faultbox-$pid-*" 2>/dev/null)
[ -z "$left" ] && ok "no cgroup left" || fail "cgroups left: $left"
[ "$(grep -c faultbox /proc/self/mountinfo || true)" = "$mounts_before" ] && ok "no mount left" \
  || fail "faultbox mounts left: $(grep faultbox /proc/self/mountinfo)"
[ "$(ip -o link | grep -c 'fbv\|fbbr' || true)" = "$links_before" ] && ok "no lab link on the host" || fail "lab links on the host"
pgrep -f "sleep $marker" >/dev/null && fail "a service outlived its lab: $(pgrep -af "sleep $marker")" || ok "no service process left"
ls -d /tmp/faultbox-"$pid"-* >/dev/null 2>&1 && fail "work dirs left: $(ls -d /tmp/faultbox-"$pid"-*)" || ok "no work dir left"
finish
