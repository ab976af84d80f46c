#!/usr/bin/env bash
# Deploy jobs of stacks that build (staging, review-<slug>): `pulumi up`, then the release it
# runs and its URL for the GitLab environment (deploy.env, a dotenv report). A re-run of the job
# in the same pipeline (GitLab's "Rollback environment" / "Re-deploy") runs the release the job
# deployed the first time again, from the ledger, instead of building (lib.sh ci_rerun_guard).
#   scripts/ci/deploy.sh <stack>
set -euo pipefail
# shellcheck source=scripts/ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
stack=${1:?usage: scripts/ci/deploy.sh <stack>}
case $stack in
    production) ci_die "production never builds: it is deployed by scripts/ci/promote.sh or rollback.sh" ;;
esac
ci_require_state

if [[ $stack == review-* ]]; then
    ci_review_stack_file "$stack"
fi
ci_select_stack "$stack" create
ci_rerun_guard "$stack"

if [[ $stack == review-* && -n ${REVIEW_APPS_DOMAIN-} ]]; then
    target=$(pulumi config get delivery:target --stack "$stack" 2>/dev/null || echo docker)
    if [[ $target == kubernetes ]]; then
        pulumi config set delivery:ingressHost "$stack.$REVIEW_APPS_DOMAIN" --stack "$stack"
        pulumi config set delivery:url "https://$stack.$REVIEW_APPS_DOMAIN" --stack "$stack"
    fi
fi

# --refresh: a hand edit (kubectl set image, a stopped container) is found and reverted.
pulumi up --stack "$stack" --yes --non-interactive "${POLICY_PACK[@]}" --diff --refresh
ci_finish_deploy "$stack"
