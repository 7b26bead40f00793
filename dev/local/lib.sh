# shellcheck shell=bash
# Functions shared by dev/up.sh and dev/down.sh (sourced; expects ROOT, STATE
# and the port variables of dev/up.sh).

die() { printf 'make dev: %s\n' "$*" >&2; exit 1; }

# rel PATH: PATH relative to the repository when inside it.
rel() { printf '%s' "${1#"$ROOT"/}"; }

# alive PIDFILE NAME: the pid in PIDFILE runs a program whose command line
# contains NAME (guards against a reused pid).
alive() {
  local pid
  [ -s "$1" ] || return 1
  pid="$(cat "$1")"
  kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2"
}

# port_busy PORT: something listens on 127.0.0.1:PORT.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

need_port() { # PORT WHAT VAR
  port_busy "$1" && die "port $1 (for $2) is already in use by another program; free it or set $3=<port>"
  return 0
}

# wait_http URL PIDFILE NAME LOG [PATTERN]: until URL answers (and its body
# matches PATTERN), failing early when the process died.
wait_http() {
  local body
  for _ in $(seq 1 300); do
    if body="$(curl -s --max-time 2 "$1" 2>/dev/null)" && [ -n "$body" ] && { [ -z "${5:-}" ] || grep -q -- "$5" <<<"$body"; }; then
      return 0
    fi
    alive "$2" "$3" || { tail -n 30 "$4" >&2; die "$3 exited during start-up (log: $(rel "$4"))"; }
    sleep 0.2
  done
  tail -n 30 "$4" >&2
  die "$3 did not answer $1 within 60s (log: $(rel "$4"))"
}

# launch PIDFILE LOG CMD...: run CMD in its own session, detached from this
# script, logging to LOG.
launch() {
  local pidfile="$1" log="$2"
  shift 2
  setsid "$@" >>"$log" 2>&1 </dev/null &
  echo $! >"$pidfile"
}

# stop_pid PIDFILE NAME: SIGTERM, wait up to 20s, then SIGKILL.
stop_pid() {
  local pid
  if alive "$1" "$2"; then
    pid="$(cat "$1")"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$1"
}

# ---- PostgreSQL ---------------------------------------------------------------

pg_bin() {
  local d
  # The Debian layout first (it has every tool); else pg_ctl's directory.
  d="$(printf '%s\n' /usr/lib/postgresql/*/bin | grep -v '\*' | sort -V | tail -n1)"
  if [ -z "$d" ] && command -v pg_ctl >/dev/null 2>&1; then d="$(dirname "$(readlink -f "$(command -v pg_ctl)")")"; fi
  [ -n "$d" ] || die "PostgreSQL is not installed (apt-get install -y postgresql; dev/deps.sh does it)"
  echo "$d"
}

# as_pg CMD...: PostgreSQL refuses to run as root; as root run it as the
# postgres user, else as ourselves.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_user() { if [ "$(id -u)" -eq 0 ]; then echo postgres; else id -un; fi; }

start_postgres() {
  local bin data="$STATE/pg/data" run="$STATE/pg/run" log="$STATE/pg/postgres.log"
  bin="$(pg_bin)"
  mkdir -p "$run"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$STATE/pg" "$run"
  if [ ! -s "$data/PG_VERSION" ]; then
    as_pg "$bin/initdb" -D "$data" -U "$(pg_user)" --auth=trust -E UTF8 --no-instructions >"$STATE/pg/initdb.log" 2>&1 ||
      { tail -n 20 "$STATE/pg/initdb.log" >&2; die "initdb failed (log: $(rel "$STATE/pg/initdb.log"))"; }
  fi
  if ! as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    need_port "$PG_PORT" PostgreSQL RISE_DEV_PG_PORT
    as_pg "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $run -c fsync=off" start >/dev/null ||
      { tail -n 20 "$log" >&2; die "PostgreSQL did not start (log: $(rel "$log"))"; }
  fi
  if ! as_pg "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U "$(pg_user)" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'rise'" | grep -q 1; then
    as_pg "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U "$(pg_user)" rise || die "createdb rise failed"
  fi
}

stop_postgres() {
  local bin data="$STATE/pg/data"
  [ -s "$data/PG_VERSION" ] || return 0
  bin="$(pg_bin)"
  if as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_pg "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null || echo "make dev-down: PostgreSQL did not stop" >&2
  fi
}

# ---- registry -----------------------------------------------------------------

