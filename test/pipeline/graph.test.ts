import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import {
    type CiDoc,
    type ListedJob,
    PIPELINES,
    type PipelineKind,
    ROOT,
    expandedJobNames,
    gcl,
    jobNames,
    listJobs,
    makeRepo,
    matrixJobNames,
    pipelineArgs,
    readCiYaml,
    removeDir,
    writeFile,
} from "./harness";

/**
 * The job graph of each kind of pipeline, as gitlab-ci-local evaluates `rules:` with the
 * variables GitLab would set. gitlab-ci-local does not apply workflow:rules itself, so those are
 * probed through a job that carries the same rules.
 */

let repo: string;
const doc: CiDoc = readCiYaml();

beforeAll(() => {
    repo = makeRepo({ files: [".gitlab-ci.yml", ".gitlab/ci/image.yml", "app/ci-image.yml"] });
    const probe = { stages: ["test"], "workflow-probe": { stage: "test", script: ["true"], rules: doc.workflow.rules } };
    writeFile(repo, "workflow-probe.yml", stringify(probe));
});

afterAll(() => removeDir(repo));

// parallel:matrix jobs by the names GitLab gives them (`test:app: [3.11]`, ...).
const ALL = expandedJobNames(doc);

/** What a pipeline must hold: every other job must be absent (when: never). */
interface Expected {
    readonly onSuccess: readonly string[];
    readonly manual?: Readonly<Record<string, { allowFailure: boolean }>>;
}

async function expectGraph(kind: PipelineKind, expected: Expected) {
    const jobs = await listJobs(repo, kind);
    expect([...jobs.keys()].sort()).toEqual([...ALL].sort());
    const whenOf = (name: string) => jobs.get(name)!.when;
    const active = ALL.filter((n) => whenOf(n) !== "never");
    expect(active.sort()).toEqual([...expected.onSuccess, ...Object.keys(expected.manual ?? {})].sort());
    for (const name of expected.onSuccess) {
        expect(whenOf(name), name).toBe("on_success");
    }
    for (const [name, { allowFailure }] of Object.entries(expected.manual ?? {})) {
        expect(whenOf(name), name).toBe("manual");
        expect(jobs.get(name)!.allow_failure, `${name} allow_failure`).toBe(allowFailure);
    }
    // GitLab refuses a pipeline whose active job needs a job that is not in it. A need naming a
    // parallel:matrix job means all of its jobs.
    for (const name of active) {
        for (const need of (jobs.get(name) as ListedJob).needs ?? []) {
            const needed = matrixJobNames(doc, need.job);
            expect(active, `${name} needs ${need.job}`).toEqual(expect.arrayContaining(needed));
        }
    }
    const chain = await gcl(repo, ["--validate-dependency-chain", ...pipelineArgs(kind)], { timeoutMs: 120_000 });
    expect(chain.code, chain.output).toBe(0);
}

const APP_TESTS = matrixJobNames(doc, "test:app");
const CHECKS = ["install", "unit", "typecheck", ...APP_TESTS];

describe("job graph per pipeline", () => {
    it("merge request: checks, preview of staging, review stack with a manual stop", async () => {
        await expectGraph(PIPELINES.mergeRequest(), {
            onSuccess: [...CHECKS, "preview", "review"],
            manual: { "review:stop": { allowFailure: true } },
        });
    });

    it("default branch: checks, then staging; nothing manual, no drift check", async () => {
        await expectGraph(PIPELINES.defaultBranch(), { onSuccess: [...CHECKS, "staging"] });
    });

    it("another branch without a merge request: checks only", async () => {
        await expectGraph(PIPELINES.otherBranch(), { onSuccess: CHECKS });
    });

    it("tag: checks, manual production that blocks the pipeline, manual rollback that does not", async () => {
        await expectGraph(PIPELINES.tag(), {
            onSuccess: CHECKS,
            manual: { production: { allowFailure: false }, rollback: { allowFailure: true } },
        });
    });

    it("schedule: checks and a drift check per stack, and no deploy even though it runs on the default branch", async () => {
        await expectGraph(PIPELINES.schedule(), { onSuccess: [...CHECKS, "drift:staging", "drift:production"] });
    });

    it("preview's only allowed failure is exit 3 (note not posted); a failed preview fails the job", async () => {
        const jobs = await listJobs(repo, PIPELINES.mergeRequest());
        expect(jobs.get("preview")!.allow_failure).toEqual({ exit_codes: [3] });
    });
});

