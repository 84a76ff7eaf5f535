#!/usr/bin/env bash
# The servers the tests, benchmarks and demos run against, on loopback, in a scratch
# directory: PostgreSQL 15 today.
#
#   scripts/services.sh start    starts them (or finds them running) and prints the URI
#   scripts/services.sh env      prints PIPELINE_POSTGRES_URI=... for a running server
#   scripts/services.sh restart  restarts PostgreSQL (pg_ctl restart -m fast), same port and data
#   scripts/services.sh pause    stops PostgreSQL, keeping its data and port; `start` resumes it
#   scripts/services.sh stop     stops them and deletes their data
#
# Idempotent: `start` twice starts one server; `stop` with nothing running succeeds.
# The state lives in $PIPELINE_SERVICES_DIR (default: one directory per user and checkout
# under $TMPDIR), so several checkouts on one machine do not share a server.
#
# PostgreSQL refuses to run as root. Run as root (CI), the server runs as the unprivileged
# `postgres` user, in a fresh directory under $TMPDIR that user owns, with its socket
# inside; the server never reads the checkout or $PIPELINE_SERVICES_DIR, so a clone under a
# 0700 home works. Authentication is `trust`
# on 127.0.0.1 only: a scratch server for tests, never a production setup.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
pg_bin=${PIPELINE_PG_BIN:-/usr/lib/postgresql/15/bin}
state=${PIPELINE_SERVICES_DIR:-${TMPDIR:-/tmp}/pipeline-services-$(id -u)-$(printf '%s' "$root" | cksum | cut -d' ' -f1)}
pg_port_file=$state/postgres.port
# The server's own directory (data, socket, log), owned by the server's user, made under
# $TMPDIR rather than in $state: $state may lie under a directory that user cannot enter.
pg_dir_file=$state/postgres.dir
pg_dir=$(cat "$pg_dir_file" 2>/dev/null || echo "$state/none")
pg_data=$pg_dir/data
pg_log=$pg_dir/server.log
start_deadline=${PIPELINE_SERVICES_TIMEOUT:-60}  # seconds for a server to accept connections

die() { echo "services.sh: $*" >&2; exit 1; }

# Runs a command as the server's user: `postgres` when we are root, else ourselves.
as_server_user() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
    echo $((20000 + RANDOM % 30000))
}

pg_uri() { echo "postgresql://postgres@127.0.0.1:$(cat "$pg_port_file")/postgres"; }

pg_running() {
  [ -f "$pg_data/PG_VERSION" ] && as_server_user "$pg_bin/pg_ctl" -D "$pg_data" status >/dev/null 2>&1
}

# Waits until the server accepts connections, or fails after the deadline with its log.
pg_wait_ready() {
  local deadline=$((SECONDS + start_deadline))
  until "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$(cat "$pg_port_file")" -d postgres -U postgres; do
    if [ $SECONDS -ge $deadline ]; then
      tail -n 30 "$pg_log" >&2 || true
      die "PostgreSQL did not accept connections within ${start_deadline} s (log: $pg_log)"
    fi
    sleep 0.1
  done
}

pg_init() {
  [ -x "$pg_bin/initdb" ] || bash "$root/scripts/setup-deps.sh"
  [ -x "$pg_bin/initdb" ] || die "PostgreSQL 15 is not installed ($pg_bin/initdb missing)"
  if [ "$(id -u)" -eq 0 ]; then
    getent passwd postgres >/dev/null || die "running as root needs the unprivileged 'postgres' user (package postgresql)"
  fi
  [ -f "$pg_dir_file" ] && rm -rf "$pg_dir"
  pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/pipeline-postgres-XXXXXX")
  echo "$pg_dir" >"$pg_dir_file"
  pg_data=$pg_dir/data
  pg_log=$pg_dir/server.log
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$pg_dir"; fi
  as_server_user "$pg_bin/initdb" -D "$pg_data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
    >"$state/initdb.log" 2>&1 || { cat "$state/initdb.log" >&2; die "initdb failed"; }
  free_port >"$pg_port_file"
}

pg_start() {
  mkdir -p "$state"
  if pg_running; then return 0; fi
  [ -f "$pg_data/PG_VERSION" ] && [ -f "$pg_port_file" ] || pg_init
  local attempt
  for attempt in 1 2 3; do
    # Loopback only; the socket in the server's own directory; commits wait for the WAL
    # flush (synchronous_commit=on, the setting the benchmarks state).
    if as_server_user "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_log" -w -t "$start_deadline" \
      -o "-c listen_addresses=127.0.0.1 -p $(cat "$pg_port_file") -c unix_socket_directories=$pg_dir" \
      -o "-c max_connections=200 -c synchronous_commit=on -c fsync=on" start >/dev/null; then
      pg_wait_ready
      return 0
    fi
    # Most likely the port was taken between choosing and binding it: choose again.
    tail -n 5 "$pg_log" >&2 || true
    free_port >"$pg_port_file"
  done
  die "PostgreSQL did not start (log: $pg_log)"
}

pg_stop() {
  if pg_running; then as_server_user "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w stop >/dev/null; fi
}

case "${1:-}" in
  start)
    pg_start
    pg_uri
    ;;
  env)
    pg_running || die "PostgreSQL is not running; run: scripts/services.sh start"
    echo "PIPELINE_POSTGRES_URI=$(pg_uri)"
    ;;
  restart)
    pg_running || die "PostgreSQL is not running; run: scripts/services.sh start"
    as_server_user "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_log" -m fast -w -t "$start_deadline" restart >/dev/null
    pg_wait_ready
    ;;
  pause)
    pg_stop
    ;;
  stop)
    pg_stop
    [ -f "$pg_dir_file" ] && rm -rf "$pg_dir"
    rm -rf "$state"
    ;;
  *)
    echo "usage: scripts/services.sh start|env|restart|pause|stop" >&2
    exit 2
    ;;
esac
