import { execFileSync, spawn } from "node:child_process";
import { request } from "node:http";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { Project, ROOT, StackConfig, ensureEnvironment, envValue, localConfig, useStacks } from "../support/workspace";

/**
 * Helpers of the Kubernetes end-to-end tests: the local control plane of `scripts/k8s`
 * (a real API server, controller manager and scheduler), its two nodes (kwok-node-0, where
 * kwok plays the kubelet and every stack lands by default; real-node-0, a kubelet with
 * containerd, tainted, for stacks with nodeSelector REAL_NODE_SELECTOR), kubectl run from
 * the test, and stack settings for the kubernetes target.
 */

/** The node with a real kubelet and runtime (scripts/k8s). */
export const REAL_NODE = "real-node-0";
/** delivery:nodeSelector of a stack on the real node (its label and NoSchedule taint). */
export const REAL_NODE_SELECTOR = { "delivery.dev/pool": "real" } as const;
/** Pod addresses on the real node: the bridge delivery0, 10.245.0.0/24. */
export const REAL_POD_CIDR_PREFIX = "10.245.0.";

export interface Cluster {
    /** The admin kubeconfig `scripts/k8s start` writes. */
    readonly kubeconfig: string;
    /** The kubectl built with the control plane. */
    readonly kubectlPath: string;
    /** $DELIVERY_RUN_DIR of the local services (registry password, k8s data). */
    readonly runDir: string;
}

/**
 * Starts (or finds) the engine, the local services and the control plane. Every step is
 * idempotent; any of them failing throws, so the suite fails instead of skipping.
 */
export function ensureCluster(): Cluster {
    ensureEnvironment();
    execFileSync(join(ROOT, "scripts", "k8s"), ["start"], { stdio: "inherit" });
    const exports = execFileSync(join(ROOT, "scripts", "k8s"), ["env"]).toString();
    const kubeconfig = /^export KUBECONFIG=(.+)$/m.exec(exports)?.[1];
    const binDir = /^export PATH=(.+):\$PATH$/m.exec(exports)?.[1];
    if (!kubeconfig || !binDir) {
        throw new Error(`scripts/k8s env printed no KUBECONFIG/PATH:\n${exports}`);
    }
    const cluster = { kubeconfig, kubectlPath: join(binDir, "kubectl"), runDir: envValue("DELIVERY_RUN_DIR") };
    // The API server answers and the fake node is Ready: pods can be scheduled.
    kubectlIn(cluster, "get", "--raw", "/readyz");
    kubectlIn(cluster, "wait", "--for=condition=Ready", "node/kwok-node-0", "--timeout=60s");
    kubectlIn(cluster, "wait", "--for=condition=Ready", `node/${REAL_NODE}`, "--timeout=60s");
    return cluster;
}

/** Runs `scripts/k8s start` in the background: its exit code and everything it printed. */
export function k8sStart(): Promise<{ code: number | null; log: string }> {
    return new Promise((resolve) => {
        const child = spawn(join(ROOT, "scripts", "k8s"), ["start"], { stdio: ["ignore", "pipe", "pipe"] });
        let log = "";
        child.stdout.on("data", (d: Buffer) => (log += d.toString()));
        child.stderr.on("data", (d: Buffer) => (log += d.toString()));
        child.on("close", (code) => resolve({ code, log }));
    });
}

let current: Cluster | undefined;

/** ensureCluster() once per test file; kubectl() uses it. */
export function useCluster(): Cluster {
    current = ensureCluster();
    return current;
}

function kubectlIn(cluster: Cluster, ...args: string[]): string {
    try {
        return execFileSync(cluster.kubectlPath, ["--kubeconfig", cluster.kubeconfig, ...args], { stdio: ["ignore", "pipe", "pipe"] }).toString();
    } catch (e) {
        const err = e as { stderr?: Buffer; message: string };
        throw new Error(`kubectl ${args.join(" ")} failed: ${err.stderr?.toString().trim() || err.message}`);
    }
}

/** Runs kubectl against the local cluster (after useCluster()). Throws with its stderr. */
export function kubectl(...args: string[]): string {
    if (!current) {
        throw new Error("kubectl() before useCluster()");
    }
    return kubectlIn(current, ...args);
}

export type Json = any;

/**
 * GET over a new connection (no keep-alive: a kept connection would stay on one pod after
 * kube-proxy moved the Service), within 5 s; the body parsed when it is JSON.
 */
