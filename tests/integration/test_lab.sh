#!/usr/bin/env bash
# The lab on real processes: services reach each other by name, see only
# their own processes, get a fresh /tmp per lab, cannot write /usr or leave
# the lab network, and leave nothing behind.
. "$(dirname "$0")/lib.sh"
need_root
S="$TMP/scripts"
mkdir -p "$S"
cat >"$S/client.sh" <<'SH'
sleep 0.5
python3 - <<'PY'
import urllib.request, socket, os, sys
print("by-name", urllib.request.urlopen("http://web:8000/", timeout=5).status)
print("procs", sum(1 for p in os.listdir("/proc") if p.isdigit()))
print("hostname", socket.gethostname())
try:
    open("/usr/faultbox-probe", "w")
    print("usr writable")
except OSError as e:
    print("usr", e.strerror)
print("tmp-before", os.path.exists("/tmp/mark"))
open("/tmp/mark", "w").write("x")
host = sys.argv[1] if len(sys.argv) > 1 else ""
PY
python3 - "$(cat "$0".host 2>/dev/null)" <<'PY'
import socket, sys
host = sys.argv[1]
s = socket.socket(); s.settimeout(1)
try:
    s.connect((host, 22)); print("outside reachable")
except OSError as e:
    print("outside", type(e).__name__)
PY
# tell the worker we are done: it polls this port
exec python3 -m http.server 9000 >/dev/null 2>&1
SH
hostname -I | awk '{print $1}' >"$S/client.sh.host"
[ -s "$S/client.sh.host" ] || skip "this machine has no non-loopback address to test isolation against"

lab() { run_fb lab --bind "$S" --service 'web=/usr/bin/python3 -m http.server 8000' --service "client=/bin/sh $S/client.sh" "$@"; }
mounts_before=$(grep -c faultbox /proc/self/mountinfo || true)
links_before=$(ip -o link | wc -l)

