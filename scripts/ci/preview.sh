#!/usr/bin/env bash
# MR job: `pulumi preview --diff` of one stack, posted by scripts/mr-note as one MR note that
# later pipelines edit in place.
# Exit status: the preview's failure fails the job (and the note still says why); a note that
# cannot be posted exits 3, which the job allows as a warning: the diff is still in the log
# and in the preview-<stack>.txt artifact.
#   scripts/ci/preview.sh <stack>
set -euo pipefail
# shellcheck source=scripts/ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
stack=${1:?usage: scripts/ci/preview.sh <stack>}
out="$DELIVERY_ROOT/preview-$stack.txt"

# In a subshell so that a failed check ends the preview, not the script: the note is posted
# either way.
set +e
(
    set -e
    ci_require_state
    ci_select_stack "$stack" >/dev/null
    pulumi preview --diff --stack "$stack" --non-interactive "${POLICY_PACK[@]}"
) 2>&1 | tee "$out"
preview_status=${PIPESTATUS[0]}
set -e

note_status=0
if [[ -z ${GITLAB_TOKEN-}${MR_NOTE_TOKEN-} ]]; then
    ci_log "warning: GITLAB_TOKEN is not set, so no MR note; add a masked variable holding a project access token with the api scope"
    note_status=3
elif ! "$DELIVERY_ROOT/scripts/mr-note" --stack "$stack" --file "$out"; then
    ci_log "warning: the preview could not be posted to the merge request (see above)"
    note_status=3
fi

if ((preview_status != 0)); then
    ci_die "pulumi preview of $stack failed (exit $preview_status)"
fi
exit "$note_status"
