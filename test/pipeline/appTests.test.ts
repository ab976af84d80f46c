import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import {
    type CiDoc,
    type GclResult,
    HOST_PYTHON,
    PIPELINES,
    ROOT,
    cleanEnv,
    ensureAppTestPython,
    ensureRsync,
    gcl,
    git,
    jobNames,
    jobOutcome,
    makeRepo,
    matrixJobNames,
    pipelineArgs,
    readCiYaml,
    removeDir,
} from "./harness";

/**
 * The test:app job runs for real with gitlab-ci-local's shell executor: both jobs of its
 * parallel:matrix (`test:app: [3.11]`, `test:app: [3.12]`) run scripts/ci/app-test.sh with the
 * host's Python (Debian's python3 with python3-flask and python3-coverage, installed when missing
 * as rsync is), print the TOTAL line the job's `coverage:` regex reads, and leave a Cobertura
 * coverage.xml and a JUnit junit-app.xml. A failing app test fails the job, and staging, which
 * needs it, never starts. `--shell-isolation` gives each job its own copy of the checkout, as a
 * runner's separate builds directories would (the matrix jobs run at the same time).
 */

const doc: CiDoc = readCiYaml();
const APP_TESTS = matrixJobNames(doc, "test:app");
const REGEX = new RegExp(/^\/(.*)\/$/.exec(doc["test:app"].coverage)![1], "m");
/** How many tests app/tests holds, counted in its source. */
const TEST_COUNT = (readFileSync(join(ROOT, "app", "tests", "test_app.py"), "utf8").match(/^ {4}def test_/gm) ?? []).length;
const FILES = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    .split("\0")
    .filter((f) => f.startsWith("app/") || f === "scripts/ci/app-test.sh" || f === ".gitlab-ci.yml" || f === ".gitlab/ci/image.yml");

const repos: string[] = [];
let hostVersion = "";

beforeAll(() => {
    ensureRsync();
    ensureAppTestPython();
    hostVersion = spawnSync(HOST_PYTHON, ["-c", "import platform; print(platform.python_version())"]).stdout.toString().trim();
}, 10 * 60_000);

afterAll(() => repos.forEach(removeDir));

function repo(): string {
    const dir = makeRepo({ files: FILES });
    repos.push(dir);
    return dir;
}

const run = (dir: string, args: string[]) =>
    gcl(dir, [...args, "--shell-executor-no-image", "--shell-isolation", ...pipelineArgs(PIPELINES.defaultBranch())], { timeoutMs: 5 * 60_000 });

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** One job's lines of gitlab-ci-local's output, without the `job > ` prefix (names are padded). */
const logOf = (res: GclResult, job: string) => {
    const prefix = new RegExp(`^${escape(job)} *> `);
    return res.output
        .split("\n")
        .filter((l) => prefix.test(l))
        .map((l) => l.replace(prefix, ""))
        .join("\n");
};

/** The reports each job left in its own copy of the checkout (.gitlab-ci-local/builds/<job>/). */
function reports(dir: string): Array<{ coverage: string; junit: string }> {
    const builds = join(dir, ".gitlab-ci-local", "builds");
    return readdirSync(builds)
        .filter((b) => existsSync(join(builds, b, "coverage.xml")) || existsSync(join(builds, b, "junit-app.xml")))
        .map((b) => ({ coverage: readFileSync(join(builds, b, "coverage.xml"), "utf8"), junit: readFileSync(join(builds, b, "junit-app.xml"), "utf8") }));
}

describe("test:app with gitlab-ci-local's shell executor", () => {
    let passed: GclResult;
    let dir: string;

    beforeAll(async () => {
        dir = repo();
        passed = await run(dir, ["test:app"]);
    }, 10 * 60_000);

    it("gitlab-ci-local expands the matrix into test:app: [3.11] and test:app: [3.12]; both pass with the host's Python and say which", () => {
        expect(APP_TESTS).toEqual(["test:app: [3.11]", "test:app: [3.12]"]);
        expect(TEST_COUNT).toBeGreaterThanOrEqual(10);
        for (const job of APP_TESTS) {
            expect(jobOutcome(passed, job).status, passed.output).toBe("success");
            const log = logOf(passed, job);
            const version = /\[([0-9.]+)\]$/.exec(job)![1];
            // The host has one Python with Flask and coverage: a job of another version says so and tests with it.
            if (hostVersion.startsWith(`${version}.`)) {
                expect(log).not.toContain("asked, but this runner has no Python");
            } else {
                expect(log).toContain(`PYTHON_VERSION ${version} asked, but this runner has no Python ${version} with Flask and coverage`);
            }
            expect(log).toContain(`[ci] testing the app with Python ${hostVersion} (${HOST_PYTHON})`);
            expect(log).toContain(`Ran ${TEST_COUNT} tests`);
            expect(log).toContain(`[ci] app tests passed with Python ${hostVersion}`);
        }
    });

    it("reports coverage: the job's regex finds coverage.py's TOTAL in each job's log, the same percent gitlab-ci-local shows", () => {
        for (const job of APP_TESTS) {
            const percent = REGEX.exec(logOf(passed, job))?.[1];
            expect(percent, logOf(passed, job)).toMatch(/^[0-9.]+%$/);
            expect(parseFloat(percent!)).toBeGreaterThanOrEqual(90);
            const shown = new RegExp(`^ PASS .*${escape(job)} +([0-9.]+)% coverage`, "m").exec(passed.output);
            expect(shown?.[1], passed.output).toBe(String(parseFloat(percent!)));
        }
    });

    it("each job leaves a Cobertura coverage.xml of app.py and a JUnit junit-app.xml of every test", () => {
        const left = reports(dir);
        expect(left).toHaveLength(APP_TESTS.length);
        for (const { coverage, junit } of left) {
            expect(coverage).toMatch(/<coverage [^>]*line-rate="[0-9.]+"[^>]*branch-rate="[0-9.]+"/);
            expect(coverage).toContain("coverage-04.dtd");
            expect(coverage).toMatch(/<source>[^<]*\/app<\/source>/);
            expect(coverage).toMatch(/<class [^>]*filename="app\.py"/);
            expect(junit).toMatch(new RegExp(`<testsuites [^>]*tests="${TEST_COUNT}" failures="0" errors="0"`));
            expect(junit).toContain('classname="tests.test_app.HealthTest" name="test_healthz_is_plain_ok"');
        }
    });
});