wait_client='python3 -c "
import time, urllib.request
for _ in range(300):
    try:
        urllib.request.urlopen(\"http://10.213.0.2:9000/\", timeout=1); break
    except OSError:
        time.sleep(0.1)
"'
lab --run "$wait_client; python3 -c 'import urllib.request;print(\"worker\", urllib.request.urlopen(\"http://10.213.0.3:8000/\").status)'"
expect_rc 0 "two-service lab"
expect_out out '^client	10\.213\.0\.2$'
expect_out out '^web	10\.213\.0\.3$'
expect_out out '^worker 200$'
expect_out out '^\[client\] by-name 200$'
expect_out out '^\[client\] hostname client$'
expect_out out '^\[client\] usr Read-only file system$'
expect_out out '^\[client\] tmp-before False$'
expect_out out '^\[client\] outside (OSError|TimeoutError|ConnectionRefusedError|timeout)'
expect_no_out out 'outside reachable'
procs=$(sed -n 's/^\[client\] procs //p' "$TMP/out")
[ -n "$procs" ] && [ "$procs" -le 4 ] && ok "client sees only its own $procs processes" || fail "client sees ${procs:-?} processes"

lab --run "$wait_client"
expect_out out '^\[client\] tmp-before False$'   # a fresh /tmp in the next lab

# A Debian daemon starts as it would in a container (redis-server is a
# symlink that dispatches on argv[0]).
if [ -x /usr/bin/redis-server ] && command -v redis-cli >/dev/null; then
  run_fb lab --service 'redis=/usr/bin/redis-server --port 6379 --save --daemonize no --protected-mode no' \
    --run 'for i in $(seq 50); do redis-cli -h 10.213.0.2 ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done; redis-cli -h 10.213.0.2 set k v; redis-cli -h 10.213.0.2 get k'
  expect_rc 0 "redis lab"
  expect_out out '^OK$'
  expect_out out '^v$'
else
  skip "redis-server not installed (scripts/bootstrap installs it)"
fi

# Limits: a fork bomb stops at pids.max; a memory hog is killed and the OOM reported.
printf 'trap "" TERM\nwhile :; do sleep 1; done\n' >"$S/stubborn.sh"
cat >"$S/forks.py" <<'PY'
import os, time
ok = fail = 0
for i in range(60):
    try:
        if os.fork() == 0:
            time.sleep(3); os._exit(0)
        ok += 1
    except OSError:
        fail += 1
print("forked", ok, "failed", fail, flush=True)
PY
if rootless_no_cgroup; then
  # rootless without a delegated cgroup: a limit is refused, never ignored
  run_fb lab --bind "$S" --pids-max 20 --service "forks=/usr/bin/python3 $S/forks.py" --run 'sleep 1.5'
  expect_rc 1 "pids limit without a cgroup"
  expect_out err 'service "forks": cannot limit pids: rootless without a delegated cgroup v2 subtree \(faultbox doctor: rootless.cgroup\)'
  expect_out err '^faultbox: rootless: .*no delegated cgroup: labs run without limits'
else
run_fb lab --bind "$S" --pids-max 20 --service "forks=/usr/bin/python3 $S/forks.py" --run 'sleep 1.5'
expect_out out '^\[forks\] forked 1[0-9] failed [4-5][0-9]$'
run_fb lab --memory-max 32M --service 'hog=/usr/bin/python3 -c x=bytearray(256*1024*1024);print(len(x))' --run 'sleep 2'
expect_out out '^\[hog\] killed by its memory limit \(out of memory\)$'
expect_no_out out '^\[hog\] 268435456$'
fi

# A service that ignores SIGTERM is killed after the 2 s grace period.
start=$(date +%s%N)
run_fb lab --bind "$S" --service "stubborn=/bin/sh $S/stubborn.sh" --run 'sleep 0.3'
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
expect_rc 0 "lab with a service ignoring SIGTERM"
[ "$elapsed" -lt 6000 ] && ok "teardown took ${elapsed}ms" || fail "teardown took ${elapsed}ms"
pgrep -f "$S/stubborn.sh" >/dev/null && fail "stubborn service survived" || ok "stubborn service is gone"

# nginx with a configuration file beside the test, as a spec would have it.
if [ -x /usr/sbin/nginx ]; then
  nginx_conf "$S/nginx.conf" "hello from nginx in a lab"
  run_fb lab --bind "$S" --service "web=/usr/sbin/nginx -c $S/nginx.conf" --run 'python3 -c "
import time, urllib.request
for _ in range(100):
    try:
        print(urllib.request.urlopen(\"http://10.213.0.2:8080/\", timeout=1).read().decode()); break
    except OSError:
        time.sleep(0.1)
"'
  expect_out out '^hello from nginx in a lab$'
else
  skip "nginx not installed (scripts/bootstrap installs nginx-light)"
fi

run_fb lab --service 'x=/nonexistent/binary'
expect_rc 1 "missing binary"
expect_out err 'cannot execute /nonexistent/binary: No such file or directory'

# 30 create/destroy cycles leave no cgroup, mount or link behind.
for i in $(seq 30); do "$FAULTBOX" run /bin/true || fail "cycle $i"; done
[ -z "$(dead_faultbox_cgroups)" ] && ok "no cgroup left" || fail "cgroups left: $(dead_faultbox_cgroups)"
[ "$(grep -c faultbox /proc/self/mountinfo || true)" = "$mounts_before" ] && ok "no mount left" || fail "faultbox mounts left: $(grep faultbox /proc/self/mountinfo)"
[ "$(ip -o link | wc -l)" = "$links_before" ] && ok "no link left" || fail "links changed"
left=$(dead_workdirs /dev/shm /tmp)
[ -z "$left" ] && ok "no work dir left" || fail "work dirs left: $left"

# kill -9 of the runner: its services die with it; the next run sweeps the cgroup.
"$FAULTBOX" lab --service 'sleeper=/bin/sleep 1000' >"$TMP/k.out" 2>&1 &
pid=$!
for _ in $(seq 50); do grep -q '^sleeper' "$TMP/k.out" && break; sleep 0.1; done
kill -9 $pid
wait $pid 2>/dev/null || true
sleep 1
pgrep -f 'sleep 1000' >/dev/null && fail "service outlived its runner" || ok "services died with the runner"
run_fb lab --verbose --service 't=/bin/true' --run true
rootless_no_cgroup || expect_out err "swept leftover cgroup faultbox-$pid-[0-9]+ \(runner $pid is gone\)"
[ -z "$(dead_faultbox_cgroups)" ] && ok "leftover swept" || fail "leftover cgroup remains: $(dead_faultbox_cgroups)"
rm -rf "/dev/shm/faultbox-$pid-"* "/tmp/faultbox-$pid-"*   # the killed runner's work dir
finish
