#!/usr/bin/env bash
# Tag pipeline, manual ("Run job" with variables): runs an earlier release on production again.
# ROLLBACK_TO   the release number in production's ledger, v<N> (delivery releases --stack
#               production lists them; `show vN` and `diff vA vB` tell them apart)
# `delivery rollback` runs that entry's image (digest and commit as recorded) with the stack's
# current settings, as a new ledger entry `rollback to vN`; it refuses an image the registry no
# longer holds. The pipeline's git tag is not moved. The next production job promotes again.
#   scripts/ci/rollback.sh <stack>
set -euo pipefail
# shellcheck source=scripts/ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
stack=${1:?usage: scripts/ci/rollback.sh <stack>}
to=${ROLLBACK_TO-}
[[ -n $to ]] ||
    ci_die "ROLLBACK_TO is not set: run this job from its \"Run job\" page (the play button's job page) with the variable ROLLBACK_TO=v<N>, the release of $stack to run again; the releases: npx delivery releases --stack $stack"
[[ $to =~ ^v[1-9][0-9]{0,8}$ ]] ||
    ci_die "ROLLBACK_TO must be a release number of $stack's ledger such as v12 (got '$to'); set it on the job's \"Run job\" page. A digest or a commit no longer names a release: npx delivery releases --stack $stack lists the numbers"
ci_require_state
ci_select_stack "$stack"

ci_log "rolling $stack back to $to"
ci_redeploy "$stack" "$to"
ci_log "rolled back to $to; the next production job promotes again"
