#!/usr/bin/env bash
# Service options of the lab on real processes: caps=/drop_caps=, rootfs=
# (an overlay per cell) with volumes=, --verbose (live [svc] output, swept
# cgroups named), --keep-workdir, a missing feature reported in doctor's
# words, and nginx configured by a file beside its spec.
. "$(dirname "$0")/lib.sh"
need_root
D="$TMP/spec"
mkdir -p "$D"

# --- capabilities: the default set, drop_caps=, caps= -----------------------
cat >"$D/probe.sh" <<'SH'
touch /tmp/f
chown 1000 /tmp/f 2>/dev/null && echo "chown ok" || echo "chown denied"
ip link set lo mtu 1400 2>/dev/null && echo "mtu ok" || echo "mtu denied"
sed -n 's/^CapEff:\t//p' /proc/self/status
SH
# The documented default: chown dac_override fowner fsetid kill setgid setuid
# setpcap net_bind_service net_raw sys_chroot mknod audit_write setfcap.
default=$(python3 -c 'print("%016x" % sum(1 << b for b in (0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31)))')
no_chown=$(python3 -c "print('%016x' % (0x$default & ~1))")
net_admin=$(python3 -c "print('%016x' % (0x$default | 1 << 12))")
cat >"$D/caps.star" <<STAR
# Each service reports what it may do (probe.sh, beside this spec), then
# serves the report over HTTP.
def probe(name, **kw):
    return service(name, "/bin/sh", interface("http", "http", 8000),
        args = ["-c", "sh $D/probe.sh > /work/report 2>&1; cat /work/report; exec /usr/bin/python3 -m http.server -d /work 8000"],
        healthcheck = http("localhost:8000/report", timeout = "10s"), **kw)

plain = probe("plain")
nochown = probe("nochown", drop_caps = ["chown"])
netadmin = probe("netadmin", caps = ["CAP_NET_ADMIN"])

def test_caps():
    assert_eq(plain.http.get(path = "/report").body, "chown ok\nmtu denied\n$default")
    assert_eq(nochown.http.get(path = "/report").body, "chown denied\nmtu denied\n$no_chown")
    assert_eq(netadmin.http.get(path = "/report").body, "chown ok\nmtu ok\n$net_admin")
STAR

# a leftover of a runner that is gone, for the sweep to name
v2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
sh -c 'exit 0' &
dead=$!
wait $dead
mkdir "$v2/faultbox-$dead-0"

run_fb test "$D/caps.star" --verbose
expect_rc 0 "default caps, drop_caps=[\"chown\"], caps=[\"CAP_NET_ADMIN\"]"
expect_out out '^--- PASS: test_caps'
expect_out err "^faultbox: swept leftover cgroup faultbox-$dead-0 \(runner $dead is gone\)$"
[ -d "$v2/faultbox-$dead-0" ] && fail "leftover cgroup not removed" || ok "leftover cgroup removed"
# --verbose: the services' output, live on stderr, one [name] prefix a line
expect_out err '^\[plain\] chown ok$'
expect_out err '^\[nochown\] chown denied$'
expect_out err '^\[netadmin\] mtu ok$'
expect_out err "^\\[plain\\] $default\$"
expect_out err '^\[plain\] .*"GET /report HTTP/1.1" 200'
expect_no_out out '^\[plain\]'
run_fb test "$D/caps.star"
expect_rc 0 "without --verbose"
expect_no_out err '^\[plain\]'

# --- rootfs: a standalone root under an overlay ------------------------------
R="$TMP/rootfs"
mkdir -p "$R/bin" "$R/etc"
cp /bin/dash "$R/bin/sh"
for l in $(ldd /bin/dash | grep -o '/[^ ]*'); do mkdir -p "$R$(dirname "$l")"; cp -L "$l" "$R$l"; done
echo original >"$R/etc/motd"
cat >"$R/bin/probe" <<'SH'
[ -e /written ] && echo "before: present" || echo "before: absent"
echo x >/written && echo "write ok"
echo changed >/etc/motd && read m </etc/motd && echo "motd: $m"
while read -r a n; do [ "$a $n" = "10.213.0.2 r" ] && echo "hosts ok"; done </etc/hosts
[ -r /proc/self/status ] && [ -c /dev/null ] && echo x >/tmp/x && echo "proc dev tmp ok"
SH
snapshot() { (cd "$1" && find . -printf '%p %s %m %T@\n' | sort | md5sum); }
before=$(snapshot "$R")
run_fb lab --rootfs "$R" --keep-workdir --service 'r=/bin/sh /bin/probe'
expect_rc 0 "lab --rootfs"
for l in 'before: absent' 'write ok' 'motd: changed' 'hosts ok' 'proc dev tmp ok'; do expect_out out "^\\[r\\] $l\$"; done
expect_out err '^faultbox: work dir kept: /tmp/faultbox-[0-9]+-[0-9]+$'
kept=$(sed -n 's/^faultbox: work dir kept: //p' "$TMP/err")
[ -n "$kept" ] && [ "$(cat "$kept/r.upper/written" 2>/dev/null)" = x ] \
  && ok "the service's writes are in the kept upper layer" || fail "no $kept/r.upper/written"