describe("a failing app test stops the build", () => {
    /**
     * The pipeline with every job but test:app reduced to an echo (no bootstrap, no deploy), so
     * that `gitlab-ci-local staging --needs` runs what staging needs, as GitLab would, quickly.
     */
    function stubbedPipeline(dir: string): void {
        const stub = structuredClone(doc);
        stub.default.before_script = [];
        delete stub.default.cache;
        for (const name of jobNames(stub).filter((n) => n !== "test:app")) {
            stub[name].script = [`echo "stub: $CI_JOB_NAME ran"`];
            delete stub[name].artifacts;
            delete stub[name].cache;
        }
        writeFileSync(join(dir, ".gitlab-ci.yml"), stringify(stub));
        git(dir, "commit", "-q", "-am", "test: stub jobs");
    }

    it("with the app's tests green, staging --needs runs both test:app jobs and then staging", async () => {
        const dir = repo();
        stubbedPipeline(dir);
        const res = await run(dir, ["staging", "--needs"]);
        for (const job of [...APP_TESTS, "install", "unit", "typecheck", "staging"]) {
            expect(jobOutcome(res, job).status, res.output).toBe("success");
        }
        expect(logOf(res, "staging")).toContain("stub: staging ran");
    });

    it("a broken /healthz fails both test:app jobs (exit 1, JUnit names the test), and staging never starts", async () => {
        const dir = repo();
        stubbedPipeline(dir);
        const app = join(dir, "app", "app.py");
        writeFileSync(app, readFileSync(app, "utf8").replace('Response("ok", status=200', 'Response("OK", status=200'));
        git(dir, "commit", "-q", "-am", "break the health answer");
        const res = await run(dir, ["staging", "--needs"]);
        for (const job of APP_TESTS) {
            expect(jobOutcome(res, job), res.output).toEqual({ status: "failed", exitCode: 1 });
            const log = logOf(res, job);
            expect(log).toContain("FAIL: test_healthz_is_plain_ok");
            expect(log).toContain("[ci] error: the app's tests failed");
            // The coverage and test reports are still written for GitLab to show.
            expect(REGEX.exec(log)?.[1]).toMatch(/%$/);
        }
        for (const { junit } of reports(dir)) {
            expect(junit).toMatch(/<testsuites [^>]*failures="1"/);
            expect(junit).toMatch(/name="test_healthz_is_plain_ok"[^>]*>\s*<failure message="AssertionError: 'OK' != 'ok'/);
        }
        expect(res.output).not.toContain("stub: staging ran");
        expect(res.output).not.toMatch(/^ PASS .*staging/m);
    });
});

describe("scripts/ci/app-test.sh guards", () => {
    /** An interpreter that is Debian's python3 with some modules hidden (import fails as if absent). */
    function pythonWithout(modules: string[]): string {
        const dir = mkdtempSync(join(tmpdir(), "delivery-python-"));
        repos.push(dir);
        writeFileSync(join(dir, "sitecustomize.py"), `import sys\nfor m in ${JSON.stringify(modules)}:\n    sys.modules[m] = None\n`);
        const wrapper = join(dir, "python3");
        writeFileSync(wrapper, `#!/bin/sh\nPYTHONPATH='${dir}' exec ${HOST_PYTHON} "$@"\n`);
        chmodSync(wrapper, 0o755);
        return wrapper;
    }
    const script = (env: Record<string, string>) => {
        const res = spawnSync(join(ROOT, "scripts", "ci", "app-test.sh"), [], { env: cleanEnv(env), cwd: tmpdir() });
        return { status: res.status, stdout: res.stdout.toString(), stderr: res.stderr.toString() };
    };

    it("without coverage.py it fails and says how to get it (and how to run the tests without it)", () => {
        const res = script({ APP_TEST_PYTHON: pythonWithout(["coverage"]), PYTHON_VERSION: "3.11" });
        expect(res.status).toBe(1);
        expect(res.stderr).toContain("coverage.py is missing for");
        expect(res.stderr).toContain("apt-get install python3-coverage");
        expect(res.stderr).toContain("-m unittest discover -s tests");
    });

    it("without Flask it fails and names the packages", () => {
        const res = script({ APP_TEST_PYTHON: pythonWithout(["flask"]), PYTHON_VERSION: "3.11" });
        expect(res.status).toBe(1);
        expect(res.stderr).toContain("flask no, coverage yes");
        expect(res.stderr).toContain("apt-get install python3-flask python3-coverage");
    });

    it("in an image (CI_JOB_IMAGE set) the Python must be the matrix's version; a bad PYTHON_VERSION is refused", () => {
        const res = script({ PYTHON_VERSION: "3.99", CI_JOB_IMAGE: "python:3.99-slim" });
        expect(res.status).toBe(1);
        expect(res.stderr).toContain(`PYTHON_VERSION is 3.99, but the job's image python:3.99-slim has Python ${hostVersion}`);
        const bad = script({ PYTHON_VERSION: "latest" });
        expect(bad.status).toBe(1);
        expect(bad.stderr).toContain("PYTHON_VERSION must be a version such as 3.11 (got 'latest')");
    });
});
