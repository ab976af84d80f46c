# Sourced by the project's commands that run the engine on a stack (scripts/main, scripts/down,
# scripts/ci/*): a local lock per stack and backend, taken before the engine's own.
#
# Why: on the file backend the engine's lock is a file that each `pulumi up` writes and then
# lists; two updates that start at the same moment can each see the other's half-written lock
# (`stat …/.pulumi/locks/…json.<n>.tmp: no such file or directory`) and both stop. The engine
# still refuses a second update while one holds its lock; it does not lock a stack across
# machines any better than its backend does. This lock only keeps two commands on one machine
# from starting together. It is an flock(1) on a file: the kernel drops it when the holder
# exits, however it exits (kill -9 included), so it never goes stale.
# shellcheck shell=bash

# delivery_lock_holder <file>: who holds the lock, as the holder wrote it. The holder writes that
# line just after it took the lock, so a command refused in between would read nothing, or the
# line of an earlier holder that has exited: wait up to 2 s for a line whose pid is alive.
delivery_lock_holder() {
    local line pid
    for _ in {1..20}; do
        if read -r line <"$1" 2>/dev/null; then
            pid=$(sed -n 's/.*(pid \([0-9][0-9]*\)).*/\1/p' <<<"$line")
            if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
                printf '%s\n' "$line"
                return 0
            fi
        fi
        sleep 0.1
    done
    printf 'another command\n'
}

# delivery_lock_stack <stack>: holds the lock until this shell and every process it started
# exits. A busy stack is refused at once, naming the holder, unless DELIVERY_LOCK_WAIT_SECONDS
# (default 0) allows waiting for it.
delivery_lock_stack() {
    local stack=$1 wait_seconds=${DELIVERY_LOCK_WAIT_SECONDS:-0} dir key file holder
    [[ $wait_seconds =~ ^[0-9]+$ ]] ||
        { printf '[lock] error: DELIVERY_LOCK_WAIT_SECONDS must be a whole number of seconds (got "%s"); unset it to refuse a busy stack at once\n' "$wait_seconds" >&2; return 2; }
    dir="$DELIVERY_CACHE/locks"
    mkdir -p "$dir"
    key=$(printf '%s' "${PULUMI_BACKEND_URL-}" | sha256sum | cut -c1-16)
    file="$dir/$key-${stack//\//_}.lock"
    exec {DELIVERY_LOCK_FD}>>"$file"
    if ! flock -n "$DELIVERY_LOCK_FD"; then
        holder=$(delivery_lock_holder "$file.holder")
        if ((wait_seconds == 0)); then
            printf '[lock] error: stack %s is busy: %s. Wait for it to finish (or set DELIVERY_LOCK_WAIT_SECONDS=600 to wait); nothing was changed\n' "$stack" "$holder" >&2
            return 1
        fi
        printf '[lock] stack %s is busy: %s; waiting up to %ss\n' "$stack" "$holder" "$wait_seconds" >&2
        flock -w "$wait_seconds" "$DELIVERY_LOCK_FD" ||
            { printf '[lock] error: stack %s was still busy after %ss (%s); nothing was changed\n' "$stack" "$wait_seconds" "$holder" >&2; return 1; }
    fi
    printf '%s (pid %s) since %s\n' "${DELIVERY_LOCK_WHAT:-$(basename "$0")}" "$$" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$file.holder"
}