describe("the app's tests run before any build", () => {
    it("test:app is one job per Python version (parallel:matrix), in the test stage, needing nothing, in every pipeline", async () => {
        expect(APP_TESTS).toEqual(["test:app: [3.11]", "test:app: [3.12]"]);
        for (const kind of [PIPELINES.mergeRequest(), PIPELINES.defaultBranch(), PIPELINES.tag(), PIPELINES.schedule(), PIPELINES.otherBranch()]) {
            const jobs = await listJobs(repo, kind);
            for (const name of APP_TESTS) {
                expect(jobs.get(name), `${name} in ${JSON.stringify(kind.variables)}`).toMatchObject({ stage: "test", when: "on_success", needs: [] });
            }
        }
        expect(doc["test:app"]).toMatchObject({ needs: [], before_script: [], cache: [], script: ["scripts/ci/app-test.sh"] });
    });

    it("the build jobs, staging and review, need test:app (all of its jobs), so a failing app test stops the build", async () => {
        const needsOf = async (kind: PipelineKind, job: string) => ((await listJobs(repo, kind)).get(job)!.needs ?? []).map((n) => n.job);
        expect(await needsOf(PIPELINES.defaultBranch(), "staging")).toEqual(["install", "unit", "typecheck", "test:app"]);
        expect(await needsOf(PIPELINES.mergeRequest(), "review")).toEqual(["install", "unit", "typecheck", "test:app"]);
        // Production builds nothing: it promotes what staging (which needed the app tests) runs.
        expect(await needsOf(PIPELINES.tag(), "production")).not.toContain("test:app");
    });

    it("reports coverage: GitLab's regex for coverage.py's TOTAL line, a Cobertura coverage_report and a JUnit report", () => {
        const job = doc["test:app"];
        expect(job.artifacts).toMatchObject({
            when: "always",
            reports: { coverage_report: { coverage_format: "cobertura", path: "coverage.xml" }, junit: "junit-app.xml" },
        });
        const source = /^\/(.*)\/$/.exec(job.coverage)![1];
        const regex = new RegExp(source, "m");
        const percent = (log: string) => regex.exec(log)?.[1];
        expect(percent("TOTAL       33      0      6      0   100%")).toBe("100%");
        expect(percent("TOTAL       35      1      8      1    95%")).toBe("95%");
        expect(percent("TOTAL      120      7   94.17%")).toBe("94.17%");
        // A file's row is not the total.
        expect(percent("app.py      33      3      6      0    90%")).toBeUndefined();
    });

    it("runs test:app in python:<version>-slim only when DELIVERY_CI_IMAGE is set; otherwise writes no image", async () => {
        const preview = async (variables: string[]) => {
            const res = await gcl(repo, ["--preview", ...variables], { timeoutMs: 120_000 });
            expect(res.code, res.output).toBe(0);
            return parse(res.stdout.slice(res.stdout.indexOf("---"))) as CiDoc;
        };
        const withImage = await preview(["--variable", "DELIVERY_CI_IMAGE=pulumi/pulumi-nodejs:3.274.1"]);
        expect(withImage["test:app"].image).toEqual({ name: "python:${PYTHON_VERSION}-slim" });
        expect(withImage["test:app"].variables).toEqual({ APP_TEST_PIP_INSTALL: "true" });
        // The other jobs keep the deploy jobs' image (.gitlab/ci/image.yml), expanded when the job runs.
        expect(withImage.staging.image).toEqual({ name: "$DELIVERY_CI_IMAGE" });
        const without = await preview([]);
        expect(without["test:app"].image).toBeUndefined();
        expect(without.staging.image).toBeUndefined();
    });
});

