import * as pulumi from "@pulumi/pulumi";
import { appendEntry } from "../../components/release/ledger";
import { packEntries } from "../../components/release/releaseLedger";
import { createHash } from "node:crypto";
import { afterAll, afterEach, beforeAll, beforeEach, vi } from "vitest";

/**
 * Runs components or the whole program under `pulumi.runtime.setMocks`, recording every
 * resource registration with its inputs exactly as the engine would receive them
 * (secret inputs keep their secret wrapper, so tests can tell a secret from plain text).
 */

export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const SIG_KEY = "4dabf18193072939515e22adb298388d";

export interface Recorded {
    readonly type: string;
    readonly name: string;
    readonly inputs: Record<string, any>;
    readonly custom: boolean;
}

export function isSecretValue(v: unknown): boolean {
    return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** Inputs with secret wrappers removed, for assertions on values. */
export function plain(v: any): any {
    if (isSecretValue(v)) {
        return plain(v.value);
    }
    if (Array.isArray(v)) {
        return v.map(plain);
    }
    if (v && typeof v === "object") {
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
    }
    return v;
}

/** The result the mocks give a ReleaseVerification: passed when every check passed, at a fixed time. */
export const mockVerification = (checks: Array<{ name: string; passed: boolean; detail: string }>) => ({
    status: checks.every((c) => c.passed) ? "passed" : "failed",
    at: "2026-11-26T00:00:01.000Z",
    checks,
    durationMs: 5,
});

/** The release key the mocks give a stack's ReleaseKey. */
export const releaseKeyOf = (stack: string) => createHash("sha256").update(`release-key:${stack}`).digest("hex");

/** One frame of the Docker Engine API's multiplexed log stream: stream byte, 3 zero bytes, big-endian length, the text. */
export function dockerStreamFrame(stream: number, text: string): Buffer {
    const body = Buffer.from(text);
    const head = Buffer.alloc(8);
    head[0] = stream;
    head.writeUInt32BE(body.length, 4);
    return Buffer.concat([head, body]);
}

export const fakeDigest = (seed: string) => `sha256:${createHash("sha256").update(seed).digest("hex")}`;

export interface MockOptions {
    readonly stack?: string;
    /** Stack config as the engine hands it to the program (`delivery:key` -> string). */
    readonly config?: Record<string, string>;
    readonly secretKeys?: string[];
    readonly preview?: boolean;
    /** Stack outputs by fully qualified stack name, for StackReferences. */
    readonly stackOutputs?: Record<string, Record<string, unknown>>;
    /** More state for a dynamic resource, as its provider's create would return it (by engine type). */
    readonly dynamicState?: (type: string, inputs: Record<string, any>) => Record<string, any> | undefined;
}

export class Recorder {
    readonly resources: Recorded[] = [];
    /** The tokens of invokes no mock answers (each also fails). */
    readonly calls: string[] = [];

    ofType(type: string): Recorded[] {
        return this.resources.filter((r) => r.type === type);
    }

    one(type: string): Recorded {
        const found = this.ofType(type);
        if (found.length !== 1) {
            throw new Error(`expected exactly one ${type}, found ${found.length}: ${this.resources.map((r) => `${r.type}/${r.name}`).join(", ")}`);
        }
        return found[0];
    }

    /** One resource by its name (unique in these tests), whatever its type: `pulumi-nodejs:dynamic/<folder>:<Type>` for our dynamic resources. */
    named(name: string): Recorded {
        const found = this.resources.find((r) => r.name === name);
        if (!found) {
            throw new Error(`no resource named ${name}: ${this.resources.map((r) => `${r.type}/${r.name}`).join(", ")}`);
        }
        return found;
    }
}

/**
 * The status the Kubernetes provider returns once its await logic is satisfied: a Deployment's
 * create or update ends when its rollout is complete, every replica updated, ready and available;
 * a Job's when it has succeeded (pulumi-kubernetes' "await logic": https://www.pulumi.com/registry/packages/kubernetes/api-docs/apps/v1/deployment/,
 * .../batch/v1/job/; the fields are DeploymentStatus and JobStatus,
 * https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/deployment-v1/#DeploymentStatus,
 * .../job-v1/#JobStatus). The failed-rollout branches are covered by the k8s level, against a real
 * control plane (test/k8s/deployment.test.ts, realNode.test.ts), not here.
 */
function awaitedStatus(type: string, inputs: Record<string, any>): { status?: Record<string, unknown> } {
    switch (type) {
        case "kubernetes:apps/v1:Deployment": {
            const replicas = inputs.spec?.replicas ?? 1;
            return { status: { observedGeneration: 1, replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas } };
        }
        case "kubernetes:batch/v1:Job":
            return { status: { succeeded: 1, failed: 0 } };
        default:
            return {};
    }
}

/**
 * The unit tests' stand-in for the SDK's closure serializer, installed with the mocks. A dynamic
 * resource carries its provider as the text the engine stores (`__provider`); making it walks the
 * provider's functions through V8's inspector and parses each with TypeScript: a quarter of this
 * suite's CPU (measured: 36.8 -> 26.1 CPU-s, 22.1 -> 16.9 s wall), for a text that is not even the
 * program's, since under vitest the modules run through its transform, not loader.js. The real
 * texts are made and checked where the program makes them, in a process of their own through
 * loader.js (test/process/serialized.test.ts, test/gitlab/serialization.test.ts: self-contained, no
 * token, URL or path captured, and run from the text), and by the engine runs of the other levels
 * (at the GitLab and k8s levels and for the Heroku e2e stacks the provider cache checks each cached
 * text against a fresh one; test/gitlab/e2e.test.ts checks that no text is stored as a secret). The
 * stand-in's text names the provider object it was given (providerOf), so a test can tell which
 * provider a resource runs.
 */
const providerTexts = new Map<unknown, string>();
const providersByText = new Map<string, unknown>();

function serializeProvider(func: () => unknown): Promise<pulumi.runtime.SerializedFunction> {
    const provider = func();
    let text = providerTexts.get(provider);
    if (text === undefined) {
        text = `// test/unit/harness.ts: provider #${providerTexts.size + 1}; its real text is made in a process of its own`;
        providerTexts.set(provider, text);
        providersByText.set(text, provider);
    }
    return Promise.resolve({ text, exportName: "handler", containsSecrets: false });
}

/** The provider object a dynamic resource's `__provider` text was made from (see serializeProvider). */
export function providerOf(text: unknown): unknown {
    if (typeof text !== "string" || !providersByText.has(text)) {
        throw new Error(`not a provider text of this harness: ${String(text).slice(0, 80)}`);
    }
    return providersByText.get(text);
}

export function installMocks(opts: MockOptions = {}): Recorder {
    const recorder = new Recorder();
    // The same object in every file of a worker (isolate: false): the SDK's runtime module.
    Object.assign(pulumi.runtime, { serializeFunction: serializeProvider });
    pulumi.runtime.setAllConfig(opts.config ?? {}, opts.secretKeys ?? []);
    pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, any> } {
                recorder.resources.push({ type: args.type, name: args.name, inputs: args.inputs, custom: args.custom ?? true });
                const inputs = plain(args.inputs);
                if ("__provider" in inputs) {
                    // A dynamic provider's resource: its serialized provider travels as an input.
                    return {
                        id: `${args.name}-id`,
                        state: {
                            ...inputs,
                            createdAt: "2026-11-26T00:00:00.000Z",
                            containerId: "c0ffee",
                            containerName: `${inputs.name}-live`,
                            digest: inputs.digest,
                            // ReleaseKey: random per stack in the real provider; derived from the stack here.
                            key: releaseKeyOf(opts.stack ?? "dev"),
                            // ReleaseLedger: its provider's create numbers the candidate v1.
                            ...(args.type === "pulumi-nodejs:dynamic/release:ReleaseLedger"
                                ? { entriesJson: packEntries(appendEntry([], inputs.candidate, "2026-11-26T00:00:00.000Z")), ledgerId: "1edge7" }
                                : {}),
                            // ReleaseVerification: its provider's create records a passed result of the checks it was given.
                            ...(args.type === "pulumi-nodejs:dynamic/release:ReleaseVerification"
                                ? {
                                      result: mockVerification(
                                          inputs.observed ?? [{ name: "health", passed: true, detail: `GET ${inputs.healthPath} answered 200` }],
                                      ),
                                  }
                                : {}),
                            ...opts.dynamicState?.(args.type, inputs),
                        },
                    };
                }
                switch (args.type) {
                    case "docker-build:index:Image": {
                        const digest = fakeDigest(JSON.stringify(inputs.tags));
                        return { id: `${args.name}-id`, state: { ...inputs, digest, ref: `${inputs.tags[0]}@${digest}`, contextHash: "ctx" } };
                    }
                    case "pulumi:pulumi:StackReference": {
                        const outputs = opts.stackOutputs?.[inputs.name];
                        if (!outputs) {
                            throw new Error(`unknown stack ${inputs.name}`);
                        }
                        return { id: inputs.name, state: { name: inputs.name, outputs, secretOutputNames: [] } };
                    }
                    default: {
                        const metadata = inputs.metadata ? { ...inputs.metadata, name: inputs.metadata.name ?? `${args.name}-x` } : undefined;
                        return { id: `${args.name}-id`, state: { ...inputs, ...(metadata ? { metadata } : {}), ...awaitedStatus(args.type, inputs) } };
                    }
                }
            },
            call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
                if (args.token === "pulumi:pulumi:readStackOutputs") {
                    // The engine's builtin provider: a stack the backend lacks fails the invoke.
                    const outputs = opts.stackOutputs?.[args.inputs.name];
                    if (!outputs) {
                        // As a gRPC error: the SDK rethrows its `details`.
                        const message = `invocation of pulumi:pulumi:readStackOutputs returned an error: unknown stack "${args.inputs.name}"`;
                        throw Object.assign(new Error(message), { details: message });
                    }
                    return { name: args.inputs.name, outputs, secretOutputNames: [] };
                }
                recorder.calls.push(args.token);
                throw new Error(`unmocked call ${args.token}`);
            },
        },
        "delivery",
        opts.stack ?? "dev",
        opts.preview ?? false,
        "organization",
    );
    return recorder;
}

