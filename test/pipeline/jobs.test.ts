import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../support/project";
import { DOUBLE_TOKEN, type DoubleProject, type GitlabDouble, startDouble } from "../support/gitlab";
import { type GclResult, PIPELINES, type PipelineKind, ROOT, cleanEnv, ensureRsync, gcl, git, jobOutcome, makeRepo, pipelineArgs, removeDir } from "./harness";

/**
 * The pipeline's jobs run for real: gitlab-ci-local's shell executor runs each job's script in
 * a git repository made from the working tree, as a GitLab runner would (fresh checkout per
 * job), against the real engine, Docker engine and registry, and the GitLab double for the MR
 * note. The stacks use the docker target on free host ports and the local registry instead of
 * Kubernetes; everything else (stack names, passphrase scopes, backend, rules) is the
 * pipeline's own. The tests run in order: each pipeline builds on what the previous one left.
 */

const id = randomBytes(3).toString("hex");
const APP = `pl${id}`;
const REPOSITORY = `pipeline/${id}/app`;
const REGISTRY = "127.0.0.1:5000";
// Env-scoped like the GitLab variables, one per environment: production reads staging's release
// (not secret) without staging's passphrase, and review stacks have their own.
const PASSPHRASES = {
    staging: `staging-${randomBytes(8).toString("hex")}`,
    production: `production-${randomBytes(8).toString("hex")}`,
    review: `review-${randomBytes(8).toString("hex")}`,
};
const passphraseOf = (stack: string) => (stack.startsWith("review-") ? PASSPHRASES.review : PASSPHRASES[stack as "staging" | "production"]);
const FEATURE = "feature/login-form";
const REVIEW_STACK = "review-feature-login-form";
const MR_IID = 7;

let repo: string;
let stateDir: string;
let backend: string;
let gitlab: GitlabDouble;
let project: DoubleProject;
let apiUrl: string;
const ports = { staging: 0, production: 0, review: 0 };
const commits = { pristine: "", main1: "", feature: "" };

/** The engine cache scripts/bootstrap filled: the jobs use it instead of building their own. */
const engineCache = process.env.DELIVERY_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "delivery");

function stackFile(extra: Record<string, string>, env: Record<string, string>): string {
    const lines = [
        "# Rewritten by test/pipeline/jobs.test.ts: the docker target and the local registry.",
        "config:",
        "  delivery:target: docker",
        `  delivery:appName: ${APP}`,
        `  delivery:registryServer: "${REGISTRY}"`,
        '  delivery:registryInsecure: "true"',
        `  delivery:registryRepository: ${REPOSITORY}`,
        '  delivery:healthTimeoutSeconds: "60"',
        // The proxy swap's watch window and drain kept short: each job's swap waits them out.
        '  delivery:watchSeconds: "2"',
        '  delivery:drainSeconds: "1"',
        ...Object.entries(extra).map(([k, v]) => `  delivery:${k}: "${v}"`),
        "  delivery:env:",
        ...Object.entries(env).map(([k, v]) => `    ${k}: ${v}`),
    ];
    return lines.join("\n") + "\n";
}

/** Variables GitLab would hold for the project (Settings > CI/CD), in gitlab-ci-local's format. */
function projectVariables(): string {
    return JSON.stringify(
        {
            PULUMI_BACKEND_URL: { type: "variable", values: { "*": backend } },
            PULUMI_CONFIG_PASSPHRASE: {
                type: "variable",
                values: { staging: PASSPHRASES.staging, production: PASSPHRASES.production, "review/*": PASSPHRASES.review },
            },
            GITLAB_TOKEN: { type: "variable", values: { "*": DOUBLE_TOKEN } },
        },
        null,
        2,
    );
}

/** What the runner does before every job: a clean checkout of the commit. */
function freshCheckout(ref: string): void {
    git(repo, "checkout", "-q", "-f", ref);
    git(repo, "clean", "-ffdxq", "-e", "node_modules", "-e", ".gitlab-ci-local", "-e", ".gitlab-ci-local-variables.yml");
}

