#!/usr/bin/env bash
# The servers the tests, benchmarks and demos run against, on loopback, in a scratch
# directory: PostgreSQL 15 and Redis 7.
#
#   scripts/services.sh start          starts both (or finds them running) and prints PostgreSQL's URI
#   scripts/services.sh env            prints PIPELINE_POSTGRES_URI=... and PIPELINE_REDIS_URI=...
#                                      for the servers that run
#   scripts/services.sh restart        restarts PostgreSQL (pg_ctl restart -m fast), same port and data
#   scripts/services.sh pause          stops PostgreSQL, keeping its data and port; `start` resumes it
#   scripts/services.sh start-redis    starts Redis alone (or finds it running) and prints its URI
#   scripts/services.sh restart-redis  stops Redis (SHUTDOWN, its data written) and starts it again
#   scripts/services.sh kill-redis     kills Redis with SIGKILL (a crash), keeping its files and port;
#                                      `start-redis` starts it again from its append-only file
#   scripts/services.sh stop-redis     stops Redis and deletes its data
#   scripts/services.sh stop-postgres  stops PostgreSQL and deletes its data
#   scripts/services.sh stop           stops them and deletes their data
#
# Idempotent: `start` twice starts one server; `stop` with nothing running succeeds.
# The state (ports, logs, data) lives in $PIPELINE_SERVICES_DIR, by default build/services
# in this checkout: under the build tree (ignored by git, made afresh in a clean clone, one
# per checkout so several checkouts on one machine do not share a server) and on the build's
# disk, so what `appendfsync` and `synchronous_commit` cost there is what a benchmark pays.
#
# Redis listens on 127.0.0.1 only, with `appendonly yes` and `appendfsync` from
# $PIPELINE_REDIS_FSYNC (default everysec; `always` for the crash tests), its files in
# $state/redis. No password: a scratch server for tests, never a production setup.
#
# PostgreSQL keeps its data, socket and log in $state/postgres. It refuses to run as root:
# run as root (CI), the server runs as the unprivileged `postgres` user, which owns that
# directory. When that user cannot reach it (a clone under a 0700 home), or the socket's
# path would pass the 107 bytes a Unix socket allows, the directory is a fresh one under
# $TMPDIR instead ($state/postgres.dir names it either way). Authentication is `trust` on
# 127.0.0.1 only: a scratch server for tests, never a production setup.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
pg_bin=${PIPELINE_PG_BIN:-/usr/lib/postgresql/15/bin}
state=${PIPELINE_SERVICES_DIR:-$root/build/services}
pg_port_file=$state/postgres.port
# The server's own directory (data, socket, log), owned by the server's user (pg_make_dir).
pg_dir_file=$state/postgres.dir
pg_dir=$(cat "$pg_dir_file" 2>/dev/null || echo "$state/none")
pg_data=$pg_dir/data
pg_log=$pg_dir/server.log
start_deadline=${PIPELINE_SERVICES_TIMEOUT:-60}  # seconds for a server to accept connections

redis_dir=$state/redis
redis_port_file=$state/redis.port
redis_bin=${PIPELINE_REDIS_BIN:-redis-server}

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

