#!/usr/bin/env bash
# deploy/testenv.sh: run a command inside a throwaway test environment.
#
#   deploy/testenv.sh CMD [ARGS...]
#
# Installs what is missing (postgresql, redis-server, sip-tester, gcc) with apt
# when it runs as root, else says exactly what to install; starts a private
# PostgreSQL (initdb in a temp dir, a free port, fsync off) and Redis (a free
# port, no persistence); exports CADENZA_TEST_POSTGRES_URL,
# CADENZA_TEST_REDIS_URL and CADENZA_TEST_REQUIRE_SERVICES=1 (so integration
# tests fail instead of skipping); runs CMD; and stops and removes everything,
# whatever CMD returned.
set -euo pipefail

log() { echo "testenv: $*" >&2; }

pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
  return 1
}

missing=()
pg_bin >/dev/null || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v sipp >/dev/null 2>&1 || missing+=(sip-tester)
command -v gcc >/dev/null 2>&1 || missing+=(gcc)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  else
    log "missing: ${missing[*]}; install them with: sudo apt-get install ${missing[*]}"
    exit 1
  fi
fi

PGBIN=$(pg_bin)
# free_port prints a TCP port on 127.0.0.1 that nothing listens on: python3
# when there is one, else random probing with bash's /dev/tcp.
free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' && return 0
  fi
  local p
  for _ in $(seq 1 50); do
    p=$(( 20000 + RANDOM % 30000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  return 1
}

tmp=$(mktemp -d /tmp/cadenza-testenv.XXXXXX)
chmod 755 "$tmp"
pg_pid=""; redis_pid=""
cleanup() {
  set +e
  [ -n "$pg_pid" ] && run_pg "$PGBIN/pg_ctl" -D "$tmp/pg" -m immediate stop >/dev/null 2>&1
  [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# PostgreSQL refuses to run as root: run it as the postgres (or nobody) user.
pg_user=""
if [ "$(id -u)" = 0 ]; then
  if id postgres >/dev/null 2>&1; then pg_user=postgres; else pg_user=nobody; fi
  chown "$pg_user" "$tmp"
fi
run_pg() {
  if [ -n "$pg_user" ]; then
    if command -v runuser >/dev/null 2>&1; then runuser -u "$pg_user" -- "$@"; else su -s /bin/sh "$pg_user" -c "$(printf '%q ' "$@")"; fi
  else
    "$@"
  fi
}

pg_port=$(free_port)
run_pg "$PGBIN/initdb" -D "$tmp/pg" -U cadenza --auth=trust -E UTF8 --no-sync >/dev/null
run_pg "$PGBIN/pg_ctl" -D "$tmp/pg" -l "$tmp/pg.log" -w -t 60 \
  -o "-p $pg_port -k $tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c shared_buffers=256MB" start >/dev/null
pg_pid=started
run_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$pg_port" -U cadenza cadenza_test
log "postgres on 127.0.0.1:$pg_port"

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" --daemonize no >"$tmp/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 1 100); do
  if redis-cli -p "$redis_port" ping >/dev/null 2>&1; then break; fi
  sleep 0.1
done
redis-cli -p "$redis_port" ping >/dev/null
log "redis on 127.0.0.1:$redis_port"

export CADENZA_TEST_POSTGRES_URL="postgres://cadenza@127.0.0.1:$pg_port/cadenza_test?sslmode=disable"
export CADENZA_TEST_REDIS_URL="redis://127.0.0.1:$redis_port/0"
export CADENZA_TEST_REQUIRE_SERVICES=1
set +e
"$@"
rc=$?
set -e
exit $rc
