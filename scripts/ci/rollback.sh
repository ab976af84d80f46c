#!/usr/bin/env bash
# Tag pipeline, manual ("Run job" with variables): runs an earlier release on production again.
# ROLLBACK_RELEASE_REF   its digest-pinned image, registry/repo@sha256:<64 hex> (the imageRef of
#                        an earlier release output: pulumi stack history --stack production)
# ROLLBACK_COMMIT_SHA    the commit it was built from
# The pin lives only in this job's checkout: the next production job promotes staging again,
# unless the two settings printed at the end are committed to Pulumi.production.yaml.
#   scripts/ci/rollback.sh <stack>
set -euo pipefail
# shellcheck source=scripts/ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
stack=${1:?usage: scripts/ci/rollback.sh <stack>}
ref=${ROLLBACK_RELEASE_REF-}
sha=${ROLLBACK_COMMIT_SHA-}
[[ -n $ref && -n $sha ]] ||
    ci_die "set ROLLBACK_RELEASE_REF (registry/repo@sha256:...) and ROLLBACK_COMMIT_SHA when you run this job; earlier releases: pulumi stack history --stack $stack"
[[ $ref =~ ^[^[:space:]@]+@sha256:[0-9a-f]{64}$ ]] ||
    ci_die "ROLLBACK_RELEASE_REF must be pinned by digest (registry/repo@sha256:<64 hex>); a tag can move, so it cannot name a release"
[[ $sha =~ ^[0-9a-f]{7,64}$ ]] ||
    ci_die "ROLLBACK_COMMIT_SHA must be a git commit SHA (7 to 64 lowercase hex characters)"
ci_require_state
ci_select_stack "$stack"

pulumi config set delivery:releaseRef "$ref" --stack "$stack"
pulumi config set delivery:releaseCommitSha "$sha" --stack "$stack"
# The pipeline's git tag names the newest release; it must not be moved onto the old digest.
env -u CI_COMMIT_TAG pulumi up --stack "$stack" --yes --non-interactive "${POLICY_PACK[@]}" --diff --refresh
ci_finish_deploy "$stack"

got=$(ci_output "$stack" release imageRef)
[[ $(ci_digest_of "$got") == "$(ci_digest_of "$ref")" ]] || ci_die "$stack runs $got after the rollback, not $ref"
ci_log "rolled back to $ref. To keep it across the next production job, commit:"
ci_log "  pulumi config set delivery:releaseRef '$ref' --stack $stack"
ci_log "  pulumi config set delivery:releaseCommitSha $sha --stack $stack"
