import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { runInNewContext } from "node:vm";
import { parse } from "yaml";

/**
 * What the pipeline tests share: running the pinned gitlab-ci-local on the project's Node 22,
 * a throw-away git repository made from the working tree, and GitLab's CI JSON schema.
 */

export const ROOT = join(__dirname, "..", "..");
export const GCL_PACKAGE = join(ROOT, "node_modules", "gitlab-ci-local");
const GCL_ENTRY = join(GCL_PACKAGE, "dist", "index.js");
// gitlab-ci-local 4.x uses Set.prototype.union (Node >= 22); the machine's own node may be older.
const NODE = join(ROOT, "node_modules", ".bin", "node");

export type CiDoc = Record<string, any>;

export function readCiYaml(file = join(ROOT, ".gitlab-ci.yml")): CiDoc {
    return parse(readFileSync(file, "utf8")) as CiDoc;
}

/** Real jobs: top-level keys that are neither keywords nor hidden templates. */
export const GLOBAL_KEYWORDS = new Set([
    "default",
    "include",
    "stages",
    "variables",
    "workflow",
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
    "spec",
]);
export function jobNames(doc: CiDoc): string[] {
    return Object.keys(doc).filter((k) => !GLOBAL_KEYWORDS.has(k) && !k.startsWith("."));
}

/**
 * The jobs GitLab makes of one job: with `parallel: matrix:` one per combination of the matrix's
 * values, named `job: [v1, v2]` (as gitlab-ci-local names them too); otherwise the job itself.
 */
export function matrixJobNames(doc: CiDoc, name: string): string[] {
    const matrix = doc[name]?.parallel?.matrix as Array<Record<string, string | string[]>> | undefined;
    if (!matrix) return [name];
    return matrix.flatMap((entry) => {
        let combos: string[][] = [[]];
        for (const values of Object.values(entry)) {
            const list = Array.isArray(values) ? values : [values];
            combos = combos.flatMap((c) => list.map((v) => [...c, String(v)]));
        }
        return combos.map((c) => `${name}: [${c.join(", ")}]`);
    });
}

/** Every job a pipeline can hold, parallel:matrix jobs expanded. */
export function expandedJobNames(doc: CiDoc): string[] {
    return jobNames(doc).flatMap((name) => matrixJobNames(doc, name));
}

/**
 * GitLab's CI schema (gitlab-org/gitlab, app/assets/javascripts/editor/schema/ci.json, MIT
 * licensed) as gitlab-ci-local bundles it: read from the pinned package at test time, so that
 * nothing is vendored and a version bump brings the newer schema. The bundle inlines the JSON as
 * an object literal; gitlab-ci-local relaxes a few patterns at run time, not in the literal, so
 * this is GitLab's schema unchanged.
 */
export function gitlabCiSchema(): Record<string, any> {
    const bundle = readFileSync(GCL_ENTRY, "utf8");
    const marker = '{$schema:"http://json-schema.org/draft-07/schema#",$id:"https://gitlab.com/.gitlab-ci.yml"';
    const start = bundle.indexOf(marker);
    if (start < 0) {
        throw new Error(`GitLab's CI schema was not found in ${GCL_ENTRY}; gitlab-ci-local changed how it bundles it`);
    }
    let depth = 0;
    let quote: string | undefined;
    let end = start;
    for (; end < bundle.length; end++) {
        const c = bundle[end];
        if (quote) {
            if (c === "\\") end++;
            else if (c === quote) quote = undefined;
            continue;
        }
        if (c === '"' || c === "'" || c === "`") quote = c;
        else if (c === "{") depth++;
        else if (c === "}" && --depth === 0) break;
    }
    // An object literal of plain data (no calls, no identifiers): evaluated in an empty context.
    return runInNewContext(`(${bundle.slice(start, end + 1)})`, Object.create(null), { timeout: 5000 }) as Record<string, any>;
}

/** The environment a test passes on: nothing of the developer's or the outer CI's settings. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
        if (/^(CI|GITLAB|PULUMI|DELIVERY|npm|VITEST|GCL)_/i.test(k) || k === "CI" || k === "GITLAB_CI") continue;
        env[k] = v;
    }
    return { ...env, ...extra };
}

export interface GclResult {
    /** gitlab-ci-local's own exit status: 0 even when a job it was asked to run failed. */
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
    /** stdout and stderr interleaved, as a person would read it. */
    readonly output: string;
}

/**
 * How a job ended, from gitlab-ci-local's closing report (` PASS  job`, ` WARN  job`,
 * ` FAIL  job`), and its script's exit code when it failed (`job finished in 2 s  FAIL 1`).
 */
