# buildkitd (built by scripts/bootstrap) on a unix socket, registered as the buildx "remote"
# builder `delivery` in $DOCKER_CONFIG. Sourced by scripts/services.
# shellcheck shell=bash

BUILDKIT_DIR="$RUN/buildkit"
BUILDKIT_SOCK="$BUILDKIT_DIR/buildkitd.sock"


write_builder_instance() {
  # The buildx store format (store/nodegroup.go): the provider finds builders here. Every start
  # writes it while another test file's build may be reading it: whole or not at all (its
  # temporary file outside instances/, where buildx takes every file for a builder).
  mkdir -p "$DOCKER_CONFIG/buildx/instances"
  [ -s "$DOCKER_CONFIG/config.json" ] || echo '{}' >"$DOCKER_CONFIG/config.json"
  printf '{"Name":"delivery","Driver":"remote","Nodes":[{"Name":"delivery0","Endpoint":"unix://%s","Platforms":null,"DriverOpts":null,"Flags":null,"Files":null}],"Dynamic":false}\n' \
    "$BUILDKIT_SOCK" | write_atomic "$DOCKER_CONFIG/buildx/instances/delivery" "$DOCKER_CONFIG/buildx"
}

start_buildkit() {
  local bin="$DELIVERY_ENGINE_DIR/bin/buildkitd" pid
  # scripts/bootstrap builds it there; with an installed engine, one on PATH serves, or bootstrap
  # builds it now.
  if [ ! -x "$bin" ] && ! bin="$(command -v buildkitd)"; then
    DELIVERY_BUILD_BUILDKITD=1 "$DELIVERY_ROOT/scripts/bootstrap" >&2 || die "scripts/bootstrap could not build buildkitd"
    bin="$DELIVERY_ENGINE_DIR/bin/buildkitd"
  fi
  [ -x "$bin" ] || die "buildkitd is missing at $bin; run scripts/bootstrap first"
  ensure_packages runc
  mkdir -p "$BUILDKIT_DIR"
  # The local registries speak plain HTTP; BuildKit must be told, for FROM and for push.
  cat >"$BUILDKIT_DIR/buildkitd.toml" <<EOT
[worker.oci]
  enabled = true
  snapshotter = "overlayfs"
  gc = true
  gckeepstorage = 10000000000
[worker.containerd]
  enabled = false
[registry."$REGISTRY"]
  http = true
  insecure = true
[registry."$AUTH_REGISTRY"]
  http = true
  insecure = true
EOT
  write_builder_instance
  if pid="$(pid_of "$RUN/buildkitd.pid" buildkitd)"; then
    log "buildkit: up on $BUILDKIT_SOCK (pid $pid)"
    return 0
  fi
  rm -f "$BUILDKIT_SOCK"
  printf '\n==== %s start\n' "$(date -Is)" >>"$RUN/buildkitd.log"
  setsid "$bin" --config "$BUILDKIT_DIR/buildkitd.toml" --root "$BUILDKIT_DIR/root" --addr "unix://$BUILDKIT_SOCK" \
    >>"$RUN/buildkitd.log" 2>&1 </dev/null 9>&- &
  pid=$!
  echo "$pid" >"$RUN/buildkitd.pid"
  await_start "$pid" "$RUN/buildkitd.log" "buildkitd did not start" buildkitd_serving
  log "buildkit: up on $BUILDKIT_SOCK (pid $pid), buildx builder 'delivery' in $DOCKER_CONFIG"
}

buildkitd_serving() { [ -S "$BUILDKIT_SOCK" ] && grep -q "running server on" "$RUN/buildkitd.log"; }

stop_buildkit() {
  local pid
  if pid="$(pid_of "$RUN/buildkitd.pid" buildkitd)"; then stop_pid buildkitd "$pid"; fi
  rm -f "$RUN/buildkitd.pid"
}


status_buildkit() {
  local pid
  if pid="$(pid_of "$RUN/buildkitd.pid" buildkitd)"; then
    log "buildkit: up on $BUILDKIT_SOCK (pid $pid)"
  else
    log "buildkit: down"; return 1
  fi
}