# Makes the server's directory, owned by the server's user, and prints its path:
# $state/postgres when that user can write there and its socket path fits, else a fresh
# directory under $TMPDIR.
pg_make_dir() {
  local dir=$state/postgres
  rm -rf "$dir"
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
  # ".s.PGSQL.65535" adds 15 bytes; a Unix socket path holds at most 107.
  if [ ${#dir} -gt 90 ] || ! as_server_user test -w "$dir" -a -x "$dir"; then
    rm -rf "$dir"
    dir=$(mktemp -d "${TMPDIR:-/tmp}/pipeline-postgres-XXXXXX")
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
  fi
  echo "$dir"
}

pg_init() {
  [ -x "$pg_bin/initdb" ] || bash "$root/scripts/setup-deps.sh"
  [ -x "$pg_bin/initdb" ] || die "PostgreSQL 15 is not installed ($pg_bin/initdb missing)"
  if [ "$(id -u)" -eq 0 ]; then
    getent passwd postgres >/dev/null || die "running as root needs the unprivileged 'postgres' user (package postgresql)"
  fi
  [ -f "$pg_dir_file" ] && rm -rf "$pg_dir"
  pg_dir=$(pg_make_dir)
  echo "$pg_dir" >"$pg_dir_file"
  pg_data=$pg_dir/data
  pg_log=$pg_dir/server.log
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

redis_uri() { echo "redis://127.0.0.1:$(cat "$redis_port_file")/0"; }

redis_ping() {
  [ -f "$redis_port_file" ] && redis-cli -h 127.0.0.1 -p "$(cat "$redis_port_file")" ping 2>/dev/null | grep -q PONG
}

redis_pid() { cat "$redis_dir/redis.pid" 2>/dev/null || true; }

redis_running() {
  local pid
  pid=$(redis_pid)
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

redis_start() {
  mkdir -p "$state" "$redis_dir"
  if redis_running && redis_ping; then return 0; fi
  command -v "$redis_bin" >/dev/null || bash "$root/scripts/setup-deps.sh"
  command -v "$redis_bin" >/dev/null || die "redis-server is not installed"
  [ -f "$redis_port_file" ] || free_port >"$redis_port_file"
  local attempt
  for attempt in 1 2 3; do
    rm -f "$redis_dir/redis.pid"
    "$redis_bin" --bind 127.0.0.1 --port "$(cat "$redis_port_file")" --dir "$redis_dir" \
      --appendonly yes --appendfsync "${PIPELINE_REDIS_FSYNC:-everysec}" --save "" \
      --daemonize yes --pidfile "$redis_dir/redis.pid" --logfile "$redis_dir/server.log" \
      --protected-mode yes >/dev/null || true
    local deadline=$((SECONDS + start_deadline))
    until redis_ping; do
      # The server exits at once when it cannot bind its port.
      if [ $SECONDS -ge $deadline ] || { [ -f "$redis_dir/redis.pid" ] && ! redis_running; }; then break; fi
      sleep 0.05
    done
    if redis_ping; then return 0; fi
    tail -n 5 "$redis_dir/server.log" >&2 || true
    # Most likely the port was taken between choosing and binding it: choose again.
    free_port >"$redis_port_file"
  done
  die "Redis did not start (log: $redis_dir/server.log)"
}

redis_stop() {
  local pid
  pid=$(redis_pid)
  [ -n "$pid" ] || return 0
  if redis_running; then
    redis-cli -h 127.0.0.1 -p "$(cat "$redis_port_file")" shutdown >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + start_deadline))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$redis_dir/redis.pid"
}

redis_kill() {
  local pid
  pid=$(redis_pid)
  [ -n "$pid" ] || die "Redis is not running"
  kill -9 "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.02; done
  rm -f "$redis_dir/redis.pid"
}

case "${1:-}" in
  start)
    pg_start
    redis_start
    pg_uri
    ;;
  env)
    pg_running || redis_running || die "no server is running; run: scripts/services.sh start"
    if pg_running; then echo "PIPELINE_POSTGRES_URI=$(pg_uri)"; fi
    if redis_running; then echo "PIPELINE_REDIS_URI=$(redis_uri)"; fi
    ;;
  start-redis)
    redis_start
    redis_uri
    ;;
  restart-redis)
    redis_running || die "Redis is not running; run: scripts/services.sh start-redis"
    redis_stop
    redis_start
    ;;
  kill-redis)
    redis_kill
    ;;
  restart)
    pg_running || die "PostgreSQL is not running; run: scripts/services.sh start"
    as_server_user "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_log" -m fast -w -t "$start_deadline" restart >/dev/null
    pg_wait_ready
    ;;
  pause)
    pg_stop
    ;;
  stop-redis)
    redis_stop
    rm -rf "$redis_dir" "$redis_port_file"
    ;;
  stop-postgres)
    pg_stop
    [ -f "$pg_dir_file" ] && rm -rf "$pg_dir"
    rm -f "$pg_dir_file" "$pg_port_file"
    ;;
  stop)
    pg_stop
    redis_stop
    [ -f "$pg_dir_file" ] && rm -rf "$pg_dir"
    rm -rf "$state"
    ;;
  *)
    echo "usage: scripts/services.sh start|env|restart|pause|start-redis|restart-redis|kill-redis|stop-redis|stop-postgres|stop" >&2
    exit 2
    ;;
esac