export function jobOutcome(res: GclResult, job: string): { status: "success" | "warning" | "failed"; exitCode: number } {
    const name = job.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    // A warned job may carry a suffix (` WARN  preview  pre_script`).
    const report = new RegExp(`^ (PASS|WARN|FAIL) +${name}(?:\\s|$)`, "m").exec(res.stdout + res.stderr);
    if (!report) {
        throw new Error(`no outcome for job ${job} in gitlab-ci-local's output (exit ${res.code}):\n${res.output}`);
    }
    const code = new RegExp(`^${name} finished in .*(?:FAIL|WARN) ([0-9]+)\\s*$`, "m").exec(res.output);
    const status = ({ PASS: "success", WARN: "warning", FAIL: "failed" } as const)[report[1] as "PASS" | "WARN" | "FAIL"];
    return { status, exitCode: status === "success" ? 0 : Number(code?.[1] ?? -1) };
}

/** Runs gitlab-ci-local in `cwd` with the project's Node 22. Never throws on a non-zero exit. */
export function gcl(cwd: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; log?: boolean } = {}): Promise<GclResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(NODE, [GCL_ENTRY, "--no-color", ...args], {
            cwd,
            env: options.env ?? cleanEnv(),
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        let output = "";
        child.stdout.on("data", (d: Buffer) => {
            stdout += d;
            output += d;
            if (options.log) process.stdout.write(d);
        });
        child.stderr.on("data", (d: Buffer) => {
            stderr += d;
            output += d;
            if (options.log) process.stderr.write(d);
        });
        const timer = setTimeout(() => child.kill("SIGTERM"), options.timeoutMs ?? 15 * 60_000);
        child.on("error", reject);
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr, output });
        });
    });
}

/**
 * gitlab-ci-local copies the tracked files with rsync before it runs any job. Installs Debian's
 * rsync when it is missing (CI runs as root on a fresh machine); throws when that is impossible.
 */
export function ensureRsync(): void {
    ensureDebianPackages(
        ["rsync"],
        () => spawnSync("sh", ["-c", "command -v rsync"], { stdio: "ignore" }).status === 0,
        "gitlab-ci-local needs rsync to run jobs",
    );
}

/**
 * The test:app job on a shell runner tests with the host's Python: Debian's python3 with Flask
 * (python3-flask, the package the app's base image is made with) and coverage.py
 * (python3-coverage). Installs them when /usr/bin/python3 cannot import both.
 */
export const APP_TEST_PACKAGES = ["python3-flask", "python3-coverage"] as const;
export const HOST_PYTHON = "/usr/bin/python3";
export function ensureAppTestPython(): void {
    ensureDebianPackages(
        APP_TEST_PACKAGES,
        () => spawnSync(HOST_PYTHON, ["-c", "import flask, coverage"], { stdio: "ignore" }).status === 0,
        "the test:app job needs Python 3 with Flask and coverage.py",
    );
}

/** Installs Debian packages when `has()` says they are missing (as root); throws when impossible. */
function ensureDebianPackages(packages: readonly string[], has: () => boolean, why: string): void {
    if (has()) return;
    if (process.getuid?.() !== 0) {
        throw new Error(`${why}: install ${packages.length > 1 ? "them" : "it"} (Debian: apt-get install ${packages.join(" ")})`);
    }
    const apt = (...args: string[]) =>
        spawnSync("apt-get", args, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } }).status === 0;
    if (!apt("install", "-y", "-qq", "--no-install-recommends", ...packages)) {
        apt("update", "-qq");
        apt("install", "-y", "-qq", "--no-install-recommends", ...packages);
    }
    if (!has()) {
        throw new Error(`could not install ${packages.join(" ")} with apt-get; ${why}`);
    }
}

export function git(cwd: string, ...args: string[]): string {
    return execFileSync("git", ["-c", "user.email=pipeline@delivery.test", "-c", "user.name=pipeline test", "-c", "init.defaultBranch=main", ...args], {
        cwd,
        stdio: ["ignore", "pipe", "pipe"],
    })
        .toString()
        .trim();
}

/**
 * A git repository holding the working tree's files (tracked and untracked, minus ignored), on
 * branch `main`, with a GitLab-looking remote so gitlab-ci-local derives the CI_PROJECT_* and
 * CI_SERVER_* variables as GitLab would. `files` limits what is copied.
 */