[ -s "$kept/r.log" ] && ok "the kept work dir has the service's log" || fail "no $kept/r.log"
rm -rf "$kept"
[ "$(snapshot "$R")" = "$before" ] && ok "the rootfs directory is unchanged" || fail "the rootfs directory changed"
run_fb lab --rootfs "$R" --service 'r=/bin/sh /bin/probe'
expect_out out '^\[r\] before: absent$'   # the next lab starts from the directory again
expect_no_out err 'work dir kept'
run_fb lab --rootfs "$R" --service 'r=/bin/nosuch'
expect_rc 1 "a binary the rootfs lacks"
expect_out err 'cannot exec /bin/nosuch: No such file or directory'

# --- rootfs= and volumes= in a spec, --keep-workdir of faultbox test ---------
S="$TMP/rootspec"
mkdir -p "$S/root/usr" "$S/root/etc"
ln -s usr/bin "$S/root/bin"; ln -s usr/lib "$S/root/lib"; ln -s usr/lib64 "$S/root/lib64"
echo original >"$S/root/etc/motd"
cat >"$S/probe.py" <<'PY'
import os, http.server
before = os.path.exists("/written")
open("/written", "w").write("x")
open("/etc/motd", "w").write("changed")
os.chdir("/work")
open("report", "w").write("before=%s" % before)
http.server.test(HandlerClass=http.server.SimpleHTTPRequestHandler, port=8000, bind="0.0.0.0")
PY
cat >"$S/rootfs.star" <<STAR
# The root is ./root (symlinks into /usr), the host's /usr bound read-only.
svc = service("svc", "/usr/bin/python3", interface("http", "http", 8000),
    args = ["$S/probe.py"],
    rootfs = "root",
    volumes = {"/usr": "/usr"},
    healthcheck = http("localhost:8000/report", timeout = "10s"))

def test_first():
    assert_eq(svc.http.get(path = "/report").body, "before=False")

def test_second():
    assert_eq(svc.http.get(path = "/report").body, "before=False")
STAR
before=$(snapshot "$S/root")
run_fb test "$S/rootfs.star" --keep-workdir -j 1
expect_rc 0 "rootfs= and volumes=: each cell starts from the directory"
expect_out out '^--- PASS: test_first'
expect_out out '^--- PASS: test_second'
[ "$(snapshot "$S/root")" = "$before" ] && ok "the spec's rootfs directory is unchanged" || fail "the spec's rootfs changed"
[ "$(grep -c '^  work dir kept: /tmp/faultbox-' "$TMP/out")" = 2 ] && ok "each test says where its work dir is kept" \
  || fail "work dir lines: $(grep 'work dir' "$TMP/out")"
for d in $(sed -n 's/^  work dir kept: //p' "$TMP/out"); do
  [ -f "$d/svc.upper/written" ] && [ -f "$d/svc.log" ] && ok "kept: $d" || fail "kept dir $d lacks the upper layer or log"
  rm -rf "$d"
done
run_fb test "$S/rootfs.star" --format json
python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["tests"]; assert all("workdir" not in x for x in t)' "$TMP/out" \
  && ok "no workdir in the JSON without --keep-workdir" || fail "JSON has a workdir"
# without --keep-workdir the upper layers go with their labs
left=$(dead_workdirs /tmp)
[ -z "$left" ] && ok "no work dir left" || fail "work dirs left: $left"

# --- nginx configured by a file beside its spec -----------------------------
if [ -x /usr/sbin/nginx ]; then
  N="$TMP/nginx"
  mkdir -p "$N"
  nginx_conf "$N/nginx.conf" "hello from nginx beside its spec"
  cat >"$N/web.star" <<STAR
web = service("web", "/usr/sbin/nginx", interface("http", "http", 8080),
    args = ["-e", "stderr", "-c", "$N/nginx.conf"],
    healthcheck = http("localhost:8080/", timeout = "10s"))

def test_page():
    assert_eq(web.http.get(path = "/").body, "hello from nginx beside its spec")
STAR
  run_fb test "$N/web.star"
  expect_rc 0 "nginx reads the configuration beside its spec"
  expect_out out '^--- PASS: test_page'
else
  skip "nginx not installed (scripts/bootstrap installs nginx-light)"
fi

# --- without root: doctor and the lab go rootless (test_rootless has more) --
if command -v setpriv >/dev/null; then
  chmod 755 "$TMP"
  cp "$FAULTBOX" "$TMP/faultbox"
  # CAP_DAC_READ_SEARCH alone: a root directory only root may search (a
  # chroot made by mktemp, as fresh-check's) must not hide the libraries
  nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=+dac_read_search \
               --ambient-caps=+dac_read_search "$TMP/faultbox" "$@"; }
  set +e
  nobody doctor >"$TMP/doctor" 2>&1
  nobody lab --service 't=/bin/true' >"$TMP/out" 2>"$TMP/err"
  rc=$?
  set -e
  if grep -Eq '^ok +privileges\.root +rootless: ' "$TMP/doctor"; then
    ok "doctor as nobody: rootless"
    expect_rc 0 "lab as nobody, rootless"
    expect_out err '^faultbox: rootless: uid 65534 is root inside'
  else
    # no user namespace for nobody: the lab fails with the reason doctor gives
    why=$(sed -En 's/^missing +rootless\.userns +(.*)$/\1/p' "$TMP/doctor")
    [ -n "$why" ] && ok "doctor as nobody: $why" || fail "doctor does not say why not rootless: $(cat "$TMP/doctor")"
    expect_rc 1 "lab without root or a user namespace"
    expect_out err 'rootless: cannot create a user namespace \(faultbox doctor: rootless.userns\)'
  fi
else
  skip "setpriv not installed (util-linux)"
fi
finish