/** Resolves an Output's value (undefined while unknown). */
export function valueOf<T>(o: pulumi.Input<T> | undefined): Promise<T> {
    return new Promise((resolve) => pulumi.output(o).apply((v) => resolve(v as T)));
}

/** Whether an Output is secret. */
export async function secretOf(o: pulumi.Output<unknown>): Promise<boolean> {
    return pulumi.isSecret(o);
}

/**
 * The SDK's own wait for its RPC queue to drain: what a real program's run awaits before it
 * exits (`runInPulumiStack`), so a registration it does not cover would be lost in a real
 * deployment too. Internal to the SDK (not in its typings); a version without it fails here.
 */
const waitForRPCs: () => Promise<void> = (() => {
    const f = (pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> }).waitForRPCs;
    if (typeof f !== "function") {
        throw new Error("@pulumi/pulumi no longer has runtime.waitForRPCs: settle() needs another way to see pending registrations");
    }
    return f;
})();

/** One turn of the event loop: every microtask queued so far (an apply's callback, a mock's answer) has run. */
const turn = () => new Promise<void>((r) => setImmediate(r));

/**
 * Lets pending registrations finish: components register children asynchronously (in applies,
 * after their parent's outputs resolve). Each round waits for every RPC begun so far, then one
 * event-loop turn for the callbacks those RPCs' results release; it ends after two rounds in a
 * row record nothing new. The mocks answer without I/O or timers, so no real time has to pass
 * (a fixed 20 ms poll cost 40 ms or more per call).
 */
