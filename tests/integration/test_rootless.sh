#!/usr/bin/env bash
# faultbox run by an unprivileged user without a subordinate range (nobody):
# it enters a user namespace of its own with its one uid mapped to root, says
# so on its first line, runs a lab and a test there, refuses limits and
# user= with a clear error instead of ignoring them, and doctor says what
# rootless mode has and the command that fixes what it lacks.
# (scripts/test-rootless runs the other integration probes as a user with
# a subordinate range.)
# (as in scripts/test-rootless: out of a chroot, which refuses user namespaces)
if [ "$(id -u)" = 0 ] && [ -z "${FAULTBOX_UNCHROOTED:-}" ]; then
  exec "${FAULTBOX_SRC:-$(dirname "$0")/../..}/scripts/unchroot" bash "$0" "$@"
fi
[ "$(id -u)" != 0 ] || [ -n "$(find / -maxdepth 0 -perm -o=x)" ] || chmod o+rx /
. "$(dirname "$0")/lib.sh"
need_real_root
command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"
setpriv --reuid=65534 --regid=65534 --clear-groups unshare -Urn true 2>/dev/null \
  || skip "unprivileged user namespaces are not allowed here (faultbox doctor: rootless.userns)"
W="$TMP/w"
chmod 755 "$TMP"  # nobody reaches its directory
mkdir -m 777 "$W"

as_nobody() { # as_nobody ARGS...: faultbox as uid 65534, like run_fb
  set +e
  (cd "$W" && setpriv --reuid=65534 --regid=65534 --clear-groups env -u FAULTBOX_CGROUP -u SUDO_USER HOME="$W" \
    "$FAULTBOX" "$@") >"$TMP/out" 2>"$TMP/err"
  rc=$?
  set -e
}

printf 'echo "uid=$(id -u) map=$(cat /proc/self/uid_map | tr -s " " | sed "s/^ //")"\n' >"$W/id.sh"
as_nobody lab --bind "$W" --service "a=/bin/sh $W/id.sh" --run 'sleep 0.3'
expect_rc 0 "a lab as nobody"
expect_out err '^faultbox: rootless: uid 65534 is root inside, the only uid mapped \(user= unavailable: no range for nobody in /etc/subuid and /etc/subgid\); no delegated cgroup: labs run without limits \(faultbox doctor\)$'
[ "$(head -1 "$TMP/err" | cut -c1-19)" = "faultbox: rootless:" ] && ok "said on the first line" || fail "not the first line"
expect_out out '^\[a\] uid=0 map=0 65534 1$'

as_nobody lab --pids-max 20 --service 'a=/bin/sleep 1' --run true
expect_rc 1 "a limit without a delegated cgroup"
expect_out err 'lab: service "a": cannot limit pids: rootless without a delegated cgroup v2 subtree \(faultbox doctor: rootless.cgroup\)$'

cat >"$W/who.star" <<'STAR'
who = service("who", "/bin/sleep", args = ["1000"], user = "nobody")

def test_who():
    pass
STAR
as_nobody test who.star
expect_rc 2 "user= with one uid mapped"
expect_out out 'reason: service "who": uid 65534 gid 65534: rootless maps one uid \(no range for nobody in /etc/subuid and /etc/subgid; faultbox doctor: rootless.subuid\)'

# a test with a syscall fault, rootless: seccomp notification as for root
cat >"$W/fault.star" <<STAR
db = service("db", "$FAULTBOX_BUILD/src/demo/mock-db", interface("main", "tcp", 5432), healthcheck = tcp("localhost:5432"))

def test_pong():
    assert_eq(db.main.send(data = "PING"), "PONG")

def test_reset():
    def ping():
        db.main.send(data = "PING")
    fault(db, read = deny("ECONNRESET"), run = ping)
STAR
as_nobody test fault.star
expect_rc 2 "a test with a syscall fault, rootless: the faulted one fails"
expect_out out '^--- PASS: test_pong '
expect_out out '^--- FAIL: test_reset '
expect_out out ' db +read +deny\(ECONNRESET\)'

as_nobody doctor --format json
expect_rc 0 "doctor as nobody"
python3 - "$TMP/out" <<'PY' && ok "doctor: rootless in use, one uid, no delegated cgroup, with the fixes" || fail "doctor's rootless report"
import json, sys
d = json.load(open(sys.argv[1]))
f = {x["name"]: x for x in d["features"]}
assert d["core_ok"] is True, d
assert f["privileges.root"]["ok"] and "rootless" in f["privileges.root"]["detail"], f["privileges.root"]
assert f["rootless.userns"]["ok"] and "in use" in f["rootless.userns"]["detail"], f["rootless.userns"]
assert not f["rootless.subuid"]["ok"] and "usermod --add-subuids" in f["rootless.subuid"]["detail"], f["rootless.subuid"]
assert not f["rootless.cgroup"]["ok"] and "Delegate=yes" in f["rootless.cgroup"]["detail"], f["rootless.cgroup"]
assert not f["cgroup.kill"]["ok"], f["cgroup.kill"]
PY
# A delegated cgroup v2 subtree, as systemd's Delegate=yes makes one: the
# runner starts inside it (a directory of its user's) and its labs go below.
v2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
D="$v2/fbtest-rootless-$$"
mkdir "$D"
trap 'rmdir "$D" 2>/dev/null; rm_tmp' EXIT
chown 65534 "$D" "$D/cgroup.procs" "$D/cgroup.subtree_control" "$D/cgroup.threads"
in_delegated() { # in_delegated ARGS...: as_nobody, from inside $D
  set +e
  (echo "$BASHPID" >"$D/cgroup.procs" && cd "$W" && setpriv --reuid=65534 --regid=65534 --clear-groups \
    env -u FAULTBOX_CGROUP -u SUDO_USER HOME="$W" "$FAULTBOX" "$@") >"$TMP/out" 2>"$TMP/err"
  rc=$?
  set -e
}
in_delegated lab --service 'a=/bin/sleep 1000' --run "cat $D/faultbox-*/a/cgroup.procs"
expect_rc 0 "a lab in a delegated cgroup"
expect_out err "^faultbox: rootless: .*; cgroup $D\$"
[ "$(grep -c '^[0-9][0-9]*$' "$TMP/out")" -ge 1 ] && ok "the service runs in the lab's cgroup below it" \
  || { fail "no process in $D/faultbox-*/a"; sed 's/^/  out: /' "$TMP/out"; }
in_delegated doctor --format json
python3 - "$TMP/out" "$D" <<'PY' && ok "doctor: the delegated cgroup, kill and freeze there" || fail "doctor's delegated cgroup"
import json, sys
f = {x["name"]: x for x in json.load(open(sys.argv[1]))["features"]}
assert f["rootless.cgroup"]["ok"] and f["rootless.cgroup"]["detail"] == "delegated: " + sys.argv[2], f["rootless.cgroup"]
assert f["cgroup.kill"]["ok"] and f["cgroup.freeze"]["ok"], (f["cgroup.kill"], f["cgroup.freeze"])
PY
[ -z "$(find "$D" -mindepth 1 -type d)" ] && ok "its labs' cgroups are gone" || fail "left below $D: $(find "$D" -mindepth 1 -type d)"

left=$(find /sys/fs/cgroup -maxdepth 3 -type d -name 'faultbox-*' -user 65534 | wc -l)
[ "$left" -eq 0 ] && ok "no cgroup of nobody's" || fail "$left cgroups of nobody's"
finish
