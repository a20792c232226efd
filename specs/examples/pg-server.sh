#!/bin/sh
# A PostgreSQL 15 for a lab service (Debian's postgresql package), on
# 0.0.0.0:5432 for the superuser postgres, trusted from anywhere in the
# lab; fsync off: the data dies with the lab. postgres refuses to run as
# root, so it runs as the postgres user (the package creates it).
#
# The datadir is made by initdb in the service's private /tmp, or copied
# from PG_TEMPLATE: a datadir made once, before the run, with
#   pg-server.sh template DIR
# initdb takes about a second, a copy a few milliseconds: a spec with
# many tests or cells names one (see cache-aside.star).
set -eu
bin=/usr/lib/postgresql/15/bin
as_pg() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
make_datadir() {
  mkdir -p "$1"
  chown postgres:postgres "$1"
  out=$(as_pg "$bin/initdb" --no-sync -D "$1" -U postgres --auth=trust 2>&1) || { echo "$out" >&2; exit 1; }
  echo 'host all all 0.0.0.0/0 trust' >>"$1/pg_hba.conf"
}
if [ "${1:-}" = template ]; then
  # made where the postgres user reaches it, then moved (DIR's parents
  # may be closed to it)
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  chmod 711 "$work"
  make_datadir "$work/data"
  mv "$work/data" "$2"
  exit 0
fi
data=/tmp/pgdata
if [ -n "${PG_TEMPLATE:-}" ]; then
  cp -a "$PG_TEMPLATE" "$data"
else
  make_datadir "$data"
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups "$bin/postgres" -D "$data" \
  -c listen_addresses='*' -c port=5432 -c unix_socket_directories=/tmp \
  -c dynamic_shared_memory_type=mmap -c fsync=off