export async function settle(recorder: Recorder): Promise<void> {
    let last = -1;
    let quiet = 0;
    for (let i = 0; i < 1000 && quiet < 2; i++) {
        await waitForRPCs();
        await turn();
        quiet = recorder.resources.length === last ? quiet + 1 : 0;
        last = recorder.resources.length;
    }
}

/**
 * A fake clock for code that waits on real time (polls, backoffs, deadlines): `setTimeout` and
 * `Date` are faked, and whenever a turn of the event loop passes the clock jumps to the next
 * timer (vitest's "nextTimerAsync" tick mode). Real I/O still runs at its own pace; a timer
 * pending while a request is in flight fires early, so it suits waits that run one at a time
 * (poll, await the answer, sleep), not a timeout racing a request.
 *
 * fetch's own timers (undici's 500 ms tick driving its connect, header and body timeouts) hang
 * off one timer the process makes once; a fetch before the fake clock (one refused connection)
 * makes it a real one, so undici keeps real time and its timers keep working after this test.
 */
async function fakeClock(): Promise<void> {
    await fetch("http://127.0.0.1:1/").catch(() => undefined);
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    vi.setTimerTickMode("nextTimerAsync");
}

/** Runs `body` on the fake clock (see fakeClock), real timers again afterwards. */
export async function onFakeClock<T>(body: () => Promise<T>): Promise<T> {
    await fakeClock();
    try {
        return await body();
    } finally {
        vi.useRealTimers();
    }
}

