# The Docker target's reverse proxy image: Caddy from Debian's package (its static binary,
# taken out of the .deb with dpkg-deb -x) on the app's base image, in the engine
# ($PROXY_IMAGE_LOCAL) and the registry ($PROXY_IMAGE_REMOTE). No image can be pulled here;
# a user elsewhere sets delivery:proxyImage to an official caddy image instead.
# Sourced by scripts/services.
# shellcheck shell=bash

# The caddy binary of Debian's package, cached outside the clone.
proxy_binary() {
  local dir="$DELIVERY_CACHE/proxy/caddy-$PROXY_CADDY_VERSION" deb tmp
  if [ -x "$dir/caddy" ]; then echo "$dir/caddy"; return; fi
  mkdir -p "$dir"
  tmp="$(mktemp -d "$DELIVERY_CACHE/proxy/deb.XXXXXX")"
  # apt-get download fetches the .deb without installing it; the lists may need an update first.
  if ! (cd "$tmp" && apt-get download "caddy=$PROXY_CADDY_VERSION" >"$APT_LOG" 2>&1); then
    log "proxy: apt-get update" >&2
    apt-get update -qq >/dev/null
    (cd "$tmp" && apt-get download "caddy=$PROXY_CADDY_VERSION" >"$APT_LOG" 2>&1) || { cat "$APT_LOG" >&2; rm -rf "$tmp"; die "apt-get download caddy=$PROXY_CADDY_VERSION failed"; }
  fi
  deb="$(ls "$tmp"/caddy_*.deb)"
  dpkg-deb -x "$deb" "$tmp/x"
  cp "$tmp/x/usr/bin/caddy" "$dir/caddy.tmp"
  mv "$dir/caddy.tmp" "$dir/caddy"
  rm -rf "$tmp"
  echo "$dir/caddy"
}

start_proxy() {
  engine_answers || die "no Docker engine answers; run: scripts/services start docker"
  registry_up "$REGISTRY_PORT" || die "no registry on $REGISTRY; run: scripts/services start registry"
  docker image inspect "$BASE_IMAGE_LOCAL" >/dev/null 2>&1 || die "no $BASE_IMAGE_LOCAL; run: scripts/services start base"
  if docker image inspect "$PROXY_IMAGE_REMOTE" >/dev/null 2>&1 && registry_has delivery/proxy "$PROXY_TAG"; then
    log "proxy: $PROXY_IMAGE_REMOTE present and in $REGISTRY"
    return 0
  fi
  if ! docker image inspect "$PROXY_IMAGE_LOCAL" >/dev/null 2>&1; then
    local bin cid
    bin="$(proxy_binary)"
    # docker create + cp + commit: no build, no pull; the base image is already in the engine.
    cid="$(docker create "$BASE_IMAGE_LOCAL" true)"
    docker cp "$bin" "$cid:/usr/bin/caddy" >/dev/null
    docker commit \
      -c 'ENV XDG_CONFIG_HOME=/config XDG_DATA_HOME=/data' \
      -c 'EXPOSE 80' \
      -c 'CMD ["caddy", "run", "--resume"]' \
      -c "LABEL org.opencontainers.image.title=delivery-proxy delivery.proxy.caddy=$PROXY_CADDY_VERSION" \
      -m "caddy $PROXY_CADDY_VERSION from Debian's package on $BASE_IMAGE_LOCAL" \
      "$cid" "$PROXY_IMAGE_LOCAL" >/dev/null
    docker rm "$cid" >/dev/null
  fi
  docker tag "$PROXY_IMAGE_LOCAL" "$PROXY_IMAGE_REMOTE"
  log "proxy: pushing $PROXY_IMAGE_REMOTE"
  docker push -q "$PROXY_IMAGE_REMOTE" >/dev/null 2>"$RUN/push.log" || { cat "$RUN/push.log" >&2; die "push of $PROXY_IMAGE_REMOTE failed"; }
  log "proxy: $PROXY_IMAGE_REMOTE pushed"
}

status_proxy() {
  if engine_answers && docker image inspect "$PROXY_IMAGE_REMOTE" >/dev/null 2>&1; then
    log "proxy: $PROXY_IMAGE_REMOTE $(docker image inspect -f '{{.Id}}' "$PROXY_IMAGE_REMOTE" | cut -c1-19)"
  else
    log "proxy: $PROXY_IMAGE_REMOTE missing"
    return 1
  fi
}