type JobRun = GclResult & ReturnType<typeof jobOutcome>;

// gitlab-ci-local gives every single-job run the same pipeline id; GitLab gives each pipeline its
// own, and the deploy jobs tell a re-run (same CI_PIPELINE_ID) from a new pipeline by it.
let pipelineSeq = 4000 + Math.floor(Math.random() * 1000) * 10;

async function runJob(job: string, ref: string, kind: PipelineKind, extra: Record<string, string> = {}): Promise<JobRun> {
    freshCheckout(ref);
    const variables = {
        ...kind.variables,
        CI_API_V4_URL: `${apiUrl}/api/v4`,
        CI_PROJECT_ID: String(project.id),
        DELIVERY_CACHE: engineCache,
        CI_PIPELINE_ID: String(++pipelineSeq),
        ...extra,
    };
    const res = await gcl(repo, [job, "--shell-executor-no-image", ...pipelineArgs({ variables, unset: kind.unset })], { timeoutMs: 20 * 60_000 });
    // The job log is what a developer sees in GitLab: no secret may appear in it.
    for (const secret of Object.values(PASSPHRASES)) {
        expect(res.output.includes(secret), `${job} printed a passphrase`).toBe(false);
    }
    // DELIVERY_PIPELINE_LOG_DIR=<dir> keeps every job's log there (<pipeline id>-<job>.log) to read afterwards.
    if (process.env.DELIVERY_PIPELINE_LOG_DIR) {
        mkdirSync(process.env.DELIVERY_PIPELINE_LOG_DIR, { recursive: true });
        writeFileSync(
            join(process.env.DELIVERY_PIPELINE_LOG_DIR, `${variables.CI_PIPELINE_ID}-${pipelineSeq}-${job.replace(/[^a-z0-9]+/gi, "-")}.log`),
            res.output,
        );
    }
    return { ...res, ...jobOutcome(res, job) };
}

function expectSuccess(run: JobRun): void {
    expect(run.status, run.output).toBe("success");
}

const mr = () => PIPELINES.mergeRequest(FEATURE, MR_IID);

/** Runs a command in the repository with the project's environment and the test backend. */
function pulumi(args: string[], passphrase = PASSPHRASES.staging): string {
    return execFileSync(join(repo, "scripts", "with-env"), ["pulumi", ...args, "--non-interactive"], {
        cwd: repo,
        env: cleanEnv({ PULUMI_BACKEND_URL: backend, PULUMI_CONFIG_PASSPHRASE: passphrase, DELIVERY_CACHE: engineCache }),
        stdio: ["ignore", "pipe", "pipe"],
    }).toString();
}

interface Release {
    imageRef: string;
    digest: string;
    commitSha: string;
    releaseId: string;
    origin: string;
    version: string;
}

/** A ledger entry as the `releases` output lists it (newest first). */
interface Entry extends Release {
    number: number;
    pipelineId?: string;
    jobName?: string;
}

const release = (stack: string) => JSON.parse(pulumi(["stack", "output", "release", "--json", "--stack", stack], passphraseOf(stack))) as Release;
const releases = (stack: string) => JSON.parse(pulumi(["stack", "output", "releases", "--json", "--stack", stack], passphraseOf(stack))) as Entry[];
/** The dotenv report a deploy job hands GitLab: the URL and the release it deployed. */
const report = (port: number, r: Pick<Release, "version" | "digest">) =>
    `DYNAMIC_ENVIRONMENT_URL=http://127.0.0.1:${port}\nDELIVERY_RELEASE_VERSION=${r.version}\nDELIVERY_RELEASE_DIGEST=${r.digest}\n`;
const stacks = () => (JSON.parse(pulumi(["stack", "ls", "--json"])) as Array<{ name: string }>).map((s) => s.name.split("/").pop());

