#!/usr/bin/env bash
# Makes a local PostgreSQL + PostGIS ready and the virtualenv installed. Idempotent and fast
# when everything is already there. With HOUSING_MATCH_DATABASE_URL set, that server is used
# and nothing is installed on the system.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
log() { printf '[setup] %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        log "need root for: $*"; return 1; fi
}

setup_local_postgis() {
    if ! command -v pg_lsclusters >/dev/null; then
        log "PostgreSQL is not installed: installing postgresql and PostGIS"
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql postgresql-contrib >/dev/null
    fi
    local major
    major=$(pg_lsclusters --no-header | awk 'NR==1 {print $1}')
    if [ -z "$major" ]; then
        major=$(ls /usr/lib/postgresql | sort -n | tail -1)
        log "no PostgreSQL cluster: creating $major/main"
        as_root pg_createcluster "$major" main >/dev/null
    fi
    local package="postgresql-${major}-postgis-3"
    if [ ! -f "/usr/share/postgresql/${major}/extension/postgis.control" ]; then
        log "installing ${package}"
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$package" >/dev/null
    fi
    if ! pg_lsclusters --no-header | awk -v m="$major" '$1==m && $2=="main" {print $4}' | grep -q online; then
        log "starting PostgreSQL ${major}/main"
        as_root pg_ctlcluster --skip-systemctl-redirect "$major" main start
    fi
    local tries=0
    until pg_isready -q -h 127.0.0.1 -p 5432; do
        tries=$((tries + 1))
        if [ "$tries" -gt 30 ]; then log "PostgreSQL does not answer on 127.0.0.1:5432"; exit 1; fi
        sleep 1
    done
}

setup_venv() {
    local stamp="$VENV/.installed"
    if [ ! -x "$VENV/bin/python" ]; then
        log "creating virtualenv $VENV"
        "$PYTHON" -m venv "$VENV"
    fi
    # Reinstall only when the dependencies changed.
    local want
    want=$(sha256sum pyproject.toml | cut -d' ' -f1)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        log "installing housing-match and its dependencies into $VENV"
        "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
        "$VENV/bin/python" -m pip install -q -e '.[dev]'
        echo "$want" >"$stamp"
    fi
}

if [ -n "${HOUSING_MATCH_DATABASE_URL:-}" ]; then
    log "using HOUSING_MATCH_DATABASE_URL; installing nothing on the system"
else
    setup_local_postgis
fi
setup_venv
"$VENV/bin/housing-match" db setup --test
