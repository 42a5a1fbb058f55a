# A throwaway PostgreSQL server in a temporary directory, on a private port
# and socket. Sourced by tests/support/common.bash (the tests) and by
# `pipekit demo`: one place for the recipe.
#   start_postgres   initdb + start; exports PGHOST (the socket directory),
#                    PGPORT, PGUSER, PGDATABASE and PG_DIR
#   restart_postgres, stop_postgres (stops and removes PG_DIR), psql_q SQL
# Runs the server as the `postgres` user when called as root (initdb
# refuses root). fsync is off: the data is disposable by design.

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

# A free TCP port on 127.0.0.1 (perl-base is Essential on Debian: the
# installed `pipekit demo` needs no Python).
free_port() {
  perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1", LocalPort => 0)->sockport, "\n"'
}

as_pg_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  local bin
  bin=$(pg_bin)
  [ -n "$bin" ] || { echo "start_postgres: no PostgreSQL server in /usr/lib/postgresql (run scripts/setup)" >&2; return 1; }
  PG_DIR=$(mktemp -d /tmp/pipekit-pg.XXXXXX)
  chmod 755 "$PG_DIR"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$PG_DIR"
  PGPORT=${PIPEKIT_PG_PORT:-$(free_port)}  # PIPEKIT_PG_PORT: a fixed port, when several people share a machine
  as_pg_owner "$bin/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --no-sync >"$PG_DIR/initdb.log" 2>&1 \
    || { cat "$PG_DIR/initdb.log" >&2; return 1; }
  as_pg_owner "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 \
    -o "-p $PGPORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null || { cat "$PG_DIR/server.log" >&2; return 1; }
  PGHOST=$PG_DIR PGUSER=postgres PGDATABASE=postgres
  export PGHOST PGPORT PGUSER PGDATABASE PG_DIR
}

restart_postgres() {
  as_pg_owner "$(pg_bin)/pg_ctl" -D "$PG_DIR/data" -m fast -w restart >/dev/null
}

stop_postgres() {
  [ -n "${PG_DIR:-}" ] || return 0
  as_pg_owner "$(pg_bin)/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
  PG_DIR=
}

psql_q() { psql -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"; }