export function makeRepo(options: { files?: readonly string[]; linkNodeModules?: boolean } = {}): string {
    const dir = mkdtempSync(join(tmpdir(), "delivery-pipeline-"));
    const listed = options.files ?? git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0").filter(Boolean);
    for (const rel of listed) {
        const from = join(ROOT, rel);
        if (!existsSync(from) || !statSync(from).isFile()) continue;
        mkdirSync(dirname(join(dir, rel)), { recursive: true });
        copyFileSync(from, join(dir, rel));
        chmodSync(join(dir, rel), statSync(from).mode);
    }
    if (options.linkNodeModules) {
        symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
    }
    git(dir, "init", "-q");
    git(dir, "add", "-A");
    git(dir, "commit", "-q", "-m", "working tree of the delivery project");
    // gitlab-ci-local reads the project path from gcl-origin and the default branch from origin/HEAD.
    git(dir, "remote", "add", "gcl-origin", "https://gitlab.example.com/group/app.git");
    git(dir, "remote", "add", "origin", "https://gitlab.example.com/group/app.git");
    git(dir, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main");
    return dir;
}

export function writeFile(dir: string, rel: string, text: string): void {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
}

export function removeDir(dir: string | undefined): void {
    if (dir) rmSync(dir, { recursive: true, force: true });
}

/** One row of `gitlab-ci-local --list-json`. */
export interface ListedJob {
    readonly name: string;
    readonly stage: string;
    readonly when: string;
    readonly allow_failure: boolean | { exit_codes: number | number[] };
    readonly needs?: ReadonlyArray<{ job: string }>;
}

/** Variables and unset variables that make gitlab-ci-local see one kind of GitLab pipeline. */
export interface PipelineKind {
    readonly variables: Record<string, string>;
    readonly unset?: readonly string[];
}

export function pipelineArgs(kind: PipelineKind): string[] {
    const args: string[] = [];
    for (const [k, v] of Object.entries(kind.variables)) args.push("--variable", `${k}=${v}`);
    for (const k of kind.unset ?? []) args.push("--unset-variable", k);
    // Overriding predefined variables is the point of these runs.
    args.push("--ignore-predefined-vars", [...Object.keys(kind.variables)].join(","));
    return args;
}

const slug = (ref: string) =>
    ref
        .replace(/[^a-z0-9]+/gi, "-")
        .replace(/^-/, "")
        .slice(0, 63)
        .replace(/-$/, "")
        .toLowerCase();

/** GitLab's predefined variables for each pipeline source this project's rules tell apart. */
export const PIPELINES = {
    mergeRequest: (ref = "feature/login-form", iid = 7): PipelineKind => ({
        variables: {
            CI_PIPELINE_SOURCE: "merge_request_event",
            CI_MERGE_REQUEST_IID: String(iid),
            CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: ref,
            CI_MERGE_REQUEST_TARGET_BRANCH_NAME: "main",
            CI_COMMIT_REF_NAME: ref,
            CI_COMMIT_REF_SLUG: slug(ref),
            CI_DEFAULT_BRANCH: "main",
        },
        // GitLab sets no CI_COMMIT_BRANCH in merge request pipelines.
        unset: ["CI_COMMIT_BRANCH"],
    }),
    defaultBranch: (): PipelineKind => ({
        variables: { CI_PIPELINE_SOURCE: "push", CI_COMMIT_BRANCH: "main", CI_COMMIT_REF_NAME: "main", CI_COMMIT_REF_SLUG: "main", CI_DEFAULT_BRANCH: "main" },
    }),
    otherBranch: (ref = "feature/login-form"): PipelineKind => ({
        variables: { CI_PIPELINE_SOURCE: "push", CI_COMMIT_BRANCH: ref, CI_COMMIT_REF_NAME: ref, CI_COMMIT_REF_SLUG: slug(ref), CI_DEFAULT_BRANCH: "main" },
    }),
    branchWithOpenMr: (ref = "feature/login-form"): PipelineKind => ({
        variables: {
            CI_PIPELINE_SOURCE: "push",
            CI_COMMIT_BRANCH: ref,
            CI_COMMIT_REF_NAME: ref,
            CI_COMMIT_REF_SLUG: slug(ref),
            CI_DEFAULT_BRANCH: "main",
            CI_OPEN_MERGE_REQUESTS: "group/app!7",
        },
    }),
    tag: (tag = "v1.2.3"): PipelineKind => ({
        variables: { CI_PIPELINE_SOURCE: "push", CI_COMMIT_TAG: tag, CI_COMMIT_REF_NAME: tag, CI_COMMIT_REF_SLUG: slug(tag), CI_DEFAULT_BRANCH: "main" },
        // GitLab sets no CI_COMMIT_BRANCH in tag pipelines.
        unset: ["CI_COMMIT_BRANCH"],
    }),
    schedule: (): PipelineKind => ({
        variables: {
            CI_PIPELINE_SOURCE: "schedule",
            CI_COMMIT_BRANCH: "main",
            CI_COMMIT_REF_NAME: "main",
            CI_COMMIT_REF_SLUG: "main",
            CI_DEFAULT_BRANCH: "main",
        },
    }),
} as const;

/** The job list gitlab-ci-local computes for one kind of pipeline, by job name. */
export async function listJobs(dir: string, kind: PipelineKind): Promise<Map<string, ListedJob>> {
    const res = await gcl(dir, ["--list-json", ...pipelineArgs(kind)], { timeoutMs: 120_000 });
    if (res.code !== 0) {
        throw new Error(`gitlab-ci-local --list-json failed (${res.code}):\n${res.output}`);
    }
    const json = res.stdout.slice(res.stdout.indexOf("["));
    const rows = JSON.parse(json) as ListedJob[];
    return new Map(rows.map((r) => [r.name, r]));
}
