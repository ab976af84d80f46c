# Sourced by the job scripts in scripts/ci/: the project's environment, and the checks that stop a
# job before it touches a stack with throw-away state or without its passphrase.
# Nothing here prints a secret: no `set -x`, and values of variables are never echoed.
# shellcheck shell=bash
set -euo pipefail

# Read before env.sh defaults it to a directory inside the checkout.
CI_GIVEN_BACKEND="${PULUMI_BACKEND_URL-}"
# These scripts act on the checkout they are part of, whatever the environment says.
DELIVERY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export DELIVERY_ROOT
# shellcheck source=scripts/env.sh
source "$DELIVERY_ROOT/scripts/env.sh"
# shellcheck source=scripts/stack-lock.sh
source "$DELIVERY_ROOT/scripts/stack-lock.sh"
cd "$DELIVERY_ROOT"

# The project's policy pack (policy/) checks every preview and update these jobs run.
# shellcheck disable=SC2034 # read by the job scripts that source this file
POLICY_PACK=(--policy-pack "$DELIVERY_ROOT/policy")

ci_log() { printf '[ci] %s\n' "$*"; }
ci_die() { printf '[ci] error: %s\n' "$*" >&2; exit 1; }

# A job's checkout is thrown away, and with it any state kept inside it: a deploy would then
# create every resource again next time instead of updating them.
ci_require_backend() {
    [[ -n $CI_GIVEN_BACKEND ]] ||
        ci_die "PULUMI_BACKEND_URL is not set. Set it as a CI/CD variable to where the stacks' state lives (s3://bucket/delivery, gs://..., azblob://..., or file:///srv/pulumi-state on a shell runner); the checkout is no place for it."
    local root="${CI_PROJECT_DIR:-$DELIVERY_ROOT}"
    case "$CI_GIVEN_BACKEND" in
        file://"$root" | file://"$root"/* | file://"$DELIVERY_ROOT" | file://"$DELIVERY_ROOT"/*)
            ci_die "PULUMI_BACKEND_URL points inside the job's checkout ($root), which is deleted after the job; use a path that outlives it." ;;
    esac
}

ci_require_passphrase() {
    [[ -n ${PULUMI_CONFIG_PASSPHRASE-} || -n ${PULUMI_CONFIG_PASSPHRASE_FILE-} ]] ||
        ci_die "PULUMI_CONFIG_PASSPHRASE is not set for environment '${CI_ENVIRONMENT_NAME:-none}'. Add it as a masked CI/CD variable scoped to that environment (protected for staging and production, whose pipelines run on protected refs)."
}

ci_require_state() {
    ci_require_backend
    ci_require_passphrase
}

ci_stack_exists() {
    local listing
    listing=$(pulumi stack ls --json --non-interactive) ||
        ci_die "cannot list the stacks in the backend named by PULUMI_BACKEND_URL (see the error above)"
    printf '%s' "$listing" | node -e '
        let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
            const names = JSON.parse(s || "[]").map((x) => x.name.split("/").pop());
            process.exit(names.includes(process.argv[1]) ? 0 : 1);
        });' "$1"
}

# ci_select_stack <stack> [create]: without `create` a missing stack is an error, so that a
# mistyped backend URL cannot silently start an empty environment. The job then holds the
# stack's local lock (scripts/stack-lock.sh) until it ends.
ci_select_stack() {
    local stack=$1 create=${2-}
    DELIVERY_LOCK_WHAT="job ${CI_JOB_NAME:-$(basename "$0")}${CI_JOB_ID:+ #$CI_JOB_ID}" delivery_lock_stack "$stack" || exit 1
    if ci_stack_exists "$stack"; then
        pulumi stack select "$stack" --non-interactive
    elif [[ $create == create ]]; then
        ci_log "creating stack $stack in the backend"
        pulumi stack select "$stack" --create --secrets-provider passphrase --non-interactive
    else
        ci_die "stack $stack does not exist in the backend named by PULUMI_BACKEND_URL; it is created by its deploy job (staging: a default-branch pipeline; production: a tag pipeline)."
    fi
}

# ci_output <stack> <output> [field]: one stack output (or a field of it) as plain text.
ci_output() {
    pulumi stack output "$2" --stack "$1" --json --non-interactive | node -e '
        let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
            let v = JSON.parse(s);
            if (process.argv[1]) v = v == null ? undefined : v[process.argv[1]];
            if (v === undefined || v === null || v === "") process.exit(3);
            process.stdout.write(typeof v === "string" ? v : JSON.stringify(v));
        });' "${3-}"
}

ci_digest_of() { printf '%s\n' "${1##*@}"; }

