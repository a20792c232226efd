#!/usr/bin/env bash
# MySQL against a real MariaDB (Debian's mariadb-server) in a lab: steps,
# credentials from env, server errors as results, and error (with a
# recipe's SQLSTATE), delay, drop and duplicate through the proxy, also
# met by a client of prepared statements that dials "db" by name.
. "$(dirname "$0")/lib.sh"
need_root
for bin in /usr/sbin/mariadbd /usr/bin/mariadb-install-db; do
  [ -x "$bin" ] || skip "$bin is not installed (scripts/bootstrap installs it)"
done
prep_specs
# one datadir for every test's server: install-db takes seconds, a copy
# not; in memory (on ext4 under load install-db waits 3x as long)
tpl=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d -p "$TMP")
trap 'rm -rf "$TMP" "$tpl"' EXIT
"$FAULTBOX_SRC/specs/examples/mariadb-server.sh" template "$tpl/mydata" 2>"$TMP/install-db.log" \
  || fail "mariadb-server.sh template: $(tail -3 "$TMP/install-db.log")"
cp "$FAULTBOX_SRC/tests/integration/specs/proxy_peer.py" "$FAULTBOX_BUILD/tests/helpers/my_client" "$TMP/"
sed -i -e "s|MYSERVER|$FAULTBOX_SRC/specs/examples/mariadb-server.sh|" -e "s|TEMPLATE|$tpl/mydata|" -e "s|SPECDIR|$TMP|g" \
  "$TMP/myproxy.star"
cd "$TMP"

run_fb test myproxy.star -j 2 --format json
expect_rc 0 "mysql steps and faults against MariaDB"
python3 - "$TMP/out" <<'PY' && ok "every test passed" || fail "results"
import json, sys
d = json.load(open(sys.argv[1]))
bad = [(t["name"], t.get("reason")) for t in d["tests"] if t["result"] != "pass"]
assert not bad and len(d["tests"]) == 4, bad
PY
finish
