#!/usr/bin/env bash
# `faultbox list` (what a run would select, without running it),
# `faultbox init` (a starter spec that passes as written: tcp, and http,
# redis and postgres found by probing the binary's port in a lab),
# and the shell completions.
. "$(dirname "$0")/lib.sh"
demo="$FAULTBOX_BUILD/src/demo"
sed -e "s|DEMO|$demo|g" "$FAULTBOX_SRC/tests/integration/specs/failures.star" >"$TMP/failures.star"
cd "$TMP"

run_fb list failures.star
expect_rc 0 "list"
[ "$(cat out)" = "$(printf 'test_assert_fails\ntest_fail_builtin\ntest_never_fires\ntest_returns_value')" ] \
  && ok "list prints the tests in run order" || fail "list printed: $(cat out)"
run_fb list --shard 2/2 --format json failures.star
expect_rc 0 "list --shard --format json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["tests"]==["test_never_fires","test_returns_value"], d' out \
  && ok "list --shard 2/2 names the second half" || fail "list --format json: $(cat out)"
run_fb list --test nosuch failures.star
expect_rc 1 "list with a filter that matches nothing"
expect_out err 'no test matched filter "nosuch"'
run_fb list
expect_rc 1 "list without a spec"

run_fb init --protocol tcp "$demo/mock-db"
expect_rc 0 "init --protocol tcp"
expect_out out '^wrote faultbox.star; run it with: faultbox test faultbox.star$'
expect_out_file() { grep -Eq -- "$2" "$1" && ok "$1 matches /$2/" || fail "$1 lacks /$2/"; }
expect_out_file faultbox.star '^mock_db = service\("mock-db", ".*/mock-db",$'
run_fb init --protocol tcp "$demo/mock-db"
expect_rc 1 "init does not overwrite"
expect_out err 'init: cannot create faultbox.star: File exists'
# without root there is no lab to probe in: say the protocol
run_fb init $([ "$(id -u)" = 0 ] || echo --protocol http) --name api --port 9090 --output api.star "$demo/mock-api"
expect_rc 0 "init (http) --name --port --output"
expect_out_file api.star 'interface\("main", "http", 9090\)'
# what the binary speaks, found by asking its port in a lab
[ "$(id -u)" != 0 ] || expect_out out '^.*/mock-api speaks http \(GET / answered HTTP/1.1 404 Not Found\)$'
run_fb init --protocol udp --output - "$demo/mock-db"
expect_rc 1 "init --protocol udp is refused"
expect_out err 'init: --protocol takes tcp, http, redis, postgres, mysql, memcached or nats, not "udp"'
run_fb init --protocol redis --output -  /usr/bin/true
expect_rc 0 "init --protocol redis skips the probe"
expect_out out 'interface\("main", "redis", 6379\)'
expect_out out 'fault\(true.main, error\(command = "SET"' 
run_fb init --output - "$TMP/no-such-binary"
expect_rc 1 "init of a missing binary"
expect_out err 'init: cannot execute .*no-such-binary: No such file or directory'

if [ "$(id -u)" = 0 ]; then
  if [ -x /usr/bin/redis-server ]; then
    run_fb init --name cache --port 6379 --output cache.star /usr/bin/redis-server
    expect_rc 0 "init probes redis-server"
    expect_out out '^/usr/bin/redis-server speaks redis \(RESP: -DENIED Redis is running in protected mode'
    expect_out_file cache.star 'args = \["--protected-mode", "no"\],'
  else echo "no redis-server: not probed"; fi
  if [ -x /usr/sbin/nginx ]; then
    nginx_conf "$TMP/nginx.conf" "web up"
    run_fb init --output web.star /usr/sbin/nginx -c "$TMP/nginx.conf"
    expect_rc 0 "init probes nginx (its arguments after the binary)"
    expect_out out '^/usr/sbin/nginx speaks http '
    expect_out_file web.star "args = \[\"-c\", \"$TMP/nginx.conf\"\],"
  else echo "no nginx: not probed"; fi
  if [ -x /usr/bin/memcached ]; then
    run_fb init --port 11211 --output mc.star /usr/bin/memcached -u root
    expect_rc 0 "init probes memcached"
    expect_out out '^/usr/bin/memcached speaks memcached \(version answered VERSION '
  else echo "no memcached: not probed"; fi
  if [ -x /usr/sbin/nats-server ]; then
    run_fb init --port 4222 --output nats.star /usr/sbin/nats-server
    expect_rc 0 "init probes nats-server"
    expect_out out '^/usr/sbin/nats-server speaks nats \(it sent an INFO line'
  else echo "no nats-server: not probed"; fi
  run_fb init --output never.star /bin/true
  expect_rc 1 "init of a binary that never listens"
  expect_out err '^faultbox: init: probing /bin/true: /bin/true exited before it listened on port 8080$'
  for spec in faultbox.star api.star cache.star web.star mc.star nats.star; do
    [ -f "$spec" ] || continue
    run_fb test --no-progress "$spec"
    expect_rc 0 "the starter $spec passes as written"
    expect_out out '^--- PASS: test_answers_with_slow_writes .*$'
    expect_out out "^$([ $spec = faultbox.star ] && echo 3 || echo 4) passed, 0 failed\$"
    expect_no_out out 'WARNING'
  done
  expect_out_file cache.star 'error\(command = "SET"'
  expect_out_file web.star 'error\(method = "GET", path = "/", status = 503\)' 
  expect_out_file mc.star 'error\(command = "SET", message = "SERVER_ERROR'
  expect_out_file nats.star 'error\(topic = "faultbox.\*"'
else
  echo "not root: starter specs not run"
fi

comp="$FAULTBOX_SRC/src/cli/completion"
bash -n "$comp/faultbox.bash" && ok "bash completion parses" || fail "bash completion has a syntax error"
# shellcheck disable=SC1091
words=$(bash -c '. "$1"; COMP_WORDS=(faultbox test --sh); COMP_CWORD=2; _faultbox; echo "${COMPREPLY[*]}"' _ "$comp/faultbox.bash")
[ "$words" = "--shard --show --shiviz" ] && ok "bash completes test --sh to --shard --show --shiviz" || fail "bash completion gave: $words"
words=$(bash -c '. "$1"; COMP_WORDS=(faultbox m); COMP_CWORD=1; _faultbox; echo "${COMPREPLY[*]}"' _ "$comp/faultbox.bash")
[ "$words" = "merge" ] && ok "bash completes commands" || fail "bash completion gave: $words"
if command -v zsh >/dev/null; then
  zsh -n "$comp/_faultbox" && ok "zsh completion parses" || fail "zsh completion has a syntax error"
fi
# every command the binary knows is completed
for c in $("$FAULTBOX" --help | sed -n 's/^  \([a-z]*\) .*/\1/p'); do
  grep -q "\b$c\b" "$comp/faultbox.bash" && grep -q "'$c:" "$comp/_faultbox" && ok "completions know $c" || fail "completions miss $c"
done
finish
