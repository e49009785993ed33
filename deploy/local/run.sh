#!/usr/bin/env bash
# Runs a local Job cluster: one private PostgreSQL (or the server you name), N silos, demo jobs and a
# progress view. Ctrl-C stops everything it started. See deploy/README.md.
#
#   deploy/local/run.sh [--silos N] [--pg CONNECTION_STRING] [--jobs N] [--no-build]
set -Eeuo pipefail

usage() {
    cat <<'EOF'
Usage: deploy/local/run.sh [--silos N] [--pg CONNECTION_STRING] [--jobs N] [--no-build]

Builds Job.Silo (Release), starts PostgreSQL, applies the migrations, starts N silos of one cluster,
spawns demo jobs and prints their progress every 2 s. Ctrl-C stops the silos and PostgreSQL.

  --silos N     number of silos (default 3)
  --pg CS       use this PostgreSQL (Npgsql connection string, e.g.
                "Host=db;Port=5432;Username=jobs;Password=secret;Database=jobs") instead of starting a
                private server in .local/pg (its data is kept across runs)
  --jobs N      demo.hello jobs to spawn at start (default 300; 0 = none)
  --no-build    reuse the last build in .local/app
  -h, --help    this help

Files: .local/app (build), .local/pg (private PostgreSQL: pgdata/, postgres.log),
       .local/logs/silo-N.log, .local/logs/migrate.log, .local/run (pid files).
Ports: the first free ones from 11111 (silo), 30000 (gateway), 8080 (health: /healthz, /readyz),
       8800 (silo-1 serves the dashboard there, on loopback, with actions on; printed at start).
EOF
}

SILOS=3
PG_CS=""
JOBS=300
BUILD=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --silos) SILOS="${2:?--silos needs a number}"; shift 2 ;;
        --silos=*) SILOS="${1#*=}"; shift ;;
        --pg) PG_CS="${2:?--pg needs a connection string}"; shift 2 ;;
        --pg=*) PG_CS="${1#*=}"; shift ;;
        --jobs) JOBS="${2:?--jobs needs a number}"; shift 2 ;;
        --jobs=*) JOBS="${1#*=}"; shift ;;
        --no-build) BUILD=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "error: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
