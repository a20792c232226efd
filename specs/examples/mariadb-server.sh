#!/bin/sh
# A MariaDB for a lab service, set up from the env as the official image
# reads it: MYSQL_ROOT_PASSWORD (else root has none), MYSQL_DATABASE, and
# MYSQL_USER with MYSQL_PASSWORD granted it. The datadir is made by
# mariadb-install-db in the service's private /tmp, or copied from
# MY_TEMPLATE: a datadir made once, before the run, with
#   mariadb-server.sh template DIR
# (install-db takes seconds, a copy not). InnoDB never syncs: the data
# dies with the lab.
set -eu
data=/tmp/mydata
fast="--innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 --innodb-flush-method=nosync
  --innodb-log-file-size=8M --innodb-buffer-pool-size=16M --innodb-use-native-aio=0 --skip-log-bin"
install_db() {
  # shellcheck disable=SC2086
  out=$(mariadb-install-db --no-defaults --datadir="$1" --user=root --auth-root-authentication-method=normal \
    --skip-test-db --skip-name-resolve $fast 2>&1) || { echo "$out" >&2; exit 1; }
}
if [ "${1:-}" = template ]; then
  install_db "$2"
  exit 0
fi
if [ -n "${MY_TEMPLATE:-}" ]; then
  cp -a "$MY_TEMPLATE" "$data"
else
  install_db "$data"
fi
q() { printf "'%s'" "$(printf %s "$1" | sed "s/'/''/g")"; }
{
  pw=${MYSQL_ROOT_PASSWORD:-}
  # root from anywhere has the password: install-db's passwordless
  # root@127.0.0.1 would be picked first
  echo "DROP USER IF EXISTS root@'127.0.0.1', root@'::1';"
  echo "CREATE USER IF NOT EXISTS root@'%' IDENTIFIED BY $(q "$pw");"
  echo "GRANT ALL ON *.* TO root@'%' WITH GRANT OPTION;"
  if [ -n "${MYSQL_DATABASE:-}" ]; then
    echo "CREATE DATABASE IF NOT EXISTS \`$MYSQL_DATABASE\`;"
  fi
  if [ -n "${MYSQL_USER:-}" ]; then
    echo "CREATE USER IF NOT EXISTS $(q "$MYSQL_USER")@'%' IDENTIFIED BY $(q "${MYSQL_PASSWORD:-}");"
    [ -z "${MYSQL_DATABASE:-}" ] || echo "GRANT ALL ON \`$MYSQL_DATABASE\`.* TO $(q "$MYSQL_USER")@'%';"
  fi
} >/tmp/init.sql
# shellcheck disable=SC2086
exec mariadbd --no-defaults --datadir="$data" --user=root --bind-address=0.0.0.0 --port=3306 \
  --socket=/tmp/mysqld.sock --pid-file=/tmp/mysqld.pid --skip-name-resolve --init-file=/tmp/init.sql $fast
