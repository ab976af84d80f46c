#!/usr/bin/env bash
# Scheduled drift check: asks each resource's provider what really exists and fails when that
# differs from the stack's state, i.e. when something was changed outside Pulumi. The program
# is not run, so a production stack that is simply behind staging is not reported.
#   scripts/ci/drift.sh <stack>
set -euo pipefail
# shellcheck source=scripts/ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
stack=${1:?usage: scripts/ci/drift.sh <stack>}
ci_require_state
ci_select_stack "$stack"

if ! pulumi refresh --preview-only --expect-no-changes --diff --stack "$stack" --non-interactive; then
    ci_die "$stack has drifted from its state (or the refresh failed, see above). Inspect with: pulumi refresh --preview-only --diff --stack $stack; then either run its deploy job to restore what the stack describes, or accept reality with: pulumi refresh --stack $stack"
fi
ci_log "$stack: no drift"