export function serviceGet(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
        const req = request(url, { agent: false, timeout: 5000, headers: { connection: "close" } }, (res) => {
            let text = "";
            res.setEncoding("utf8");
            res.on("data", (chunk: string) => (text += chunk));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text.startsWith("{") ? JSON.parse(text) : { text } }));
            res.on("error", reject);
        });
        req.on("timeout", () => req.destroy(new Error(`GET ${url}: no answer within 5s`)));
        req.on("error", (e) => reject(new Error(`GET ${url}: ${e.message}`)));
        req.end();
    });
}

/**
 * GETs url (a Service's ClusterIP) until this release answers it with 200, or fails after
 * timeoutMs naming the last answer. kube-proxy rewrites its rules for a Service's endpoints a
 * moment after they change, and `pulumi up` ends when the pods are ready, not when kube-proxy
 * has caught up: a GET right after it can still go to a pod that is gone (a kwok pod's address
 * leaves this machine, and its gateway answers 404).
 */
export function serviceAnswer(url: string, releaseId: string, timeoutMs = 30_000): Promise<{ status: number; body: Record<string, unknown> }> {
    return waitFor(
        `release ${releaseId} to answer GET ${url}`,
        async () => {
            const answer = await serviceGet(url);
            if (answer.status !== 200 || answer.body.release_id !== releaseId) {
                throw new Error(`last answer HTTP ${answer.status} ${JSON.stringify(answer.body)}`);
            }
            return answer;
        },
        timeoutMs,
    );
}

/** `kubectl get ... -o json`, parsed. */
export function kubectlJson(...args: string[]): Json {
    return JSON.parse(kubectl("get", ...args, "-o", "json"));
}

/** Whether an object exists (kubectl get answers NotFound otherwise). */
export function exists(...args: string[]): boolean {
    try {
        kubectl("get", ...args);
        return true;
    } catch (e) {
        if (/NotFound|not found/.test((e as Error).message)) {
            return false;
        }
        throw e;
    }
}

/** The ReplicaSets of a Deployment's pods in a namespace, newest revision last. */
export function replicaSets(namespace: string, selector: string): Json[] {
    const list = kubectlJson("replicasets", "-n", namespace, "-l", selector);
    const revision = (rs: Json) => Number(rs.metadata.annotations?.["deployment.kubernetes.io/revision"] ?? 0);
    return (list.items as Json[]).sort((a, b) => revision(a) - revision(b));
}

/** Polls until `check` returns (or resolves to) a value other than undefined, or throws what it last saw. */
export async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000, everyMs = 500): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
        try {
            const value = await check();
            if (value !== undefined) {
                return value;
            }
        } catch (e) {
            last = e;
        }
        if (Date.now() > deadline) {
            throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
        }
        await new Promise((r) => setTimeout(r, everyMs));
    }
}

/**
 * Settings of a stack on the kubernetes target: the e2e registry settings without the
 * docker-only keys, its own namespace and the local cluster's kubeconfig.
 */
export function k8sConfig(
    project: Project,
    cluster: Cluster,
    namespace: string,
    extra: Record<string, string | { value: string; secret: true }> = {},
): Record<string, string | { value: string; secret: true }> {
    const base: Record<string, string | { value: string; secret: true }> = localConfig(project, 0);
    delete base.hostPort;
    delete base.healthTimeoutSeconds;
    return {
        ...base,
        appName: "web",
        target: "kubernetes",
        namespace,
        kubeconfig: cluster.kubeconfig,
        replicas: "2",
        ...extra,
    };
}

/** The password of the htpasswd registry on 127.0.0.1:5001 (user `delivery`). */
export function authRegistryPassword(cluster: Cluster): string {
    return readFileSync(join(cluster.runDir, "registry-auth", "password"), "utf8").trim();
}

/**
 * Deletes namespaces an earlier, interrupted run left behind, and waits until they are
 * gone: a namespace still Terminating cannot be created again.
 */
export function resetNamespaces(...names: string[]): void {
    for (const ns of names) {
        kubectl("delete", "namespace", ns, "--ignore-not-found", "--wait=true", "--timeout=120s");
    }
}

/**
 * One stack on the kubernetes target in namespace `ns` (see useStacks): beforeAll finds the
 * cluster, runs `setup` with it, resets the namespace and makes the stack with k8sConfig and
 * `settings`; afterAll destroys it (a failed destroy fails the run) and checks the namespace is gone.
 */
export function useK8sStack(name: string, ns: string, settings: () => StackConfig, setup?: (cluster: Cluster) => void) {
    let cluster: Cluster;
    return useStacks((project) => ({ stack: [name, k8sConfig(project, cluster, ns, settings())] }), {
        setup: () => {
            cluster = useCluster();
            setup?.(cluster);
            resetNamespaces(ns);
        },
        afterDestroy: () => expect(exists("namespace", ns)).toBe(false),
    });
}
