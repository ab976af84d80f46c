# The registries on 127.0.0.1: one without auth ($REGISTRY), one with htpasswd auth
# ($AUTH_REGISTRY, user $AUTH_USER). Sourced by scripts/services.
# shellcheck shell=bash

random_secret() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }

write_registry_config() {
  local dir="$1" port="$2" auth="$3"
  mkdir -p "$dir/data"
  [ -s "$dir/http-secret" ] || (umask 077 && random_secret >"$dir/http-secret")
  {
    cat <<EOF
# Written by scripts/services; edits are overwritten at the next start.
version: 0.1
log:
  level: info
  fields:
    service: registry-$port
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
  maintenance:
    uploadpurging:
      enabled: true
      age: 24h
      interval: 12h
      dryrun: false
http:
  addr: 127.0.0.1:$port
  secret: $(cat "$dir/http-secret")
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
EOF
    if [ "$auth" = 1 ]; then
      cat <<EOF
auth:
  htpasswd:
    realm: delivery-registry
    path: $dir/htpasswd
EOF
    fi
  } | write_atomic "$dir/config.yml"
}

ensure_auth_files() {
  mkdir -p "$AUTH_DIR"
  chmod 700 "$AUTH_DIR"
  if [ ! -s "$AUTH_DIR/password" ]; then
    (umask 077 && random_secret >"$AUTH_DIR/password")
    log "registry-auth: generated the password of user $AUTH_USER into $AUTH_DIR/password"
  fi
  chmod 600 "$AUTH_DIR/password"
  if [ ! -s "$AUTH_DIR/htpasswd" ] || [ "$AUTH_DIR/password" -nt "$AUTH_DIR/htpasswd" ] \
      || ! htpasswd -vbB "$AUTH_DIR/htpasswd" "$AUTH_USER" "$(cat "$AUTH_DIR/password")" >/dev/null 2>&1; then
    (umask 077 && htpasswd -cbB "$AUTH_DIR/htpasswd.tmp" "$AUTH_USER" "$(cat "$AUTH_DIR/password")" 2>/dev/null)
    mv "$AUTH_DIR/htpasswd.tmp" "$AUTH_DIR/htpasswd"
  fi
}

# /v2/ answers 200 without auth and 401 with it: both mean the registry is up.
registry_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$1/v2/" || true; }
registry_up() { local c; c="$(registry_code "$1")"; [ "$c" = 200 ] || [ "$c" = 401 ]; }

start_one_registry() {
  local name="$1" port="$2" auth="$3" dir="$RUN/$1" pid
  write_registry_config "$dir" "$port" "$auth"
  if pid="$(pid_of "$RUN/$name.pid" docker-registry)"; then
    if registry_up "$port"; then log "$name: up on 127.0.0.1:$port (pid $pid)"; return 0; fi
    stop_pid "$name" "$pid"
  fi
  if registry_up "$port"; then
    log "$name: 127.0.0.1:$port already answers, not started by this script; left as it is"
    return 0
  fi
  printf '\n==== %s start\n' "$(date -Is)" >>"$RUN/$name.log"
  setsid docker-registry serve "$dir/config.yml" >>"$RUN/$name.log" 2>&1 </dev/null 9>&- &
  pid=$!
  echo "$pid" >"$RUN/$name.pid"
  await_start "$pid" "$RUN/$name.log" "$name did not answer on 127.0.0.1:$port/v2/" registry_up "$port"
  log "$name: up on 127.0.0.1:$port (pid $pid$([ "$auth" = 1 ] && echo ", htpasswd user $AUTH_USER"))"
}

start_registry() {
  ensure_packages docker-registry apache2-utils curl
  ensure_auth_files
  start_one_registry registry "$REGISTRY_PORT" 0
  start_one_registry registry-auth "$AUTH_REGISTRY_PORT" 1
}

stop_registry() {
  local name pid
  for name in registry-auth registry; do
    if pid="$(pid_of "$RUN/$name.pid" docker-registry)"; then stop_pid "$name" "$pid"; fi
    rm -f "$RUN/$name.pid"
  done
}


status_registry() {
  local name port pid who rc=0
  for name in registry registry-auth; do
    port="$REGISTRY_PORT"; [ "$name" = registry-auth ] && port="$AUTH_REGISTRY_PORT"
    if registry_up "$port"; then
      who="not started by this script"
      pid="$(pid_of "$RUN/$name.pid" docker-registry)" && who="pid $pid"
      log "$name: up on 127.0.0.1:$port (/v2/ -> $(registry_code "$port")), $who"
    else
      log "$name: down (127.0.0.1:$port)"; rc=1
    fi
  done
  return "$rc"
}

# Proves the auth registry refuses anonymous use and lets the user in.
check_registry() {
  local code pw
  code="$(registry_code "$AUTH_REGISTRY_PORT")"
  pw="$(cat "$AUTH_DIR/password")"
  if [ "$code" = 401 ] && [ "$(curl -s -o /dev/null -w '%{http_code}' -u "$AUTH_USER:$pw" "http://$AUTH_REGISTRY/v2/")" = 200 ]; then
    log "check: $AUTH_REGISTRY refuses anonymous use (401) and lets $AUTH_USER in (200)"
  else
    log "check: FAILED: $AUTH_REGISTRY answered $code to anonymous /v2/"; return 1
  fi
}
