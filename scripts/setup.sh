#!/usr/bin/env bash
# Makes a local PostgreSQL + PostGIS ready and the virtualenv installed. Idempotent and fast
# when everything is already there. With HOUSING_MATCH_DATABASE_URL set, that server is used
# and no database is installed on the system. The browser tests need Debian's Chromium and
# Japanese fonts in any case: they are installed when missing and root (or sudo) is at hand.
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

# Playwright's own browser download is not reachable from every machine (CI, closed networks),
# so the browser tests drive the distribution's Chromium; fonts-noto-cjk renders Japanese.
setup_browser() {
    local missing=()
    [ -x /usr/bin/chromium ] || missing+=(chromium)
    dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q "ok installed" \
        || missing+=(fonts-noto-cjk)
    [ ${#missing[@]} -eq 0 ] && return 0
    if ! command -v apt-get >/dev/null; then
        log "browser tests need Chromium at /usr/bin/chromium and Japanese fonts: install ${missing[*]}"
        return 0
    fi
    if [ "$(id -u)" -ne 0 ] && ! sudo -n true 2>/dev/null; then
        log "browser tests need: sudo apt-get update && sudo apt-get install -y ${missing[*]}"
        return 0
    fi
    log "installing ${missing[*]} for the browser tests"
    # Waits for another apt or dpkg run instead of failing on its lock.
    as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
        "${missing[@]}" >/dev/null
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
setup_browser
setup_venv
"$VENV/bin/housing-match" db setup --test
