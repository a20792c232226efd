#!/bin/sh
# A Postgres for a lab service: postgres refuses to run as root, so this
# initdb's into the service's private /tmp as the postgres user and execs
# the server on 0.0.0.0:5432. POSTGRES_USER (default postgres) is the
# superuser; with POSTGRES_PASSWORD it must give it (scram), else trust;
# POSTGRES_DB is created. As the official image reads them.
set -eu
bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
user=${POSTGRES_USER:-postgres}
data=/tmp/pgdata
as_pg() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
mkdir -p "$data"
chown postgres:postgres "$data"
auth=trust
if [ -n "${POSTGRES_PASSWORD:-}" ]; then
  auth=scram-sha-256
  printf '%s\n' "$POSTGRES_PASSWORD" >/tmp/pgpass
  chown postgres /tmp/pgpass
  as_pg "$bin/initdb" -D "$data" -U "$user" --auth="$auth" --pwfile=/tmp/pgpass >/tmp/initdb.log
  rm -f /tmp/pgpass
else
  as_pg "$bin/initdb" -D "$data" -U "$user" --auth=trust >/tmp/initdb.log
fi
echo "host all all 0.0.0.0/0 $auth" >>"$data/pg_hba.conf"
if [ -n "${POSTGRES_DB:-}" ] && [ "$POSTGRES_DB" != "$user" ]; then
  echo "CREATE DATABASE \"$POSTGRES_DB\"" | as_pg "$bin/postgres" --single -D "$data" -j postgres >/dev/null
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups "$bin/postgres" -D "$data" \
  -c listen_addresses='*' -c port=5432 -c unix_socket_directories=/tmp \
  -c dynamic_shared_memory_type=mmap -c fsync=off
