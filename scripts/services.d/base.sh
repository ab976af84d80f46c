# The app's base image: debootstrap + docker import, in the engine ($BASE_IMAGE_LOCAL) and
# the registry ($BASE_IMAGE_REMOTE). Sourced by scripts/services.
# shellcheck shell=bash


# The Debian mirror the machine's apt uses for $BASE_SUITE (deb822 .sources or one-line .list).
debian_mirror() {
  if [ -n "${DELIVERY_DEBIAN_MIRROR:-}" ]; then echo "$DELIVERY_DEBIAN_MIRROR"; return; fi
  local f m
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    m="$(awk -v suite="$BASE_SUITE" 'BEGIN { RS = ""; FS = "\n" } {
        uris = ""; suites = ""; types = ""
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/)   { s = $i; sub(/^URIs:[ \t]*/, "", s); uris = s }
          if ($i ~ /^Suites:/) { s = $i; sub(/^Suites:[ \t]*/, "", s); suites = " " s " " }
          if ($i ~ /^Types:/)  { types = " " $i " " }
        }
        if (types ~ / deb / && index(suites, " " suite " ") && uris != "") { split(uris, u, " "); print u[1]; exit }
      }' "$f")"
    [ -n "$m" ] && { echo "$m"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    m="$(awk -v suite="$BASE_SUITE" '$1 == "deb" {
        i = 2
        if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
        if ($(i + 1) == suite) { print $i; exit }
      }' "$f")"
    [ -n "$m" ] && { echo "$m"; return; }
  done
  echo "http://deb.debian.org/debian"
}

base_key() { printf '%s|%s|minbase|%s' "$BASE_RECIPE" "$BASE_SUITE" "$BASE_PACKAGES" | sha256sum | cut -c1-16; }