async function registryDigest(tag: string): Promise<string | null> {
    const res = await fetch(`http://${REGISTRY}/v2/${REPOSITORY}/manifests/${tag}`, {
        method: "HEAD",
        headers: {
            accept: "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
        },
    });
    return res.ok ? res.headers.get("docker-content-digest") : null;
}

async function appAnswer(port: number): Promise<{ release_id: string; app_env: string }> {
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) });
    expect(res.status).toBe(200);
    return (await res.json()) as { release_id: string; app_env: string };
}

function dotenv(): string {
    const file = join(repo, "deploy.env");
    return existsSync(file) ? readFileSync(file, "utf8") : "";
}

const notes = () => project.mergeRequests.get(MR_IID)!.notes;

beforeAll(async () => {
    // The real runs need the engine and the local services: set them up, and fail if they cannot.
    execFileSync(join(ROOT, "scripts", "bootstrap"), [], { stdio: "inherit", env: cleanEnv() });
    execFileSync(join(ROOT, "scripts", "services"), ["start"], { stdio: "inherit", env: cleanEnv() });
    ensureRsync();

    ports.staging = await freePort();
    ports.production = await freePort();
    ports.review = await freePort();
    stateDir = mkdtempSync(join(tmpdir(), "delivery-pipeline-state-"));
    backend = `file://${stateDir}`;
    ({ gitlab, project, url: apiUrl } = await startDouble());

    repo = makeRepo({ linkNodeModules: true });
    // The project as it is, for the checks (its unit tests read the real stack files).
    commits.pristine = git(repo, "rev-parse", "HEAD");
    writeFileSync(join(repo, "Pulumi.staging.yaml"), stackFile({ hostPort: String(ports.staging) }, { APP_ENV: "staging" }));
    writeFileSync(join(repo, "Pulumi.production.yaml"), stackFile({ hostPort: String(ports.production), promoteFrom: "staging" }, { APP_ENV: "production" }));
    writeFileSync(join(repo, "scripts", "ci", "review-stack.yaml"), stackFile({ hostPort: String(ports.review) }, { APP_ENV: "review" }));
    git(repo, "add", "-A");
    git(repo, "commit", "-q", "-m", "test: docker target and the local registry");
    commits.main1 = git(repo, "rev-parse", "HEAD");
    git(repo, "checkout", "-q", "-b", FEATURE);
    appendFileSync(join(repo, "app", "app.py"), "\n# login form\n");
    git(repo, "commit", "-q", "-am", "feature: login form");
    commits.feature = git(repo, "rev-parse", "HEAD");
    git(repo, "checkout", "-q", "main");
    writeFileSync(join(repo, ".gitlab-ci-local-variables.yml"), projectVariables());
}, 60 * 60_000);

afterAll(async () => {
    if (repo && stateDir) {
        for (const stack of ["production", "staging", REVIEW_STACK]) {
            try {
                pulumi(["destroy", "--yes", "--stack", stack], passphraseOf(stack));
            } catch {
                // Not created, or already removed by a test.
            }
        }
    }
    await gitlab?.stop();
    removeDir(repo);
    removeDir(stateDir);
});

