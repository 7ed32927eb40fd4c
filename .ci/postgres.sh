#!/usr/bin/env bash
# A throw-away PostgreSQL for the fleet-mode tests, on loopback, in its own data directory.
#
#   export QBRIDGE_TEST_PG_URL="$(.ci/postgres.sh start /tmp/qbridge-pg)"   # prints the URL, nothing else on stdout
#   ./run-tests                                                             # the PostgreSQL tests now run
#   .ci/postgres.sh stop /tmp/qbridge-pg                                    # stops it and deletes the directory
#
# Uses Debian's `postgresql` package (installed with apt-get when missing and we are root). PostgreSQL
# refuses to run as root, so as root the server runs as the `postgres` OS user (DIR must then be
# reachable by it: use one under /tmp).
set -euo pipefail

cmd="${1:-}"; dir="${2:-}"
if [[ -z "$cmd" || -z "$dir" ]]; then
  echo "usage: $0 start|stop DIR" >&2; exit 2
fi

[[ "$dir" == /* ]] || dir="$PWD/$dir" # as_owner runs from /
log() { echo "postgres.sh: $*" >&2; }

pg_bin() {
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"
  [[ -n "$d" && -x "$d/initdb" ]] && echo "$d"
}

as_owner() { # run a command as the user that owns the cluster (as root: from /, which postgres may enter, unlike a mktemp -d)
  if [[ "$(id -u)" == 0 ]]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

free_port() { # a port nothing listens on now (bash's /dev/tcp: a refused connection means free)
  local p
  for _ in $(seq 1 50); do
    p=$(( 20000 + RANDOM % 30000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  return 1
}

case "$cmd" in
  start)
    bin="$(pg_bin || true)"
    if [[ -z "$bin" ]]; then
      if [[ "$(id -u)" != 0 ]]; then log "PostgreSQL is not installed: sudo apt-get install -y postgresql"; exit 2; fi
      log "installing Debian's postgresql package"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >&2
      apt-get install -y -qq postgresql >&2
      bin="$(pg_bin)"
    fi
    mkdir -p "$dir"
    [[ -z "$(ls -A "$dir")" ]] || { log "$dir is not empty (stop the previous one first)"; exit 2; }
    [[ "$(id -u)" == 0 ]] && chown postgres: "$dir"
    chmod 700 "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
      || { log "initdb failed:"; cat "$dir/initdb.log" >&2; exit 1; }
    started=""
    for _ in 1 2 3 4 5; do
      port="$(free_port)"
      # unix socket in the data directory: no dependence on /var/run/postgresql
      if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
           -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=on" start >/dev/null; then
        started=1; break
      fi
      log "could not start on port $port; trying another"
    done
    [[ -n "$started" ]] || { log "PostgreSQL did not start:"; tail -n 20 "$dir/server.log" >&2; exit 1; }
    echo "$port" > "$dir/port"
    password="$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
    as_owner "$bin/psql" -h "$dir" -p "$port" -U postgres -q -v ON_ERROR_STOP=1 \
      -c "CREATE USER qbridge PASSWORD '$password'" -c "CREATE DATABASE qbridge_test OWNER qbridge" >&2
    log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, data in $dir/data"
    echo "postgresql://qbridge:$password@127.0.0.1:$port/qbridge_test"
    ;;
  stop)
    bin="$(pg_bin || true)"
    if [[ -n "$bin" && -f "$dir/data/postmaster.pid" ]]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || log "pg_ctl stop failed"
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
