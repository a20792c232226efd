#!/usr/bin/env bash
# A service's sandbox: its own processes only, the lab network only, writes
# only to its work dir and /tmp, the default capabilities, no ptrace, and no
# seccomp filter of its own that gets a syscall past the runner's.
. "$(dirname "$0")/lib.sh"
need_root
command -v ip >/dev/null || skip "needs ip(8)"
prep_specs
cd "$TMP"

# In the host's network namespace: an address of our own on lo (from the
# benchmarking range 198.18.0.0/15, routed nowhere) and a listener on every
# address, so the host's own addresses answer too.
addr="198.18.77.$(($$ % 250 + 1))"
listener=""
trap 'kill $listener 2>/dev/null; [ "$addr" = 127.0.0.1 ] || ip addr del "$addr/32" dev lo 2>/dev/null; rm_tmp' EXIT
# rootless (no address of our own on the host's lo): the host's own addresses
if [ "$(id -u)" = 0 ]; then
  ip addr add "$addr/32" dev lo || skip "cannot add an address to lo"
else
  addr=127.0.0.1
fi
targets="\"$addr\""
for a in $(ip -4 -o addr show scope global | awk '{ sub("/.*", "", $4); print $4 }'); do
  [ "$a" = "$addr" ] || targets="$targets, \"$a\""
done
python3 - "$TMP/port" "$TMP/accepted" <<'PY' &
import socket, sys
s = socket.socket()
s.bind(("0.0.0.0", 0))
s.listen(16)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
n = 0
while True:
    c, _ = s.accept()
    n += 1
    open(sys.argv[2], "w").write(str(n))
    c.close()
PY
listener=$!
for _ in $(seq 100); do [ -s port ] && break; sleep 0.05; done
port=$(cat port)
# positive control: from the host every target answers
if python3 -c 'import socket,sys; [socket.create_connection((a, int(sys.argv[1])), 2) for a in eval("[" + sys.argv[2] + "]")]' "$port" "$targets"; then
  ok "the host reaches [$targets] on port $port"; else fail "the host cannot reach [$targets] on port $port"; fi
before=$(cat accepted)
sed -i -e "s|HOSTADDRS|$targets|g" -e "s|HOSTPORT|$port|g" isolation.star
mkdir vol

set +e
FBISO_SECRET=runner-only "$FAULTBOX" test isolation.star --output isolation.json >"$TMP/out" 2>"$TMP/err" &
pid=$!
wait $pid
rc=$?
set -e
expect_rc 0 "isolation.star passes"
for t in sees_only_its_own_processes reaches_the_lab_only writes_only_work_and_tmp \
         has_the_default_capabilities_only cannot_ptrace own_allow_filter_keeps_the_fault \
         own_listener_is_refused own_notify_filter_fails_its_writes holds_nothing_of_the_runner \
         io_uring_cannot_bypass_the_fault; do
  expect_out out "^--- PASS: test_$t "
done
host_ns=$(for k in pid net mnt uts ipc; do readlink "/proc/self/ns/$k"; done)
if python3 - isolation.json "$host_ns" <<'PY'
import json, sys
t = {t["name"]: t for t in json.load(open(sys.argv[1]))["tests"]}
theirs = t["test_sees_only_its_own_processes"]["return_value"].strip('"').split()
assert len(theirs) == 5 and not set(theirs) & set(sys.argv[2].split()), (theirs, sys.argv[2])
PY
then ok "a's pid, net, mnt, uts and ipc namespaces are not the host's"; else fail "a shares a namespace with the host"; fi
[ "$(cat accepted)" = "$before" ] && ok "the listener saw only the host's own connections" \
  || fail "the listener accepted $(($(cat accepted) - before)) connections from the lab"
for p in /fbiso /usr/fbiso /etc/fbiso /bin/fbiso /lib/fbiso "$FAULTBOX_BUILD/tests/helpers/fbiso"; do
  [ ! -e "$p" ] && ok "no $p on the host" || { fail "$p written on the host"; rm -f "$p"; }
done
[ -e /etc/passwd ] && [ -d /usr/bin ] && ok "teardown left the host's /etc and /usr alone" || fail "host files gone"
ls -d /tmp/faultbox-$pid-* 2>/dev/null && fail "a lab work dir is left" || ok "no lab work dir left"
left=$(find /sys/fs/cgroup -maxdepth 3 -type d -name "faultbox-$pid-*" | wc -l)
[ "$left" -eq 0 ] && ok "no cgroup left" || fail "$left cgroups of runner $pid left"

# a service no rule of the spec can reach runs with no seccomp filter at all
run_fb test "$TMP/nofilter.star"
expect_rc 0 "only the ruled service carries a filter (Seccomp: 0 for the other)"
finish
