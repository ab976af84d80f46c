import { ConfigMap, LocalWorkspace, LocalWorkspaceOptions, OutputMap, Stack, StackAlreadyExistsError } from "@pulumi/pulumi/automation";
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "node:net";
import { promisify } from "node:util";
import { engineCommand } from "../../cli/engineCommand";

/**
 * What the e2e levels and the benchmarks (plain scripts, outside vitest) share: a throw-away copy of the project, with its own file:// backend, driven by the
 * Automation API against the real engine, Docker engine and registry.
 */

export const ROOT = join(__dirname, "..", "..");
// The dev stack file carries the salt of its documented, non-secret passphrase.
export const PASSPHRASE = "delivery-dev";

/** What `scripts/env.sh` sets, read in a shell of its own. */
export function envValue(name: string): string {
    return execFileSync("bash", ["-c", `source "${ROOT}/scripts/env.sh" && printf %s "$${name}"`]).toString();
}

/** Starts (or finds) the engine and local services. Throws, never skips, when they cannot start. */
export function ensureEnvironment(...parts: string[]): void {
    execFileSync(join(ROOT, "scripts", "bootstrap"), [], { stdio: "inherit" });
    execFileSync(join(ROOT, "scripts", "services"), ["start", ...parts], { stdio: "inherit" });
}

/** A stack's settings: plain values, or secret ones. Keys without a namespace are `delivery:` ones. */
export type StackConfig = Record<string, string | { value: string; secret: true }>;

export class Project {
    readonly dir: string;
    readonly backend: string;
    /** A repository per project copy, so that runs never see each other's tags. */
    readonly repository = `e2e/${randomBytes(4).toString("hex")}/app`;

    constructor() {
        this.dir = mkdtempSync(join(tmpdir(), "delivery-e2e-"));
        for (const item of [
            "Pulumi.yaml",
            "Pulumi.dev.yaml",
            "entry.js",
            "loader.js",
            "defer-sdk.js",
            "index.ts",
            "program.ts",
            "tsconfig.json",
            "package.json",
            "components",
            "policy",
            "app",
        ]) {
            cpSync(join(ROOT, item), join(this.dir, item), { recursive: true });
        }
        symlinkSync(join(ROOT, "node_modules"), join(this.dir, "node_modules"));
        this.backend = `file://${join(this.dir, ".state")}`;
        execFileSync("mkdir", ["-p", join(this.dir, ".state")]);
        // A git checkout of its own gives the program a commit SHA, as in a real clone.
        this.git("init", "-q");
        this.commit("initial");
    }

    git(...args: string[]): string {
        return execFileSync("git", ["-c", "user.email=e2e@delivery.local", "-c", "user.name=e2e", ...args], { cwd: this.dir })
            .toString()
            .trim();
    }

    commit(message: string): string {
        this.git("add", "-A");
        this.git("commit", "-q", "--allow-empty", "-m", message);
        return this.git("rev-parse", "HEAD");
    }

    /** Rewrites app/app.py and commits it: a new build. */
    changeApp(edit: (source: string) => string, message = "app change"): string {
        const file = join(this.dir, "app", "app.py");
        writeFileSync(file, edit(readFileSync(file, "utf8")));
        return this.commit(message);
    }

    async stack(name: string, config: StackConfig): Promise<Stack> {
        const args = { stackName: name, workDir: this.dir };
        const options: LocalWorkspaceOptions = {
            envVars: {
                PULUMI_BACKEND_URL: this.backend,
                PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
                PULUMI_SKIP_UPDATE_CHECK: "true",
                PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            },
            secretsProvider: "passphrase",
            pulumiCommand: await engineCommand(),
        };
        // Most stacks are new in a new copy: `stack init` first, not createOrSelectStack's
        // `stack select` that fails and then `stack init` (one CLI run less per stack).
        const stack = await LocalWorkspace.createStack(args, options).catch((e: unknown) => {
            if (e instanceof StackAlreadyExistsError) {
                return LocalWorkspace.selectStack(args, options);
            }
            throw e;
        });
        const map: ConfigMap = {};
        for (const [k, v] of Object.entries(config)) {
            map[k.includes(":") ? k : `delivery:${k}`] = typeof v === "string" ? { value: v } : { value: v.value, secret: true };
        }
        await stack.setAllConfig(map);
        return stack;
    }

