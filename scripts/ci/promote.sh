#!/usr/bin/env bash
# Tag pipeline, manual: deploys to production the release its upstream stack (delivery:promoteFrom,
# staging) runs, without building. The git tag becomes a registry tag of that same digest.
# Refuses when the upstream release is not the tagged commit, so a tag never labels a different
# build; PROMOTE_ANY_COMMIT=true skips that check.
# The program's promotion gate refuses, before any change, an upstream release that is not verified,
# failed its verification, or passed it less than delivery:soakSeconds ago (production: 600 s).
# PROMOTE_UNVERIFIED=true (a pipeline variable; the environment reaches pulumi up as is) lets it
# through; the ledger entry records the override (gate.overriddenBy) and the origin says so.
# A re-run of the job (GitLab's "Rollback environment" / "Re-deploy" on an older deployment: the
# same CI_PIPELINE_ID) deploys the release the job deployed the first time, found in the stack's
# ledger by pipeline and job name, as a new entry `rollback to vN` (lib.sh ci_rerun_guard).
#   scripts/ci/promote.sh <stack>
set -euo pipefail
# shellcheck source=scripts/ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
stack=${1:?usage: scripts/ci/promote.sh <stack>}
ci_require_state

if [[ -n ${CI_COMMIT_TAG-} && ! $CI_COMMIT_TAG =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]]; then
    ci_die "git tag '$CI_COMMIT_TAG' cannot be a registry tag (letters, digits, _ . -, at most 128, not starting with . or -); tag the release again with such a name"
fi

ci_select_stack "$stack" create
ci_rerun_guard "$stack"
pin=$(pulumi config get delivery:releaseRef --stack "$stack" 2>/dev/null) || pin=""
if [[ -n $pin ]]; then
    ci_log "$stack is pinned to $pin by delivery:releaseRef in Pulumi.$stack.yaml; deploying that pin (remove the setting to promote again)"
    want=$pin
else
    from=$(pulumi config get delivery:promoteFrom --stack "$stack" 2>/dev/null) ||
        ci_die "$stack sets neither delivery:promoteFrom nor delivery:releaseRef in Pulumi.$stack.yaml; it only ever promotes"
    ci_stack_exists "$from" || ci_die "upstream stack $from does not exist yet: deploy it first (default-branch pipeline)"
    want=$(ci_output "$from" release imageRef) || ci_die "stack $from exports no release; deploy it first"
    built_from=$(ci_output "$from" release commitSha) || ci_die "stack $from's release has no commitSha"
    ci_log "$from runs $want, built from $built_from"
    if [[ -n ${CI_COMMIT_TAG-} && $built_from != "${CI_COMMIT_SHA-}" && ${PROMOTE_ANY_COMMIT-} != true ]]; then
        ci_die "tag $CI_COMMIT_TAG is on commit ${CI_COMMIT_SHA-?}, but $from runs a release built from $built_from. Tag the commit $from runs, or wait for $from to deploy this one (or set PROMOTE_ANY_COMMIT=true to promote it anyway)."
    fi
fi

# --refresh: a hand edit (kubectl set image, a stopped container) is found and reverted.
pulumi up --stack "$stack" --yes --non-interactive "${POLICY_PACK[@]}" --diff --refresh
ci_finish_deploy "$stack"

got=$(ci_output "$stack" release imageRef)
[[ $(ci_digest_of "$got") == "$(ci_digest_of "$want")" ]] ||
    ci_die "$stack runs $got after the update, not the promoted $want"
ci_log "promoted $(ci_digest_of "$want")${CI_COMMIT_TAG:+ as tag $CI_COMMIT_TAG}"