/** The fake clock (see fakeClock) for every test of a describe block. */
export function useFakeClock(): void {
    beforeEach(fakeClock);
    afterEach(() => {
        vi.useRealTimers();
    });
}

export const SHA = "0123456789abcdef0123456789abcdef01234567";

/**
 * Fresh mocks for every test of a describe block; after each test, in-flight
 * registrations finish before the next test replaces the mock monitor.
 */
export function useMocks(opts: MockOptions | (() => MockOptions) = {}): () => Recorder {
    let rec: Recorder;
    beforeEach(() => {
        rec = installMocks(typeof opts === "function" ? opts() : opts);
    });
    afterEach(async () => {
        // settle's last rounds waited for every RPC begun: nothing is in flight when the next test installs its mocks.
        await settle(rec);
    });
    return () => rec;
}

/** The arguments both targets take alike: app "app" at `stack` running `image` as `releaseId`, GREETING=hi and a secret SECRET_KEY, port 8080, /healthz. */
export function targetArgs(stack: string, image: string, releaseId: string, secretKey: string) {
    return {
        appName: "app",
        stack,
        image,
        releaseId,
        commitSha: SHA,
        env: { GREETING: "hi" },
        secretEnv: pulumi.secret({ SECRET_KEY: secretKey }),
        containerPort: 8080,
        healthPath: "/healthz",
    };
}

/** targetArgs and what the Kubernetes target needs besides: namespace, config hash, two replicas, resources, a pull secret. */
export function kubernetesTargetArgs(stack: string, image: string, releaseId: string, secretKey: string) {
    return {
        ...targetArgs(stack, image, releaseId, secretKey),
        namespace: stack,
        configHash: "sha256:abc",
        replicas: 2,
        resources: { cpuRequest: "50m", cpuLimit: "500m", memoryRequest: "64Mi", memoryLimit: "256Mi" },
        dockerConfigJson: pulumi.secret('{"auths":{}}'),
    };
}

/**
 * Inside a GitLab job (or gitlab-ci-local) the CI variables the program reads are predefined: a
 * file that runs stack files through the program unsets them all, sets the commit, ref and
 * registry a default-branch job would have, and puts everything back afterwards.
 */
export function useCiEnvironment(): void {
    const names = [
        "CI_COMMIT_SHA",
        "CI_COMMIT_REF_NAME",
        "CI_COMMIT_TAG",
        "CI_REGISTRY",
        "CI_REGISTRY_USER",
        "CI_REGISTRY_PASSWORD",
        "CI_SERVER_URL",
        "CI_PROJECT_ID",
        "GITLAB_TOKEN",
        "PROMOTE_UNVERIFIED",
    ];
    const saved: Record<string, string | undefined> = {};
    beforeAll(() => {
        for (const k of names) {
            saved[k] = process.env[k];
            delete process.env[k];
        }
        process.env.CI_COMMIT_SHA = SHA;
        process.env.CI_COMMIT_REF_NAME = "main";
        process.env.CI_REGISTRY = "127.0.0.1:5000";
    });
    afterAll(() => {
        for (const k of names) {
            if (saved[k] === undefined) {
                delete process.env[k];
            } else {
                process.env[k] = saved[k];
            }
        }
    });
}