start_registry() {
  local cfg="$STATE/registry/config.yml" pid="$STATE/registry/registry.pid" log="$STATE/registry/registry.log"
  command -v docker-registry >/dev/null 2>&1 || die "docker-registry is not installed (apt-get install -y docker-registry; dev/deps.sh does it)"
  cat >"$cfg.new" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: "$STATE/registry/storage"
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$REG_PORT
auth:
  token:
    realm: "$PUBLIC_URL/api/v1/registry/token"
    service: rise-registry
    issuer: rise
    rootcertbundle: "$STATE/keys/registry.crt"
EOF
  if alive "$pid" docker-registry && cmp -s "$cfg" "$cfg.new"; then rm -f "$cfg.new"; return 0; fi
  stop_pid "$pid" docker-registry
  mv "$cfg.new" "$cfg"
  need_port "$REG_PORT" "the registry" RISE_DEV_REGISTRY_PORT
  launch "$pid" "$log" docker-registry serve "$cfg"
  wait_http "http://127.0.0.1:$REG_PORT/v2/" "$pid" docker-registry "$log" UNAUTHORIZED
}

# ---- Dex ----------------------------------------------------------------------

start_dex() {
  local dex cfg="$STATE/dex/config.yaml" pid="$STATE/dex/dex.pid" log="$STATE/dex/dex.log" h p
  dex="$(dev/dex/build.sh)" || die "dev/dex/build.sh could not build Dex"
  {
    cat <<EOF
# Dex for rise's local platform (written by dev/up.sh). The issuer has no
# path: Dex's device flow needs that.
issuer: http://127.0.0.1:$DEX_PORT
storage:
  type: memory
web:
  http: 127.0.0.1:$DEX_PORT
logger:
  level: warn
oauth2:
  skipApprovalScreen: true
  responseTypes: ["code"]
enablePasswordDB: true
staticPasswords:
  - email: "$EMAIL"
    hash: "$HASH"
    username: "admin"
    userID: "rise-dev-admin"
staticClients:
  - id: rise
    secret: "$DEX_SECRET"
    name: rise
    redirectURIs:
      - "$PUBLIC_URL/auth/callback"
      - "/device/callback"
EOF
    for h in localhost 127.0.0.1; do
      for p in 8765 8766 8767; do echo "      - \"http://$h:$p/callback\""; done
    done
  } >"$cfg.new"
  if alive "$pid" dex && cmp -s "$cfg" "$cfg.new"; then rm -f "$cfg.new"; return 0; fi
  stop_pid "$pid" dex
  mv "$cfg.new" "$cfg"
  chmod 600 "$cfg"
  need_port "$DEX_PORT" Dex RISE_DEV_DEX_PORT
  launch "$pid" "$log" "$dex" serve "$cfg"
  wait_http "http://127.0.0.1:$DEX_PORT/keys" "$pid" dex "$log" '"kid"'
}

# ---- container engine ---------------------------------------------------------

# pick_engine sets ENGINE (docker|podman) and ENGINE_HOST (the Docker API
# socket the runtime uses; empty = the default): RISE_DEV_ENGINE, else the
# running Docker Engine, else Podman serving the Docker API from .dev/podman.
pick_engine() {
  ENGINE="${RISE_DEV_ENGINE:-}"
  ENGINE_HOST=""
  if [ -z "$ENGINE" ]; then
    if docker info >/dev/null 2>&1; then ENGINE=docker
    elif command -v podman >/dev/null 2>&1; then ENGINE=podman
    else die "no container engine: start the Docker Engine (\`docker info\` fails) or install Podman (apt-get install -y podman runc)"
    fi
  fi
  case "$ENGINE" in
    docker) docker info >/dev/null 2>&1 || die "the Docker Engine is not reachable (\`docker info\` fails); start it or set RISE_DEV_ENGINE=podman" ;;
    podman) start_podman ;;
    *) die "RISE_DEV_ENGINE must be docker or podman, not \"$ENGINE\"" ;;
  esac
}