# Logs what a stack runs now and hands GitLab the job's dotenv report (deploy.env):
# DYNAMIC_ENVIRONMENT_URL (environment:url), and the release the job deployed,
# DELIVERY_RELEASE_VERSION (v7) and DELIVERY_RELEASE_DIGEST (sha256:…). The report expires with
# the job's artifacts; the ledger in the stack's state, which a re-run reads, does not.
ci_finish_deploy() {
    local stack=$1 ref sha url version digest
    ref=$(ci_output "$stack" release imageRef) || ci_die "stack $stack exports no release.imageRef after the update"
    sha=$(ci_output "$stack" release commitSha) || sha="?"
    version=$(ci_output "$stack" release version 2>/dev/null) || version=""
    digest=$(ci_digest_of "$ref")
    ci_log "$stack runs ${version:+$version, }$ref (commit $sha)"
    url=$(ci_output "$stack" url 2>/dev/null) || url=""
    : >"$DELIVERY_ROOT/deploy.env"
    if [[ $url =~ ^https?:// ]]; then
        printf 'DYNAMIC_ENVIRONMENT_URL=%s\n' "$url" >>"$DELIVERY_ROOT/deploy.env"
        ci_log "$stack answers at $url"
    fi
    if [[ $version =~ ^v[0-9]+$ ]]; then
        printf 'DELIVERY_RELEASE_VERSION=%s\n' "$version" >>"$DELIVERY_ROOT/deploy.env"
    fi
    printf 'DELIVERY_RELEASE_DIGEST=%s\n' "$digest" >>"$DELIVERY_ROOT/deploy.env"
}

# The project's `delivery` command (cli/delivery.ts; also `npx delivery`), on this checkout.
delivery() { "$DELIVERY_ROOT/scripts/delivery" "$@"; }

# ci_entry_field <stack> <vN> <field>: one field of a ledger entry (delivery show --json).
ci_entry_field() {
    local json
    json=$(delivery show "$2" --stack "$1" --json) || return 1
    printf '%s' "$json" | node -e '
        let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
            const v = (JSON.parse(s).entry ?? {})[process.argv[1]];
            if (v === undefined || v === null || v === "") process.exit(3);
            process.stdout.write(String(v));
        });' "$3"
}

# ci_rerun_release <stack>: prints the version this pipeline's job (CI_PIPELINE_ID, CI_JOB_NAME)
# deployed to the stack the first time, when its ledger holds one; nothing otherwise. GitLab's
# "Rollback environment" and "Re-deploy" run an old pipeline's deploy job again (same
# CI_PIPELINE_ID, new CI_JOB_ID): that run must deploy what the job deployed then, not what the
# branch or upstream stack holds now. A stack without a ledger yet (its first release) has none.
ci_rerun_release() {
    local stack=$1 json errors
    [[ -n ${CI_PIPELINE_ID-} && -n ${CI_JOB_NAME-} ]] || return 0
    errors=$(mktemp)
    if ! json=$(delivery releases --stack "$stack" --pipeline "$CI_PIPELINE_ID" --json 2>"$errors"); then
        if grep -q "has no release ledger in its state yet" "$errors"; then
            rm -f "$errors"
            return 0
        fi
        cat "$errors" >&2
        rm -f "$errors"
        ci_die "cannot read the release ledger of $stack (delivery releases, above), so whether this job ran before cannot be told; nothing was changed"
    fi
    rm -f "$errors"
    printf '%s' "$json" | node -e '
        let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
            const mine = (JSON.parse(s).releases ?? []).filter((e) => e.jobName === process.argv[1]);
            if (mine.length === 0) return;
            const first = mine.reduce((a, b) => (b.number < a.number ? b : a));
            process.stdout.write(first.version);
        });' "$CI_JOB_NAME"
}

# ci_redeploy <stack> <vN>: runs that release again (delivery rollback; nothing to do when it is
# what runs), records the dotenv report and checks the stack runs its digest.
ci_redeploy() {
    local stack=$1 version=$2 want got
    want=$(ci_entry_field "$stack" "$version" imageRef) ||
        ci_die "cannot read $version from $stack's ledger (see above); nothing was changed. npx delivery releases --stack $stack lists what it holds"
    # The pipeline's git tag names the release of that tag; a rollback never moves it.
    env -u CI_COMMIT_TAG "$DELIVERY_ROOT/scripts/delivery" rollback "$version" --stack "$stack" --yes
    ci_finish_deploy "$stack"
    got=$(ci_output "$stack" release imageRef)
    [[ $(ci_digest_of "$got") == "$(ci_digest_of "$want")" ]] ||
        ci_die "$stack runs $got after the rollback, not $version's $want"
    ci_log "$stack runs $version's image $(ci_digest_of "$want") again"
}

# ci_rerun_guard <stack>: when this job ran before in this pipeline (see ci_rerun_release), says
# so, deploys what it deployed then, and ends the job.
ci_rerun_guard() {
    local stack=$1 first
    first=$(ci_rerun_release "$stack")
    [[ -n $first ]] || return 0
    ci_log "re-run of job ${CI_JOB_NAME} in pipeline ${CI_PIPELINE_ID} (GitLab's rollback or re-deploy of an environment): it deployed $first to $stack the first time, so it deploys $first again (delivery rollback $first) instead of a new release"
    ci_redeploy "$stack" "$first"
    exit 0
}

# Review stacks have no stack file in the repo: every one starts from the same template.
ci_review_stack_file() {
    local stack=$1 file="$DELIVERY_ROOT/Pulumi.$1.yaml"
    [[ $stack == review-* ]] || ci_die "$stack is not a review stack (review-<slug>)"
    if [[ ! -f $file ]]; then
        cp "$DELIVERY_ROOT/scripts/ci/review-stack.yaml" "$file"
    fi
}
