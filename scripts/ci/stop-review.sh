#!/usr/bin/env bash
# The review environment's stop job (on_stop, auto_stop_in): destroys the review stack's
# resources, then removes the stack. Running it again after it succeeded changes nothing.
#   scripts/ci/stop-review.sh review-<slug>
set -euo pipefail
# shellcheck source=scripts/ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
stack=${1:?usage: scripts/ci/stop-review.sh review-<slug>}
[[ $stack == review-* ]] || ci_die "refusing to stop $stack: this job only removes review-<slug> stacks"
ci_require_state

if ! ci_stack_exists "$stack"; then
    ci_log "stack $stack does not exist (already stopped); nothing to do"
    exit 0
fi
ci_review_stack_file "$stack"
ci_select_stack "$stack"
pulumi destroy --stack "$stack" --yes --non-interactive
# Without --force: refuses if anything is left in the stack, rather than forget it.
pulumi stack rm "$stack" --yes --non-interactive
ci_log "stack $stack destroyed and removed"
