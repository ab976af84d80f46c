# Sourced by scripts/bootstrap, scripts/k8s, scripts/services (and its services.d/*.sh) and
# scripts/test-all: one way to log, time, lock, stamp builds, read pid files and install Debian
# packages. Set LOG_TAG (the `[tag]` before each line) and, to log to stdout, LOG_FD=1.
# shellcheck shell=bash

LOG_TAG="${LOG_TAG:-delivery}"
LOG_FD="${LOG_FD:-2}"

log() { printf '[%s] %s\n' "$LOG_TAG" "$*" >&"$LOG_FD"; }
die() { printf '[%s] error: %s\n' "$LOG_TAG" "$*" >&2; exit 1; }

now() { date +%s.%N; }
# since <start from now>: elapsed seconds, one decimal ("12.3s").
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

# --- locks -----------------------------------------------------------------------------------

# take_lock <fd> <file> <what> [timeout seconds]: holds an flock(1) on <file> through <fd> (kept
# until the fd is closed or the shell exits, however it exits). When another process holds it,
# says so and waits: for ever, or up to the timeout and then fails.
take_lock() {
  local fd="$1" file="$2" what="$3" timeout="${4:-}"
  mkdir -p "$(dirname "$file")"
  eval "exec $fd>\"\$file\""
  flock -n "$fd" && return 0
  log "another $what holds $file; waiting for it…"
  if [[ -n $timeout ]]; then
    flock -w "$timeout" "$fd" || die "another $what still holds $file after ${timeout}s"
  else
    flock "$fd"
  fi
}

# release_lock <fd>
release_lock() { eval "exec $1>&-"; }

# --- files others read ----------------------------------------------------------------------

# write_atomic <file> [temp dir]: stdin into <file> through a hidden temporary file and a rename,
# so a reader (kubectl, a provider, containerd reading its registry hosts for a pull) sees the
# old content or the new, never the empty or half-written file `cat >file` shows between its
# truncate and its write. The temporary file is beside <file> unless [temp dir] (same file
# system) names another place: for a directory whose reader takes every file in it for its own.
# The file is made 0600 (mktemp), whatever it was.
write_atomic() {
  local tmp
  tmp="$(mktemp "${2:-$(dirname "$1")}/.$(basename "$1").XXXXXX")"
  if cat >"$tmp" && mv -f "$tmp" "$1"; then return 0; fi
  rm -f "$tmp"
  return 1
}

# --- build stamps ----------------------------------------------------------------------------

# stamp_ok <binary> <stamp file> <key>: the binary exists and was built from <key>.
stamp_ok() { [[ -x $1 && -f $2 && $(cat "$2") == "$3" ]]; }
# stamp_write <stamp file> <key>
stamp_write() { mkdir -p "$(dirname "$1")" && printf '%s\n' "$2" >"$1"; }

# --- pid files -------------------------------------------------------------------------------

# pid_of <pid file> <program>: prints the pid in the file when that process is alive and is
# <program> (its /proc/<pid>/comm, which the kernel cuts at 15 characters). A pid file left by
# an earlier machine or boot (the run dir lives in the cache) names a dead pid or someone
# else's process: not ours.
pid_of() {
  local pid comm
  [[ -s $1 ]] || return 1
  pid=$(<"$1")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [[ $comm == "${2:0:15}" ]] || return 1
  printf '%s\n' "$pid"
}

# stop_pid <name> <pid> [seconds]: TERM, then KILL after the wait (20 s by default).
stop_pid() {
  local name="$1" pid="$2" wait_s="${3:-20}" i
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < wait_s * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  log "$name did not stop in ${wait_s}s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

# await_start <pid> <log> <failure> <check...>: polls <check> every 0.2 s for up to 20 s while
# <pid> lives; on failure shows the log's tail and dies with "<failure>; see <log>".
await_start() {
  local pid="$1" logfile="$2" failure="$3" i
  shift 3
  for ((i = 0; i < 100; i++)); do
    "$@" && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  tail -n 5 "$logfile" >&2
  die "$failure; see $logfile"
}

# --- Debian packages -------------------------------------------------------------------------

pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# ensure_packages <package[=version]>...: installs what is missing (as root). The lists are
# updated only when apt does not know a package (no lists yet) or a fetch fails (stale lists
# name files the mirror no longer has). Log of the last install: $APT_LOG.
ensure_packages() {
  local missing=() p name installed need_update=0 log_file="${APT_LOG:-${TMPDIR:-/tmp}/delivery-apt.log}"
  for p in "$@"; do
    name=${p%%=*}
    if pkg_installed "$name"; then
      [[ $p == *=* ]] || continue
      installed=$(dpkg-query -W -f='${Version}' "$name" 2>/dev/null)
      [[ $installed == "${p#*=}" ]] && continue
    fi
    missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  [[ $(id -u) -eq 0 ]] || die "missing Debian packages ${missing[*]}; run as root to install them"
  for p in "${missing[@]}"; do
    apt-cache show "$p" >/dev/null 2>&1 || need_update=1
  done
  if [[ $need_update == 1 ]]; then
    log "apt-get update"
    apt-get update -qq >/dev/null
  fi
  log "installing ${missing[*]}"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >"$log_file" 2>&1; then
    [[ $need_update == 1 ]] && { cat "$log_file" >&2; die "apt-get install failed"; }
    log "install failed with the current lists; apt-get update and again"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >"$log_file" 2>&1 || { cat "$log_file" >&2; die "apt-get install failed"; }
  fi
}