describe("pipelines run with gitlab-ci-local's shell executor", () => {
    let noteId = 0;
    let staging1: Release;
    let staging2: Release;
    /** CI_PIPELINE_ID of the tag pipeline whose production job deployed production's v1. */
    let v1Pipeline = "";

    it("every pipeline's checks run green: install restores node_modules and the engine, unit writes a JUnit report, typecheck", async () => {
        for (const job of ["install", "typecheck", "unit"]) {
            const res = await runJob(job, commits.pristine, PIPELINES.defaultBranch());
            expectSuccess(res);
            expect(res.output).toMatch(/\[ci\] node v22\.[0-9.]+, pulumi v3\.[0-9.]+/);
        }
        const junit = readFileSync(join(repo, "junit-unit.xml"), "utf8");
        expect(junit).toMatch(/<testsuites [^>]*tests="[1-9][0-9]*" failures="0" errors="0"/);
    });

    it("merge request before staging exists: preview fails the job, and the MR still gets one note that says why", async () => {
        const res = await runJob("preview", FEATURE, mr());
        expect(res.status, res.output).toBe("failed");
        expect(res.exitCode).toBe(1);
        expect(res.output).toContain("stack staging does not exist in the backend");
        expect(notes()).toHaveLength(1);
        const [note] = notes();
        expect(note.body.startsWith("<!-- delivery:preview:staging -->")).toBe(true);
        expect(note.body).toContain("stack staging does not exist in the backend");
        noteId = note.id;
    });

    it("default branch: the staging job builds, pushes and deploys the commit, and hands GitLab the URL", async () => {
        const res = await runJob("staging", "main", PIPELINES.defaultBranch());
        expectSuccess(res);
        staging1 = release("staging");
        expect(staging1.commitSha).toBe(commits.main1);
        // scripts/ci/deploy.sh ran the update with the project's policy pack: with --diff its
        // only trace is the note that the image, not yet built, cannot be checked in the
        // preview phase; the update then checked it, or the job would have failed.
        expect(res.output).toContain("delivery@v0.1.0 [advisory]  images-pinned-by-digest");
        expect(res.output).not.toContain("[mandatory]");
        expect(staging1.imageRef).toMatch(new RegExp(`^${REGISTRY}/${REPOSITORY}@sha256:[0-9a-f]{64}$`));
        expect(await registryDigest(commits.main1)).toBe(staging1.digest);
        expect(staging1.version).toBe("v1");
        expect(dotenv()).toBe(report(ports.staging, staging1));
        const answer = await appAnswer(ports.staging);
        expect(answer).toMatchObject({ release_id: staging1.releaseId, app_env: "staging" });
    });

    it("merge request again: preview passes and the same note is edited, starting with the release summary against staging, then the diff", async () => {
        const res = await runJob("preview", FEATURE, mr());
        expectSuccess(res);
        expect(res.output).toContain(`mr-note: updated note ${noteId}`);
        expect(notes()).toHaveLength(1);
        const [note] = notes();
        expect(note.id).toBe(noteId);
        expect(note.body).not.toContain("does not exist");
        // What merging would release, against what staging runs (v1), before the preview.
        const lines = note.body.split("\n");
        expect(lines.slice(0, 4)).toEqual([
            "<!-- delivery:preview:staging -->",
            "#### Release preview for stack `staging`",
            "",
            "**Merging releases into `staging`** (against v1, what `staging` runs now):",
        ]);
        const summary = note.body.slice(0, note.body.indexOf("<details>"));
        expect(summary).toContain(
            `- **Image:** rebuild needed: this commit's image is built on merge, so its digest is not known yet (v1 runs \`${staging1.digest}\`)`,
        );
        expect(summary).toContain(
            `- **Commits:** \`${commits.main1.slice(0, 8)}..${commits.feature.slice(0, 8)}\` (1 commit)\n  - \`${commits.feature.slice(0, 7)}`,
        );
        expect(summary).toContain("feature: login form");
        expect(summary).toContain("- **Settings:** no setting changed (keys only, values are not shown)");
        expect(summary).toMatch(/- \*\*Policy:\*\* passed/);
        expect(note.body.indexOf("**Merging releases")).toBeLessThan(note.body.indexOf("```diff"));
        expect(readFileSync(join(repo, "preview-staging.txt"), "utf8")).toContain("Previewing update (staging)");
        expect(note.body).toMatch(/\*\*Resources:\*\* .*to (update|replace)/);
        expect(note.body).toContain(commits.feature.slice(0, 8));
        expect(res.output).toContain("delivery@v0.1.0 [advisory]  images-pinned-by-digest");
        for (const secret of [...Object.values(PASSPHRASES), DOUBLE_TOKEN]) {
            expect(note.body).not.toContain(secret);
        }
        const edits = gitlab.requests.filter((r) => r.method === "PUT" && r.path.endsWith(`/notes/${noteId}`));
        expect(edits).toHaveLength(1);
        // The preview changed nothing: staging still runs the default branch's release.
        expect(release("staging").imageRef).toBe(staging1.imageRef);
    });

    it("merge request without GITLAB_TOKEN: the preview still runs, the job ends as a warning (exit 3), and the note is left alone", async () => {
        const before = notes().map((n) => ({ ...n }));
        expect(before).toHaveLength(1);
        const res = await runJob("preview", FEATURE, mr(), { GITLAB_TOKEN: "" });
        expect(res.output).toContain("Previewing update (staging)");
        expect(res.output).toContain("warning: GITLAB_TOKEN is not set");
        expect(res.status, res.output).toBe("warning");
        expect(res.exitCode).toBe(3);
        expect(notes()).toEqual(before);
    });

    it("merge request: the review job deploys review-<slug> from the MR's commit, with the review passphrase", async () => {
        const res = await runJob("review", FEATURE, mr());
        expectSuccess(res);
        expect(stacks()).toContain(REVIEW_STACK);
        const review = release(REVIEW_STACK);
        expect(review.commitSha).toBe(commits.feature);
        expect(review.digest).not.toBe(staging1.digest);
        expect(dotenv()).toBe(report(ports.review, review));
        expect(await appAnswer(ports.review)).toMatchObject({ release_id: review.releaseId, app_env: "review" });
    });

    it("merge request: review:stop destroys the review app and removes its stack; stopping again changes nothing", async () => {
        expect(stacks()).toContain(REVIEW_STACK);
        const res = await runJob("review:stop", FEATURE, mr());
        expectSuccess(res);
        expect(stacks()).not.toContain(REVIEW_STACK);
        await expect(fetch(`http://127.0.0.1:${ports.review}/`, { signal: AbortSignal.timeout(3000) })).rejects.toThrow();
        expect(stacks()).toEqual(expect.arrayContaining(["staging"]));

        const again = await runJob("review:stop", FEATURE, mr());
        expectSuccess(again);
        expect(again.output).toContain(`stack ${REVIEW_STACK} does not exist (already stopped)`);
    });

    it("tag: production promotes the digest staging runs, builds nothing, and the git tag becomes a registry tag of it", async () => {
        git(repo, "tag", "v1.0.0", "main");
        const res = await runJob("production", "v1.0.0", PIPELINES.tag("v1.0.0"));
        expectSuccess(res);
        const prod = release("production");
        expect(prod.imageRef).toBe(staging1.imageRef);
        expect(prod.commitSha).toBe(commits.main1);
        expect(prod.origin).toBe("promote staging v1");
        expect(prod.version).toBe("v1");
        const [entry] = releases("production");
        expect(entry).toMatchObject({ version: "v1", jobName: "production" });
        expect(entry.pipelineId).toMatch(/^[0-9]+$/);
        v1Pipeline = entry.pipelineId!;
        expect(dotenv()).toBe(report(ports.production, prod));
        const builds = (stack: string) =>
            (JSON.parse(pulumi(["stack", "export", "--stack", stack], passphraseOf(stack))).deployment.resources as Array<{ type: string }>).some((r) =>
                r.type.startsWith("docker-build:"),
            );
        expect(builds("production")).toBe(false);
        expect(builds("staging"), "the same check finds staging's build").toBe(true);
        expect(await registryDigest("v1.0.0")).toBe(staging1.digest);
        expect(await appAnswer(ports.production)).toMatchObject({ release_id: prod.releaseId, app_env: "production" });
    });

    it("tag: production refuses to promote when the tag is not on the commit staging runs, and changes nothing", async () => {
        const before = release("production");
        const res = await runJob("production", "v1.0.0", PIPELINES.tag("v1.0.1"), { CI_COMMIT_SHA: commits.feature });
        expect(res.status, res.output).toBe("failed");
        expect(res.output).toContain(`tag v1.0.1 is on commit ${commits.feature}, but staging runs a release built from ${commits.main1}`);
        expect(release("production")).toEqual(before);
        expect(await registryDigest("v1.0.1")).toBeNull();
    });

    it("tag v2: production promotes the second release; re-running v1's production job (same CI_PIPELINE_ID) runs v1's digest again as `rollback to v1`", async () => {
        // A second release: the feature is merged, staging deploys it, v1.1.0 promotes it.
        git(repo, "checkout", "-q", "main");
        git(repo, "merge", "-q", "--ff-only", FEATURE);
        expectSuccess(await runJob("staging", "main", PIPELINES.defaultBranch()));
        staging2 = release("staging");
        expect(staging2.digest).not.toBe(staging1.digest);
        expect(staging2.version).toBe("v2");
        git(repo, "tag", "v1.1.0", "main");
        const v2 = await runJob("production", "v1.1.0", PIPELINES.tag("v1.1.0"));
        expectSuccess(v2);
        expect(v2.output).not.toContain("re-run of job");
        expect(release("production")).toMatchObject({ digest: staging2.digest, version: "v2", origin: "promote staging v2" });

        // GitLab's "Rollback environment" on v1's deployment: v1's pipeline runs its production job again.
        const rerun = await runJob("production", "v1.0.0", PIPELINES.tag("v1.0.0"), { CI_PIPELINE_ID: v1Pipeline });
        expectSuccess(rerun);
        expect(rerun.output).toContain(`re-run of job production in pipeline ${v1Pipeline}`);
        expect(rerun.output).toContain("it deployed v1 to production the first time, so it deploys v1 again (delivery rollback v1)");
        const prod = release("production");
        expect(prod).toMatchObject({ imageRef: staging1.imageRef, commitSha: commits.main1, version: "v3", origin: "rollback to v1" });
        expect(releases("production").map((e) => [e.version, e.origin])).toEqual([
            ["v3", "rollback to v1"],
            ["v2", "promote staging v2"],
            ["v1", "promote staging v1"],
        ]);
        expect(dotenv()).toBe(report(ports.production, prod));
        expect(await appAnswer(ports.production)).toMatchObject({ release_id: prod.releaseId, app_env: "production" });
        // No tag moved: each still names the digest it was made for.
        expect(await registryDigest("v1.0.0")).toBe(staging1.digest);
        expect(await registryDigest("v1.1.0")).toBe(staging2.digest);

        // Re-run once more: v1's image runs already, so nothing new is recorded.
        const again = await runJob("production", "v1.0.0", PIPELINES.tag("v1.0.0"), { CI_PIPELINE_ID: v1Pipeline });
        expectSuccess(again);
        expect(again.output).toContain("it deployed v1 to production the first time");
        expect(again.output).toContain("already runs on production");
        expect(releases("production")[0].version).toBe("v3");
    });

    it("tag: the rollback job runs the release ROLLBACK_TO names again, without moving the pipeline's git tag", async () => {
        const res = await runJob("rollback", "v1.1.0", PIPELINES.tag("v1.1.0"), { ROLLBACK_TO: "v2" });
        expectSuccess(res);
        const prod = release("production");
        expect(prod).toMatchObject({ imageRef: staging2.imageRef, commitSha: commits.feature, version: "v4", origin: "rollback to v2" });
        expect(releases("production")[0]).toMatchObject({ version: "v4", jobName: "rollback" });
        expect(await registryDigest("v1.1.0")).toBe(staging2.digest);
        expect(await registryDigest("v1.0.0")).toBe(staging1.digest);
        expect(await appAnswer(ports.production)).toMatchObject({ release_id: prod.releaseId });
        expect(dotenv()).toBe(report(ports.production, prod));
        expect(res.output).toContain("rolled back to v2");

        // A number the ledger does not hold: refused, nothing changes.
        const missing = await runJob("rollback", "v1.1.0", PIPELINES.tag("v1.1.0"), { ROLLBACK_TO: "v99" });
        // The job is allow_failure: a failed rollback shows as a warning and leaves the tag pipeline green.
        expect(missing.status, missing.output).toBe("warning");
        expect(missing.exitCode).toBe(1);
        expect(missing.output).toContain("stack production has no v99: its ledger holds v1..v4");
        expect(missing.output).toContain("cannot read v99 from production's ledger (see above); nothing was changed");
        expect(missing.output).not.toContain("SyntaxError");
        expect(release("production").version).toBe("v4");
    });

    it("tag: production refuses a staging release whose verification failed, before any change; staging's next good release is verified again", async () => {
        // The jobs before checked out tags (a detached HEAD): commit on main, where staging deploys from.
        git(repo, "checkout", "-q", "main");
        const stagingFile = join(repo, "Pulumi.staging.yaml");
        const good = readFileSync(stagingFile, "utf8");
        // The staging release's own verification fails: the staging job fails, the release is recorded failed.
        writeFileSync(stagingFile, stackFile({ hostPort: String(ports.staging), verifyCommand: "echo smoke test broke; exit 1" }, { APP_ENV: "staging" }));
        git(repo, "commit", "-q", "-am", "staging: a verification that fails");
        const broken = await runJob("staging", "main", PIPELINES.defaultBranch());
        expect(broken.status, broken.output).toBe("failed");
        const failed = release("staging") as Release & { verification?: { status: string } };
        expect(failed.verification?.status).toBe("failed");

        const before = release("production");
        git(repo, "tag", "v1.2.0", "main");
        const refused = await runJob("production", "v1.2.0", PIPELINES.tag("v1.2.0"));
        expect(refused.status, refused.output).toBe("failed");
        expect(refused.output).toContain(`staging ${failed.version} (release id ${failed.releaseId}) failed its verification`);
        expect(refused.output).toContain("its output ended with: smoke test broke");
        expect(refused.output).toContain("nothing was changed");
        expect(release("production")).toEqual(before);
        expect(await registryDigest("v1.2.0")).toBeNull();

        // The verification fixed: a new staging release, verified, which production takes again.
        git(repo, "checkout", "-q", "main");
        writeFileSync(stagingFile, good);
        git(repo, "commit", "-q", "-am", "staging: the verification back");
        expectSuccess(await runJob("staging", "main", PIPELINES.defaultBranch()));
        expect((release("staging") as Release & { verification?: { status: string } }).verification?.status).toBe("passed");
    });

    it("schedule: drift checks pass while nothing changed, and drift:staging fails once its container is removed behind Pulumi's back", async () => {
        const clean = await runJob("drift:staging", "main", PIPELINES.schedule());
        expectSuccess(clean);
        expect(clean.output).toContain("staging: no drift");
        expectSuccess(await runJob("drift:production", "main", PIPELINES.schedule()));

        const containers = execFileSync("docker", ["ps", "-aq", "--filter", `label=delivery.slot=${APP}-staging`])
            .toString()
            .split(/\s+/)
            .filter(Boolean);
        expect(containers.length).toBeGreaterThan(0);
        execFileSync("docker", ["rm", "-f", ...containers], { stdio: "ignore" });
        const drifted = await runJob("drift:staging", "main", PIPELINES.schedule());
        expect(drifted.status, drifted.output).toBe("failed");
        expect(drifted.output).toContain("staging has drifted from its state");
        // Production, untouched, still passes: the check is per stack.
        expectSuccess(await runJob("drift:production", "main", PIPELINES.schedule()));
    });
});