[[ "$SILOS" =~ ^[1-9][0-9]*$ && "$SILOS" -le 20 ]] || { echo "error: --silos must be 1..20, not '$SILOS'" >&2; exit 2; }
[[ "$JOBS" =~ ^[0-9]+$ ]] || { echo "error: --jobs must be a whole number, not '$JOBS'" >&2; exit 2; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
LOCAL="$ROOT/.local"
APP="$LOCAL/app"
LOGS="$LOCAL/logs"
RUN="$LOCAL/run"
PGROOT="$LOCAL/pg"           # same layout as the silo's embedded server (src/Job.Silo/Embedded/LocalPostgres.cs)
PGDATA="$PGROOT/pgdata"
PGLOG="$PGROOT/postgres.log"
CLUSTER_ID="job"
SHUTDOWN_WAIT=30             # seconds per silo after SIGTERM (host shutdown timeout is Jobs:ShutdownTimeout + 10 s)

log() { printf '[run] %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- cleanup (Ctrl-C, TERM, errors, normal exit)
SILO_PIDS=()
PG_STARTED=0
PG_BIN=""
RUNUSER=()
CLEANED=0
cleanup() {
    local rc=$?
    [[ $CLEANED == 1 ]] && return
    CLEANED=1
    trap '' INT TERM
    if [[ ${#SILO_PIDS[@]} -gt 0 ]]; then
        log "stopping ${#SILO_PIDS[@]} silo(s) (SIGTERM)..."
        local pid
        for pid in "${SILO_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
        local deadline=$((SECONDS + SHUTDOWN_WAIT))
        for pid in "${SILO_PIDS[@]}"; do
            while kill -0 "$pid" 2>/dev/null && [[ $SECONDS -lt $deadline ]]; do sleep 0.2; done
            if kill -0 "$pid" 2>/dev/null; then
                log "silo pid $pid did not stop within ${SHUTDOWN_WAIT}s: SIGKILL"
                kill -KILL "$pid" 2>/dev/null || true
            fi
            wait "$pid" 2>/dev/null || true
        done
        rm -f "$RUN"/silo-*.pid
        log "silos stopped"
    fi
    if [[ $PG_STARTED == 1 ]]; then
        log "stopping PostgreSQL..."
        "${RUNUSER[@]}" "$PG_BIN/pg_ctl" stop -D "$PGDATA" -m fast -w -t 60 >/dev/null 2>&1 \
            || "${RUNUSER[@]}" "$PG_BIN/pg_ctl" stop -D "$PGDATA" -m immediate -w >/dev/null 2>&1 || true
        log "PostgreSQL stopped (data kept in $PGDATA)"
    fi
    return $rc
}
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap 'cleanup' EXIT

# ---------------------------------------------------------------- helpers
port_in_use() {  # true when something accepts TCP connections on 127.0.0.1:$1
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
declare -A TAKEN=()
FREE_PORT=0
next_free_port() {  # sets FREE_PORT to the first port >= $1 that is neither listening nor handed out already
    local p=$1
    while [[ -n "${TAKEN[$p]:-}" ]] || port_in_use "$p"; do p=$((p + 1)); done
    TAKEN[$p]=1
    FREE_PORT=$p
}
http_status() {  # http_status PORT PATH -> prints the status code (000 if no answer)
    local line=""
    if { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null; then
        printf 'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$2" >&3
        IFS= read -r -t 5 line <&3 || true
        exec 3<&- 3>&-
    fi
    line="${line#HTTP/1.? }"
    echo "${line:0:3}" | grep -E '^[0-9]{3}$' || echo 000
}
find_pg_bin() {
    local d
    if [[ -n "${JOB_PG_BIN:-}" ]]; then [[ -x "$JOB_PG_BIN/initdb" ]] && echo "$JOB_PG_BIN"; return; fi
    if command -v pg_config >/dev/null 2>&1; then
        d="$(pg_config --bindir 2>/dev/null || true)"
        [[ -n "$d" && -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" ]] && { echo "$d"; return; }
    fi
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" ]] && { echo "$d"; return; }
    done
    if command -v initdb >/dev/null 2>&1; then
        d="$(dirname "$(readlink -f "$(command -v initdb)")")"
        [[ -x "$d/pg_ctl" && -x "$d/postgres" ]] && { echo "$d"; return; }
    fi
    return 0
}
# Npgsql "Key=Value;..." -> libpq environment (PGHOST, PGPORT, ...) for psql.
npgsql_to_pgenv() {
    local part key value
    local IFS=';'
    for part in $1; do
        [[ "$part" == *=* ]] || continue
        key="$(echo "${part%%=*}" | tr -d ' ' | tr '[:upper:]' '[:lower:]')"
        value="${part#*=}"
        case "$key" in
            host|server) export PGHOST="$value" ;;
            port) export PGPORT="$value" ;;
            username|userid|user|uid) export PGUSER="$value" ;;
            password|pwd) export PGPASSWORD="$value" ;;
            database|db) export PGDATABASE="$value" ;;
            sslmode) export PGSSLMODE="$(echo "$value" | tr '[:upper:]' '[:lower:]')" ;;
        esac
    done
}
is_our_silo() {  # is_our_silo PID: a live Job.Silo process started from this checkout
    [[ -r "/proc/$1/cmdline" ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q "$APP/Job.Silo"
}

mkdir -p "$LOGS" "$RUN"

# ---------------------------------------------------------------- leftovers of a killed earlier run
for f in "$RUN"/silo-*.pid; do
    [[ -e "$f" ]] || continue
    pid="$(cat "$f" 2>/dev/null || true)"
    if [[ -n "$pid" ]] && is_our_silo "$pid"; then
        log "stopping silo pid $pid left over from an earlier run"
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
done

# ---------------------------------------------------------------- tools and build
command -v dotnet >/dev/null 2>&1 || die "the .NET 10 SDK is required (https://dot.net); 'dotnet' is not on PATH"
if [[ $BUILD == 1 ]]; then
    log "building Job.Silo (Release) into .local/app ..."
    dotnet publish src/Job.Silo/Job.Silo.csproj -c Release -o "$APP" --nologo -v q >"$LOGS/build.log" 2>&1 \
        || { tail -n 30 "$LOGS/build.log" >&2; die "build failed (full log: $LOGS/build.log)"; }
fi
[[ -f "$APP/Job.Silo.dll" ]] || die "$APP/Job.Silo.dll is missing: run without --no-build"
SILO=(dotnet "$APP/Job.Silo.dll")

# ---------------------------------------------------------------- PostgreSQL
if [[ -z "$PG_CS" ]]; then
    PG_BIN="$(find_pg_bin)"
    if [[ -z "$PG_BIN" ]]; then
        if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
            log "PostgreSQL server binaries not found: installing 'postgresql' with apt-get ..."
            (export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq postgresql) >"$LOGS/apt.log" 2>&1 \
                || { tail -n 20 "$LOGS/apt.log" >&2; die "apt-get install postgresql failed (log: $LOGS/apt.log)"; }
            PG_BIN="$(find_pg_bin)"
        fi
        [[ -n "$PG_BIN" ]] || die "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found. Install them:
  Debian/Ubuntu: sudo apt-get install postgresql
  Fedora/RHEL:   sudo dnf install postgresql-server postgresql
  macOS:         brew install postgresql
or set JOB_PG_BIN to the folder holding initdb/pg_ctl/postgres, or pass --pg CONNECTION_STRING."
    fi
    if [[ $EUID -eq 0 ]]; then
        # initdb and postgres refuse to run as root: run them as the 'postgres' system user.
        id -u postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' system user (created by 'apt-get install postgresql'), or run as an ordinary user"
        command -v runuser >/dev/null 2>&1 || die "running as root needs 'runuser' (util-linux) to start PostgreSQL as 'postgres'"
        RUNUSER=(runuser -u postgres --)
    fi
    PSQL="$PG_BIN/psql"; [[ -x "$PSQL" ]] || PSQL="$(command -v psql || true)"
    [[ -n "$PSQL" ]] || die "psql not found: install the PostgreSQL client (Debian/Ubuntu: apt-get install postgresql-client)"

    mkdir -p "$PGROOT"
    chmod 700 "$PGROOT"
    SOCKDIR="$PGROOT/run"
    [[ ${#SOCKDIR} -le 80 ]] || SOCKDIR="/tmp/job-pg-sock-$(id -u)-$(echo "$PGROOT" | cksum | cut -d' ' -f1)"
    mkdir -p "$SOCKDIR"
    if [[ $EUID -eq 0 ]]; then
        # postgres must be able to walk down to its folder.
        d="$(dirname "$PGROOT")"
        while [[ "$d" != "/" ]]; do chmod o+x "$d" 2>/dev/null || true; d="$(dirname "$d")"; done
        chown -R postgres: "$PGROOT" "$SOCKDIR"
    fi
    if "${RUNUSER[@]}" "$PG_BIN/pg_ctl" status -D "$PGDATA" >/dev/null 2>&1; then
        log "a PostgreSQL server is already running on $PGDATA (left from an earlier run?): stopping it"
        "${RUNUSER[@]}" "$PG_BIN/pg_ctl" stop -D "$PGDATA" -m fast -w -t 60 >/dev/null
    fi
    if [[ ! -f "$PGDATA/PG_VERSION" ]]; then
        log "initdb $PGDATA ($("$PG_BIN/postgres" --version))"
        "${RUNUSER[@]}" "$PG_BIN/initdb" -D "$PGDATA" -U postgres --auth=trust --encoding=UTF8 --no-locale \
            --no-instructions >"$LOGS/initdb.log" 2>&1 || { cat "$LOGS/initdb.log" >&2; die "initdb failed"; }
    fi
    PG_STARTED=1
    for attempt in 1 2 3 4 5; do
        # 20000–31999: below the kernel's ephemeral range (32768–60999), where an outgoing socket can take a port first.
        next_free_port $((20000 + RANDOM % 12000)); PG_PORT=$FREE_PORT
        # The same include file the embedded server rewrites on every start, so both share the cluster.
        "${RUNUSER[@]}" tee "$PGDATA/job_local.conf" >/dev/null <<EOF
# Written by deploy/local/run.sh (and Job.Silo's embedded server) on every start; edits are overwritten.
listen_addresses = '127.0.0.1'
port = '$PG_PORT'
unix_socket_directories = '$SOCKDIR'
fsync = 'on'
max_connections = '200'
EOF
        grep -q "^include 'job_local.conf'" "$PGDATA/postgresql.conf" \
            || printf "\ninclude 'job_local.conf'\n" | "${RUNUSER[@]}" tee -a "$PGDATA/postgresql.conf" >/dev/null
        if "${RUNUSER[@]}" "$PG_BIN/pg_ctl" start -D "$PGDATA" -l "$PGLOG" -w -t 60 >/dev/null 2>&1; then
            break
        fi
        if [[ $attempt == 5 ]] || ! tail -n 20 "$PGLOG" 2>/dev/null | grep -qiE 'could not bind|could not create any TCP'; then
            tail -n 20 "$PGLOG" >&2 || true
            die "PostgreSQL failed to start (log: $PGLOG)"
        fi
    done
    export PGHOST=127.0.0.1 PGPORT="$PG_PORT" PGUSER=postgres PGDATABASE=postgres
    if [[ -z "$("$PSQL" -XtAq -c "SELECT 1 FROM pg_database WHERE datname = 'jobs'")" ]]; then
        "$PSQL" -Xq -c 'CREATE DATABASE jobs' >/dev/null
    fi
    export PGDATABASE=jobs
    CS="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=jobs"
    log "PostgreSQL $("$PSQL" -XtAc 'SHOW server_version') on 127.0.0.1:$PG_PORT (data $PGDATA, log $PGLOG)"
else
    CS="$PG_CS"
    npgsql_to_pgenv "$CS"
    PSQL="$(command -v psql || true)"
    [[ -n "$PSQL" ]] || log "psql not found: no progress view (install postgresql-client)"
    log "using the PostgreSQL server given with --pg"
fi

# ---------------------------------------------------------------- migrations
export ConnectionStrings__Jobs="$CS" Orleans__ClusterId="$CLUSTER_ID"
log "applying migrations (Job.Silo migrate)"
if ! "${SILO[@]}" migrate >"$LOGS/migrate.log" 2>&1; then
    cat "$LOGS/migrate.log" >&2
    die "migrations failed"
fi
sed 's/^/[migrate] /' "$LOGS/migrate.log"

# ---------------------------------------------------------------- silos
# Silos 2..N first, then silo 1 with the demo jobs, so that every silo is up to claim them.
declare -A SILO_PORT GATEWAY_PORT HEALTH_PORT
for i in $(seq 1 "$SILOS"); do
    next_free_port 11111; SILO_PORT[$i]=$FREE_PORT
    next_free_port 30000; GATEWAY_PORT[$i]=$FREE_PORT
    next_free_port 8080; HEALTH_PORT[$i]=$FREE_PORT
done
next_free_port 8800; DASHBOARD_PORT=$FREE_PORT
start_silo() {
    local i=$1 demo=$2
    local logfile="$LOGS/silo-$i.log"
    local dashboard=()
    # silo-1 serves the dashboard (loopback only, actions on: this is a local cluster).
    if [[ $i == 1 ]]; then dashboard=(--Dashboard:Port="$DASHBOARD_PORT" --Dashboard:AllowActions=true); fi
    : >"$logfile"
    Orleans__SiloPort="${SILO_PORT[$i]}" Orleans__GatewayPort="${GATEWAY_PORT[$i]}" Health__Port="${HEALTH_PORT[$i]}" \
        Orleans__AdvertisedIP=127.0.0.1 Demo__SpawnOnStart="$demo" \
        "${SILO[@]}" run "${dashboard[@]}" </dev/null >"$logfile" 2>&1 &
    local pid=$!
    SILO_PIDS+=("$pid")
    PID_OF[$i]=$pid
    echo "$pid" >"$RUN/silo-$i.pid"
    log "silo-$i pid $pid: silo port ${SILO_PORT[$i]}, gateway ${GATEWAY_PORT[$i]}, health http://127.0.0.1:${HEALTH_PORT[$i]}/readyz, log .local/logs/silo-$i.log"
}
wait_ready() {
    local i=$1 deadline=$((SECONDS + 120))
    while [[ "$(http_status "${HEALTH_PORT[$i]}" /readyz)" != 200 ]]; do
        if ! kill -0 "${PID_OF[$i]}" 2>/dev/null; then
            tail -n 20 "$LOGS/silo-$i.log" >&2
            die "silo-$i exited during start (log: $LOGS/silo-$i.log)"
        fi
        [[ $SECONDS -lt $deadline ]] || die "silo-$i not ready after 120 s (log: $LOGS/silo-$i.log)"
        sleep 0.5
    done
    log "silo-$i ready"
}
declare -A PID_OF
for i in $(seq 2 "$SILOS"); do start_silo "$i" 0; done
for i in $(seq 2 "$SILOS"); do wait_ready "$i"; done
start_silo 1 "$JOBS"
wait_ready 1

# ---------------------------------------------------------------- progress until Ctrl-C
log "cluster '$CLUSTER_ID' is up with $SILOS silo(s); demo jobs spawned by silo-1. Ctrl-C stops everything."
log "dashboard: http://127.0.0.1:$DASHBOARD_PORT/  (served by silo-1 on loopback, actions on)"
if [[ -z "$PG_CS" ]]; then
    log "operator CLI: ConnectionStrings__Jobs='$CS' dotnet .local/app/Job.Silo.dll stats   (also list, show, retry, cancel, delete, pause, resume)"
fi
progress() {
    local states running hello="" i n
    if [[ -n "$PSQL" ]]; then
        states="$("$PSQL" -XtAq -F= -R' ' -c "SELECT coalesce(terminal_state, 'live'), count(*) FROM job.jobs GROUP BY 1 ORDER BY 1" 2>/dev/null || echo '(database unavailable)')"
        running="$("$PSQL" -XtAq -c "SELECT count(*) FROM job.job_executions WHERE state = 'running'" 2>/dev/null || echo '?')"
    fi
    for i in $(seq 1 "$SILOS"); do
        n="$(grep -c 'demo.hello .*: hello' "$LOGS/silo-$i.log" 2>/dev/null || true)"
        hello+=" silo-$i=${n:-0}"
    done
    local line
    line="$(printf 'jobs: %s | running now: %s | demo.hello done per silo:%s' "${states:-?}" "${running:-?}" "$hello")"
    # Print changes, and otherwise a line every 30 s to show it is alive.
    if [[ "$line" != "$LAST_LINE" || $SECONDS -ge $((LAST_PRINT + 30)) ]]; then
        printf '[%s] %s\n' "$(date +%H:%M:%S)" "$line"
        LAST_LINE=$line
        LAST_PRINT=$SECONDS
    fi
}
LAST_LINE=""
LAST_PRINT=0
declare -A GONE=()
while true; do
    # A silo that dies (kill -9 one to watch its jobs move) is reported once; the others go on.
    for i in $(seq 1 "$SILOS"); do
        if [[ -z "${GONE[$i]:-}" ]] && ! kill -0 "${PID_OF[$i]}" 2>/dev/null; then
            GONE[$i]=1
            tail -n 5 "$LOGS/silo-$i.log" >&2
            log "silo-$i (pid ${PID_OF[$i]}) exited (log: $LOGS/silo-$i.log); the other silos rescue its running jobs once membership declares it dead"
        fi
    done
    [[ ${#GONE[@]} -lt $SILOS ]] || die "every silo exited (logs: $LOGS)"
    progress
    sleep 2 &
    wait $! || true
done
