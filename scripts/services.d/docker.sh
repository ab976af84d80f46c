# The Docker engine: Debian's docker.io on /var/run/docker.sock, with its BuildKit (used by
# `docker build`; the docker-build provider builds through buildkit.sh's buildkitd instead).
# Sourced by scripts/services.
# shellcheck shell=bash

# Set by start_docker when it started dockerd in this run (ensure_ports then proves the ports).
DOCKER_STARTED_NOW=0
STARTED_DRIVER=""
STARTED_NET=""

engine_answers() { timeout 10 docker info >/dev/null 2>&1; }

# Storage drivers to try, best first. overlay2 needs a kernel overlay mount on the data root's
# file system; vfs works everywhere (full copies: slower, larger). fuse-overlayfs is not tried
# by itself: with it, the 20.10 engine's BuildKit failed here on the first build after a start
# ("failed to read dockerfile: stat /var/lib/docker/fuse-overlayfs/...: no such file or
# directory"), later builds passed. DELIVERY_DOCKER_STORAGE_DRIVER=fuse-overlayfs still picks it.
storage_candidates() {
  if [ -n "${DELIVERY_DOCKER_STORAGE_DRIVER:-}" ]; then echo "$DELIVERY_DOCKER_STORAGE_DRIVER"; return; fi
  local t
  mkdir -p "$DOCKER_DATA_ROOT"
  t="$(mktemp -d "$DOCKER_DATA_ROOT/.overlay-probe.XXXXXX")"
  mkdir -p "$t/l" "$t/u" "$t/w" "$t/m"
  if mount -t overlay overlay -o "lowerdir=$t/l,upperdir=$t/u,workdir=$t/w" "$t/m" 2>/dev/null; then
    umount "$t/m"
    echo overlay2
  fi
  rm -rf "$t"
  echo vfs
}

# Writes the daemon config for one attempt. 127.0.0.0/8 is insecure (plain HTTP) by default;
# it is listed anyway, with the localhost spellings, so the classic builder, the daemon's
# BuildKit (which takes the daemon's registry settings) and pushes all use HTTP to the local
# registries whatever the defaults of a given engine version are.
write_daemon_json() {
  local driver="$1" net="$2" f="$RUN/docker/daemon.json"
  local netopts=""
  case "$net" in
    bridge) ;;
    no-iptables) netopts='"iptables": false, "ip-masq": false,' ;;
    no-bridge) netopts='"iptables": false, "ip-masq": false, "bridge": "none",' ;;
  esac
  cat >"$f" <<EOF
{
  "data-root": "$DOCKER_DATA_ROOT",
  "storage-driver": "$driver",
  $netopts
  "insecure-registries": ["$REGISTRY", "$AUTH_REGISTRY", "localhost:$REGISTRY_PORT", "localhost:$AUTH_REGISTRY_PORT"],
  "features": { "buildkit": true },
  "log-driver": "json-file",
  "log-opts": { "max-size": "10m", "max-file": "2" }
}
EOF
}