    /** Runs the `delivery` command (scripts/delivery, as `npx delivery` runs it) on this copy; never throws, the exit code is returned. */
    async delivery(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
        return this.deliveryWith({}, ...args);
    }

    /** `delivery` with more environment (PROMOTE_UNVERIFIED, CI_* variables). */
    async deliveryWith(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
        try {
            const { stdout, stderr } = await promisify(execFile)(join(ROOT, "scripts", "delivery"), ["-C", this.dir, ...args], {
                env: { ...process.env, PULUMI_BACKEND_URL: this.backend, PULUMI_CONFIG_PASSPHRASE: PASSPHRASE, ...env },
                maxBuffer: 64 * 1024 * 1024,
            });
            return { code: 0, stdout, stderr };
        } catch (e) {
            const err = e as { code?: number; stdout?: string; stderr?: string };
            return { code: typeof err.code === "number" ? err.code : -1, stdout: err.stdout ?? "", stderr: err.stderr ?? "" };
        }
    }

    cleanup(): void {
        rmSync(this.dir, { recursive: true, force: true });
    }
}

/** Settings every e2e stack shares: the local registry and the offline base image. */
export function localConfig(project: Project, hostPort: number, extra: StackConfig = {}) {
    return {
        // A name of its own: container names and slot labels must not meet a real dev stack's.
        appName: `e2e-${hostPort}`,
        registryServer: "127.0.0.1:5000",
        registryInsecure: "true",
        registryRepository: project.repository,
        target: "docker",
        hostPort: String(hostPort),
        healthTimeoutSeconds: "30",
        // The proxy swap's watch window and drain (defaults 15 s and 10 s) kept short: every swap
        // of every e2e stack waits them out.
        watchSeconds: "2",
        drainSeconds: "1",
        ...extra,
    };
}

export function outputValue<T>(outputs: OutputMap, key: string): T {
    const o = outputs[key];
    if (!o) {
        throw new Error(`stack has no output ${key}`);
    }
    return o.value as T;
}

export interface ReleaseOutput {
    imageRef: string;
    digest: string;
    commitSha: string;
    releaseId: string;
    configHash: string;
    createdAt: string;
    origin: string;
    number: number;
    version: string;
}

/** GETs the app and returns its JSON answer, failing with the status otherwise. */
export async function getApp(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    return { status: res.status, body: text.startsWith("{") ? JSON.parse(text) : { text } };
}

/** The digest a registry reports for a tag (a HEAD on the manifest). */
export async function registryDigest(server: string, repository: string, tag: string): Promise<string | null> {
    const res = await fetch(`http://${server}/v2/${repository}/manifests/${tag}`, {
        method: "HEAD",
        headers: {
            accept: "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
        },
    });
    return res.ok ? res.headers.get("docker-content-digest") : null;
}

/** Containers of one docker-target slot (any role), via the Docker CLI. */
export function slotContainers(slot: string): string[] {
    const out = execFileSync("docker", ["ps", "-a", "--filter", `label=delivery.slot=${slot}`, "--format", "{{.ID}} {{.Names}} {{.Status}}"])
        .toString()
        .trim();
    return out ? out.split("\n") : [];
}

/** Resource types in a stack's current state. */
export async function resourceTypes(stack: Stack): Promise<string[]> {
    const state = await stack.exportStack();
    return ((state.deployment.resources ?? []) as Array<{ type: string }>).map((r) => r.type);
}

/** A TCP port on 127.0.0.1 nothing listens on now (the kernel picks it). */
export async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = createServer();
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const { port } = srv.address() as { port: number };
            srv.close(() => resolve(port));
        });
    });
}