# Makes the trimmed rootfs tarball once; later runs reuse it.
base_tarball() {
  local key tarball rootfs mirror
  key="$(base_key)"
  tarball="$DELIVERY_CACHE/base/python-base-$BASE_SUITE-$key.tar.gz"
  if [ -s "$tarball" ]; then echo "$tarball"; return; fi
  ensure_packages debootstrap debian-archive-keyring >&2
  mkdir -p "$DELIVERY_CACHE/base"
  mirror="$(debian_mirror)"
  rootfs="$(mktemp -d "$DELIVERY_CACHE/base/rootfs.XXXXXX")"
  log "base: debootstrap --variant=minbase --include=$BASE_PACKAGES $BASE_SUITE from $mirror (log $DELIVERY_CACHE/base/debootstrap.log)" >&2
  if ! debootstrap --variant=minbase --include="$BASE_PACKAGES" "$BASE_SUITE" "$rootfs" "$mirror" \
      >"$DELIVERY_CACHE/base/debootstrap.log" 2>&1; then
    tail -n 20 "$DELIVERY_CACHE/base/debootstrap.log" >&2
    umount_under "$rootfs"
    rm -rf "$rootfs"
    die "debootstrap failed"
  fi
  umount_under "$rootfs"
  trim_rootfs "$rootfs"
  log "base: packing $(du -sh "$rootfs" | cut -f1) rootfs into $tarball" >&2
  tar --numeric-owner --xattrs -C "$rootfs" -czf "$tarball.tmp" \
    --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' --exclude='./run/*' --exclude='./tmp/*' .
  mv "$tarball.tmp" "$tarball"
  rm -rf "$rootfs"
  echo "$tarball"
}

umount_under() {
  local m
  # Deepest first; debootstrap unmounts what it mounted, this is for interrupted runs.
  while IFS= read -r m; do
    umount -l "$m" 2>/dev/null || true
  done < <(awk -v r="$1" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r)
}

trim_rootfs() {
  local r="$1"
  # Keep each package's copyright file; drop the rest of the docs, manuals, translations,
  # apt's lists and downloaded packages, logs and caches.
  find "$r/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
  rm -rf "$r/usr/share/man" "$r/usr/share/info" "$r/usr/share/groff" "$r/usr/share/lintian" \
    "$r/usr/share/linda"
  find "$r/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name 'locale.alias' -exec rm -rf {} + 2>/dev/null || true
  rm -rf "$r/var/lib/apt/lists/"* "$r/var/cache/apt/"*.bin "$r/var/cache/apt/archives/"*.deb \
    "$r/var/cache/debconf/"*-old "$r/var/log/"* "$r/tmp/"* "$r/root/.cache"
  # The bytecode Debian's py3compile wrote at install stays: the app runs as a user that cannot
  # write __pycache__ (and with PYTHONDONTWRITEBYTECODE), so without it every start compiled
  # Flask and the stdlib modules it imports again (0.48 CPU-s per start here, 0.14 with it; each
  # HEALTHCHECK run 0.045 and 0.016).
  # Packages installed later in images built from this base keep the same diet.
  mkdir -p "$r/etc/dpkg/dpkg.cfg.d" "$r/etc/apt/apt.conf.d"
  cat >"$r/etc/dpkg/dpkg.cfg.d/01-delivery-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  cat >"$r/etc/apt/apt.conf.d/01-delivery-slim" <<'EOF'
APT::Install-Recommends "false";
Acquire::Languages "none";
EOF
  # A container has no init system; services must not start during package installs.
  rm -f "$r/etc/machine-id" "$r/var/lib/dbus/machine-id"
  : >"$r/etc/machine-id"
  echo "delivery-base" >"$r/etc/hostname"
}

registry_digest() {
  # $1 = repository, $2 = tag: the manifest digest the registry without auth serves, or nothing,
  # always with status 0: callers assign it under pipefail, and a tag the registry lacks (404, as
  # in a new registry) or no answer is "nothing", not a reason to stop.
  { curl -fsS -o /dev/null -D - --max-time 5 -I \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    -H 'Accept: application/vnd.oci.image.index.v1+json' \
    -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
    "http://$REGISTRY/v2/$1/manifests/$2" 2>/dev/null || true; } |
    awk 'tolower($1) == "docker-content-digest:" { sub(/\r$/, "", $2); print $2 }'
}
registry_has() { [ -n "$(registry_digest "$1" "$2")" ]; }

# The recipe key an image was made with (its delivery.base.key label), or nothing.
image_key() { docker image inspect -f '{{index .Config.Labels "delivery.base.key"}}' "$1" 2>/dev/null || true; }

start_base() {
  engine_answers || die "no Docker engine answers; run: scripts/services start docker"
  registry_up "$REGISTRY_PORT" || die "no registry on $REGISTRY; run: scripts/services start registry"
  # An image made by an older recipe (another key) is made again: a recipe change must reach a
  # machine that already has a base.
  local key remote
  key="$(base_key)"
  remote="$(registry_digest delivery/python-base "$BASE_SUITE")"
  if [ "$(image_key "$BASE_IMAGE_LOCAL")" != "$key" ] && [ -n "$remote" ]; then
    # Same digest as before: pull it back rather than import again (a new import has a new id).
    log "base: pulling $BASE_IMAGE_REMOTE back from the registry"
    docker pull -q "$BASE_IMAGE_REMOTE" >/dev/null
    if [ "$(image_key "$BASE_IMAGE_REMOTE")" = "$key" ]; then
      docker tag "$BASE_IMAGE_REMOTE" "$BASE_IMAGE_LOCAL"
    else
      log "base: the registry's copy was made by another recipe"
    fi
  fi
  if [ "$(image_key "$BASE_IMAGE_LOCAL")" != "$key" ]; then
    local tarball
    tarball="$(base_tarball)"
    log "base: docker import $(basename "$tarball") as $BASE_IMAGE_LOCAL"
    docker import \
      -c 'ENV LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      -c 'CMD ["python3"]' \
      -c "LABEL org.opencontainers.image.title=delivery-python-base org.opencontainers.image.base.name=debian:$BASE_SUITE delivery.base.packages=$BASE_PACKAGES delivery.base.key=$key" \
      -m "debootstrap --variant=minbase --include=$BASE_PACKAGES $BASE_SUITE" \
      "$tarball" "$BASE_IMAGE_LOCAL" >/dev/null
  fi
  docker tag "$BASE_IMAGE_LOCAL" "$BASE_IMAGE_REMOTE"
  # The registry serves this image when its digest is one the engine knows the image by.
  if [ -n "$remote" ] && docker image inspect -f '{{join .RepoDigests "\n"}}' "$BASE_IMAGE_LOCAL" | grep -qxF "${BASE_IMAGE_REMOTE%:*}@$remote"; then
    log "base: $BASE_IMAGE_LOCAL present and in $REGISTRY"
    return 0
  fi
  log "base: pushing $BASE_IMAGE_REMOTE"
  docker push -q "$BASE_IMAGE_REMOTE" >/dev/null 2>"$RUN/push.log" || { cat "$RUN/push.log" >&2; die "push of $BASE_IMAGE_REMOTE failed"; }
  log "base: $BASE_IMAGE_REMOTE pushed ($(docker image inspect -f '{{.Size}}' "$BASE_IMAGE_LOCAL" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
}


status_base() {
  local rc=0
  if engine_answers && docker image inspect "$BASE_IMAGE_LOCAL" >/dev/null 2>&1; then
    log "base: $BASE_IMAGE_LOCAL $(docker image inspect -f '{{.Id}}' "$BASE_IMAGE_LOCAL" | cut -c1-19)"
  else
    log "base: $BASE_IMAGE_LOCAL missing"; rc=1
  fi
  if registry_up "$REGISTRY_PORT" && registry_has delivery/python-base "$BASE_SUITE"; then
    log "base: $BASE_IMAGE_REMOTE in the registry"
  else
    log "base: $BASE_IMAGE_REMOTE not in the registry"; rc=1
  fi
  return "$rc"
}
