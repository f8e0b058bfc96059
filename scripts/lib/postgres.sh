# Shared by scripts/test and scripts/bench: find (or install) PostgreSQL, start a throwaway
# cluster on a free port in a temporary directory, and remove it on exit. Source it, then call
# `start_postgres EXTRA_SERVER_OPTIONS`; it sets PG_URL.

log() { printf '== [%4ss] %s\n' "$SECONDS" "$*" >&2; }

find_pg_bin() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && { echo "$dir"; return 0; }
    done
    command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
    return 1
}

install_pg() {
    log "PostgreSQL binaries not found: installing postgresql-15 from Debian's packages"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql-15 >/dev/null \
        || DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
}

free_port() {
    local port
    for _ in $(seq 1 50); do
        port=$(( 20000 + RANDOM % 20000 ))
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return 0; }
    done
    echo "no free port found" >&2; return 1
}

start_postgres() {
    local options="$1"
    PG_BIN=$(find_pg_bin || { install_pg >&2; find_pg_bin; })
    PG_DIR=$(mktemp -d -t ssn-pg.XXXXXX)
    PG_PORT=$(free_port)
    # PostgreSQL refuses to run as root; CI runs as root, so the cluster belongs to 'postgres' there.
    as_pg=()
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
        chown postgres "$PG_DIR"
        as_pg=(runuser -u postgres --)
    fi
    trap stop_pg EXIT
    log "starting throwaway PostgreSQL ($PG_BIN) on 127.0.0.1:$PG_PORT"
    "${as_pg[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
    "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
        -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 $options" \
        start >/dev/null || { cat "$PG_DIR/server.log" >&2; exit 1; }
    PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
}

stop_pg() {
    "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
}