# Starts dockerd once with the given settings; returns non-zero when it exits or does not
# answer within 60 s.
try_dockerd() {
  local driver="$1" net="$2" pid i
  write_daemon_json "$driver" "$net"
  log "starting dockerd (storage driver $driver, network $net)"
  printf '\n==== %s dockerd storage=%s network=%s\n' "$(date -Is)" "$driver" "$net" >>"$RUN/dockerd.log"
  rm -f "$RUN/dockerd.pid"
  setsid dockerd --config-file "$RUN/docker/daemon.json" --pidfile "$RUN/dockerd.pid" \
    >>"$RUN/dockerd.log" 2>&1 </dev/null 9>&- &
  pid=$!
  for ((i = 0; i < 120; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "dockerd exited: $(grep -E 'level=(fatal|error)|failed to start' "$RUN/dockerd.log" | tail -n 1 | cut -c1-300)"
      return 1
    fi
    if engine_answers; then
      echo "$pid" >"$RUN/dockerd.pid"
      local got
      got="$(docker info --format '{{.Driver}}' 2>/dev/null || true)"
      if [ "$got" != "$driver" ]; then
        log "dockerd runs with storage driver '$got', not '$driver'"
        stop_pid dockerd "$pid"
        return 1
      fi
      return 0
    fi
    sleep 0.5
  done
  log "dockerd did not answer in 60s"
  stop_pid dockerd "$pid"
  return 1
}

# Proves that a port published on 127.0.0.1 reaches a container (needs the base image).
port_check() {
  local image="$1" port cid ok=1 i
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  cid="$(docker run -d -p "127.0.0.1:$port:8000" "$image" \
    python3 -m http.server 8000 --bind 0.0.0.0 --directory /etc)" || return 1
  for ((i = 0; i < 50; i++)); do
    if curl -fs -o /dev/null "http://127.0.0.1:$port/os-release" 2>/dev/null; then ok=0; break; fi
    sleep 0.2
  done
  docker rm -f "$cid" >/dev/null 2>&1 || true
  return "$ok"
}

start_docker() {
  ensure_packages docker.io iptables curl
  [ "${DELIVERY_DOCKER_STORAGE_DRIVER:-}" = fuse-overlayfs ] && ensure_packages fuse-overlayfs
  mkdir -p "$RUN/docker"
  if engine_answers; then
    local note="not started by this script"
    pid_of "$RUN/dockerd.pid" dockerd >/dev/null && note="pid $(cat "$RUN/dockerd.pid")"
    log "docker: engine answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null), $(docker info --format '{{.Driver}}' 2>/dev/null), $note)"
    return 0
  fi
  local old
  if old="$(pid_of "$RUN/dockerd.pid" dockerd)"; then
    log "docker: our dockerd (pid $old) runs but does not answer; restarting it"
    stop_pid dockerd "$old" 40
  elif [ -S "$DOCKER_SOCK" ]; then
    log "docker: stale socket $DOCKER_SOCK with no engine behind it; dockerd will replace it"
  fi
  local driver net started=0
  # Remember what worked last time so a restart does not probe again.
  local drivers nets
  if [ -n "${DELIVERY_DOCKER_STORAGE_DRIVER:-}" ] || [ ! -s "$RUN/docker/chosen" ]; then
    drivers="$(storage_candidates | tr '\n' ' ')"
    nets="bridge no-iptables no-bridge"
  else
    read -r driver net <"$RUN/docker/chosen"
    drivers="$driver $(storage_candidates | tr '\n' ' ')"
    nets="$net bridge no-iptables no-bridge"
  fi
  # DELIVERY_DOCKER_NETWORK=bridge|no-iptables|no-bridge forces one network mode.
  [ -n "${DELIVERY_DOCKER_NETWORK:-}" ] && nets="$DELIVERY_DOCKER_NETWORK"
  local tried=" "
  for driver in $drivers; do
    for net in $nets; do
      [[ "$tried" == *" $driver/$net "* ]] && continue
      tried+="$driver/$net "
      if try_dockerd "$driver" "$net"; then started=1; break 2; fi
      # A storage driver that fails does so whatever the network: go to the next driver.
      if grep -qiE 'graphdriver|storage[- ]driver|driver not supported' \
          <(tail -n 20 "$RUN/dockerd.log"); then
        break
      fi
    done
  done
  [ "$started" = 1 ] || die "dockerd did not start with any storage driver; see $RUN/dockerd.log"
  # Forced choices are not remembered: the next plain start probes again.
  if [ -z "${DELIVERY_DOCKER_STORAGE_DRIVER:-}${DELIVERY_DOCKER_NETWORK:-}" ]; then
    echo "$driver $net" >"$RUN/docker/chosen"
  else
    rm -f "$RUN/docker/chosen"
  fi
  # The engine's BuildKit cache (data-root/buildkit) is shared by all storage drivers but
  # points at one driver's layers: after a change of driver its builds fail in "exporting to
  # image" with "layer does not exist" (moby/moby#41595), so the cache is dropped then.
  local last=""
  [ -s "$DOCKER_DATA_ROOT/.delivery-storage-driver" ] && last="$(cat "$DOCKER_DATA_ROOT/.delivery-storage-driver")"
  if [ -n "$last" ] && [ "$last" != "$driver" ]; then
    log "docker: storage driver changed ($last -> $driver); pruning the BuildKit cache"
    docker builder prune -af >/dev/null 2>&1 || true
  fi
  echo "$driver" >"$DOCKER_DATA_ROOT/.delivery-storage-driver"
  DOCKER_STARTED_NOW=1
  STARTED_DRIVER="$driver"
  STARTED_NET="$net"
  log "docker: engine $(docker version --format '{{.Server.Version}}') up (pid $(cat "$RUN/dockerd.pid"), storage $driver, network $net, log $RUN/dockerd.log)"
  if [ "$net" = no-bridge ]; then
    log "warning: containers have no bridge network: ports published on 127.0.0.1 will not work"
  fi
}

# After a start of dockerd, once an image is there: prove that ports published on 127.0.0.1
# reach containers. With iptables that do not work, dockerd is started again without them
# (docker-proxy then forwards published ports by itself).
ensure_ports() {
  [ "$DOCKER_STARTED_NOW" = 1 ] || return 0
  docker image inspect "$BASE_IMAGE_REMOTE" >/dev/null 2>&1 || return 0
  if port_check "$BASE_IMAGE_REMOTE"; then
    log "docker: ports published on 127.0.0.1 reach containers"
    return 0
  fi
  local driver="$STARTED_DRIVER" net="$STARTED_NET" pid
  [ "$net" = bridge ] || die "ports published on 127.0.0.1 do not reach containers (network $net)"
  log "docker: ports published on 127.0.0.1 do not reach containers; restarting dockerd without iptables"
  pid="$(pid_of "$RUN/dockerd.pid" dockerd)" && stop_pid dockerd "$pid" 40
  try_dockerd "$driver" no-iptables || die "dockerd did not start without iptables; see $RUN/dockerd.log"
  [ -n "${DELIVERY_DOCKER_STORAGE_DRIVER:-}" ] || echo "$driver no-iptables" >"$RUN/docker/chosen"
  port_check "$BASE_IMAGE_REMOTE" || die "ports published on 127.0.0.1 do not reach containers"
  log "docker: ports published on 127.0.0.1 reach containers (without iptables)"
}

stop_docker() {
  local pid
  if pid="$(pid_of "$RUN/dockerd.pid" dockerd)"; then
    stop_pid dockerd "$pid" 40
    rm -f "$RUN/dockerd.pid"
  elif engine_answers; then
    log "docker: engine answers but was not started by this script; left running"
  fi
}


status_docker() {
  local pid who="not started by this script"
  if engine_answers; then
    pid="$(pid_of "$RUN/dockerd.pid" dockerd)" && who="pid $pid"
    log "docker: up, engine $(docker version --format '{{.Server.Version}}' 2>/dev/null), storage $(docker info --format '{{.Driver}}' 2>/dev/null), $who"
  else
    log "docker: down"; return 1
  fi
}

# Proves published ports on 127.0.0.1 and BuildKit resolving FROM the local HTTP registry.
check_docker() {
  local rc=0
  engine_answers || die "no Docker engine answers; run: scripts/services start"
  if port_check "$BASE_IMAGE_REMOTE"; then log "check: a port published on 127.0.0.1 reaches the container"
  else log "check: FAILED: a port published on 127.0.0.1 does not reach the container"; rc=1; fi
  local bk=(env DOCKER_BUILDKIT=1 /usr/bin/docker build) how="DOCKER_BUILDKIT=1 docker build"
  if docker buildx version >/dev/null 2>&1; then bk=(docker buildx build --load); how="docker buildx build"; fi
  if printf 'FROM %s\nLABEL delivery.check=buildkit\n' "$BASE_IMAGE_REMOTE" \
      | "${bk[@]}" -q -t delivery/check:buildkit - >/dev/null 2>"$RUN/check.log"; then
    docker rmi delivery/check:buildkit >/dev/null 2>&1 || true
    log "check: BuildKit ($how) builds FROM $BASE_IMAGE_REMOTE"
  else
    log "check: FAILED: BuildKit build FROM $BASE_IMAGE_REMOTE: $(tail -n 3 "$RUN/check.log" | tr '\n' ' ')"; rc=1
  fi
  return "$rc"
}