describe("workflow:rules", () => {
    const probe = async (kind: PipelineKind) => {
        const res = await gcl(repo, ["--file", "workflow-probe.yml", "--list-json", ...pipelineArgs(kind)], { timeoutMs: 120_000 });
        expect(res.code, res.output).toBe(0);
        const rows = JSON.parse(res.stdout.slice(res.stdout.indexOf("["))) as ListedJob[];
        return rows.find((r) => r.name === "workflow-probe")!.when;
    };

    it("runs merge request, default branch, tag, schedule and plain branch pipelines", async () => {
        for (const kind of [PIPELINES.mergeRequest(), PIPELINES.defaultBranch(), PIPELINES.tag(), PIPELINES.schedule(), PIPELINES.otherBranch()]) {
            expect(await probe(kind), JSON.stringify(kind.variables)).toBe("on_success");
        }
    });

    it("runs no branch pipeline for a push to a branch that has an open merge request (the MR pipeline covers it)", async () => {
        expect(await probe(PIPELINES.branchWithOpenMr())).toBe("never");
    });
});

describe("environments, locks and cancellation", () => {
    const deploys = ["review", "staging", "production", "rollback"];

    it("each deploy job locks its environment with a resource group of the same name and is never cancelled midway", () => {
        for (const name of [...deploys, "review:stop"]) {
            const job = doc[name];
            expect(job.resource_group, name).toBe(job.environment.name);
            expect(job.interruptible, name).toBe(false);
        }
        expect(doc.default.interruptible).toBe(true);
        expect(doc.workflow.auto_cancel.on_new_commit).toBe("interruptible");
    });

    it("the review environment is stopped by review:stop, automatically after a week, and the stop job targets the same environment", () => {
        const env = doc.review.environment;
        expect(env).toMatchObject({ name: "review/$CI_COMMIT_REF_SLUG", on_stop: "review:stop", auto_stop_in: "1 week" });
        expect(doc["review:stop"].environment).toEqual({ name: env.name, action: "stop" });
        expect(doc["review:stop"].script.join("\n")).toContain("review-$CI_COMMIT_REF_SLUG");
        expect(doc.review.script.join("\n")).toContain("review-$CI_COMMIT_REF_SLUG");
    });

    it("jobs that only read an environment say so (no deployment is recorded), and all environment URLs come from the stack's url output", () => {
        expect(doc.preview.environment).toEqual({ name: "staging", action: "prepare" });
        expect(doc["drift:staging"].environment).toEqual({ name: "staging", action: "verify" });
        expect(doc["drift:production"].environment).toEqual({ name: "production", action: "verify" });
        for (const name of deploys) {
            expect(doc[name].environment.url, name).toBe("$DYNAMIC_ENVIRONMENT_URL");
            expect(doc[name].artifacts.reports.dotenv, name).toBe("deploy.env");
        }
    });

    it("uses no only/except anywhere", () => {
        const text = readFileSync(join(ROOT, ".gitlab-ci.yml"), "utf8");
        expect(text).not.toMatch(/^\s+(only|except):/m);
    });

    it("keeps its caches inside the checkout and writes them from one job only", () => {
        expect(doc.variables.DELIVERY_CACHE).toBe("$CI_PROJECT_DIR/.cache/delivery");
        expect(doc.variables.npm_config_cache).toBe("$CI_PROJECT_DIR/.npm");
        const paths = (caches: Array<{ paths: string[] }>) => caches.flatMap((c) => c.paths).sort();
        expect(paths(doc.default.cache)).toEqual([".cache/delivery/engine/", ".npm/"]);
        expect(doc.default.cache.map((c: { policy: string }) => c.policy)).toEqual(["pull", "pull"]);
        expect(paths(doc.install.cache)).toEqual(paths(doc.default.cache));
        expect(doc.install.cache.map((c: { policy: string }) => c.policy)).toEqual(["pull-push", "pull-push"]);
        const writers = jobNames(doc).filter((n) => (doc[n].cache ?? []).some((c: { policy?: string }) => c.policy !== "pull"));
        expect(writers).toEqual(["install"]);
    });
});
