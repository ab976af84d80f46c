#!/usr/bin/env bash
# MR job: what merging would release into one stack, posted by scripts/mr-note as one MR note
# that later pipelines edit in place. `delivery preview` (cli/commands/preview.ts) runs ONE
# `pulumi preview --diff` with the policy pack and writes its output (preview-<stack>.txt, the
# job artifact) and the release summary against what the stack runs now (digest, commits,
# settings keys, policy); the note starts with the summary and cuts only the preview.
# Exit status: the preview's failure fails the job (and the note still says why); a note that
# cannot be posted exits 3, which the job allows as a warning: the diff is still in the log
# and in the preview-<stack>.txt artifact.
#   scripts/ci/preview.sh <stack>
set -euo pipefail
# shellcheck source=scripts/ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
stack=${1:?usage: scripts/ci/preview.sh <stack>}
name="preview-$stack.txt"
out="$DELIVERY_ROOT/$name"
summary="$DELIVERY_ROOT/preview-$stack.summary.md"
log=$(mktemp)
rm -f "$out" "$summary"

# In a subshell so that a failed check ends the preview, not the script: the note is posted
# either way.
set +e
(
    set -e
    ci_require_state
    ci_select_stack "$stack" >/dev/null
    delivery preview --stack "$stack" --out "$out" --summary-out "$summary"
) 2>&1 | tee "$log"
preview_status=${PIPESTATUS[0]}
set -e
# A guard that stopped the job before the preview ran: its message is what the note shows.
if [[ ! -s $out ]]; then
    cp "$log" "$out"
fi
rm -f "$log"

note_status=0
if [[ -z ${GITLAB_TOKEN-}${MR_NOTE_TOKEN-} ]]; then
    ci_log "warning: GITLAB_TOKEN is not set, so no MR note; add a masked variable holding a project access token with the api scope"
    note_status=3
elif ! "$DELIVERY_ROOT/scripts/mr-note" --stack "$stack" --file "$out" --summary "$summary" --artifact "$name"; then
    ci_log "warning: the preview could not be posted to the merge request (see above)"
    note_status=3
fi

if ((preview_status != 0)); then
    ci_die "pulumi preview of $stack failed (exit $preview_status)"
fi
exit "$note_status"