# start_podman serves the Docker API from Podman with a project-local
# configuration (runc and cgroupfs, no default ulimits, the dev registry as an
# insecure loopback registry).
start_podman() {
  local dir="$STATE/podman" pid="$STATE/podman/service.pid"
  command -v podman >/dev/null 2>&1 || die "podman is not installed (apt-get install -y podman runc)"
  mkdir -p "$dir"
  printf '[containers]\ndefault_ulimits = []\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n' >"$dir/containers.conf"
  printf '[[registry]]\nlocation = "127.0.0.1:%s"\ninsecure = true\n' "$REG_PORT" >"$dir/registries.conf"
  export CONTAINERS_CONF="$dir/containers.conf" CONTAINERS_REGISTRIES_CONF="$dir/registries.conf"
  ENGINE_HOST="unix://$dir/podman.sock"
  if ! alive "$pid" "podman system service"; then
    rm -f "$dir/podman.sock"
    launch "$pid" "$dir/service.log" podman system service --time=0 "$ENGINE_HOST"
  fi
  for _ in $(seq 1 150); do
    [ "$(curl -s --max-time 2 --unix-socket "$dir/podman.sock" http://d/_ping 2>/dev/null)" = OK ] && return 0
    alive "$pid" "podman system service" || break
    sleep 0.2
  done
  tail -n 20 "$dir/service.log" >&2
  die "podman system service did not start (log: $(rel "$dir/service.log"))"
}

# ---- rise server --------------------------------------------------------------

write_server_config() {
  cat >"$STATE/server.hcl.new" <<EOF
# rise's local platform (written by dev/up.sh; edits are overwritten).
listen     = "127.0.0.1:$PORT"
public_url = "$PUBLIC_URL"
domain     = "localhost:$PORT" # apps at http://<project>.localhost:$PORT
app_scheme = "http"
data_dir   = "data"

database {
  url = "postgres://$(pg_user)@127.0.0.1:$PG_PORT/rise?sslmode=disable"
}

auth {
  local {
    user "$EMAIL" {
      password_hash = "$HASH"
      name          = "Admin"
      admin         = true
    }
  }
  oidc "dex" {
    issuer        = "http://127.0.0.1:$DEX_PORT"
    client_id     = "rise"
    client_secret = "$DEX_SECRET"
    admin_emails  = ["$EMAIL"]
  }
}

registry "docker" {
  url              = "127.0.0.1:$REG_PORT"
  token_ttl        = "5m"
  service          = "rise-registry"
  issuer           = "rise"
  signing_key_file = "$STATE/keys/registry.key"
  certificate_file = "$STATE/keys/registry.crt"
}

EOF
  # RISE_DEV_PLUGINS_HCL: a file of plugin blocks (rise plugin sha256) and,
  # optionally, the runtime block that replaces the Docker runtime
  # (docs/plugins.md, "From rise plugin new to a deploy").
  if [ -n "${RISE_DEV_PLUGINS_HCL:-}" ]; then
    [ -r "$RISE_DEV_PLUGINS_HCL" ] || die "RISE_DEV_PLUGINS_HCL: cannot read $RISE_DEV_PLUGINS_HCL"
    { echo; cat "$RISE_DEV_PLUGINS_HCL"; } >>"$STATE/server.hcl.new"
    grep -q '^runtime "' "$RISE_DEV_PLUGINS_HCL" && return 0
  fi
  cat >>"$STATE/server.hcl.new" <<EOF

runtime "docker" {
  bind_address = "127.0.0.1"$( [ -n "$ENGINE_HOST" ] && printf '\n  host         = "%s"' "$ENGINE_HOST")
}

encryption {
  provider = "local"
  key      = "$ENCRYPTION_KEY" # .dev/encryption.key
}
EOF
}

start_server() {
  local pid="$STATE/server.pid" log="$STATE/server.log" cfg="$STATE/server.hcl"
  local sum
  sum="$(sha256sum "$RISE" | cut -d' ' -f1)" # make relinks bin/rise every time: compare contents
  if alive "$pid" "rise server" && cmp -s "$cfg" "$cfg.new" && [ "$sum" = "$(cat "$STATE/server.sha256" 2>/dev/null)" ]; then
    rm -f "$cfg.new"
    return 0
  fi
  stop_pid "$pid" "rise server"
  mv "$cfg.new" "$cfg"
  chmod 600 "$cfg"
  "$RISE" server check --config "$cfg" >"$STATE/server-check.log" 2>&1 ||
    { cat "$STATE/server-check.log" >&2; die "rise server check failed for $(rel "$cfg")"; }
  need_port "$PORT" "the rise server" RISE_DEV_PORT
  launch "$pid" "$log" "$RISE" server --config "$cfg"
  echo "$sum" >"$STATE/server.sha256"
  wait_http "$PUBLIC_URL/api/v1/health" "$pid" "rise server" "$log" '"ok"'
}
