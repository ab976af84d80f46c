import * as pulumi from "@pulumi/pulumi";
import { parsePinnedRef, splitRepository } from "../refs";
import { MANIFEST_TYPES, authorizedFetch } from "../registry/registryTag";
import { DynamicResource } from "../dynamicResource";

/**
 * Whether the credentials of a Kubernetes image pull secret can pull the release's image: a
 * HEAD on its manifest with exactly what the secret holds. Pods pulling with refused
 * credentials end in ImagePullBackOff and the rollout only times out, with the registry's 401
 * deep in a pod event; this names the setting that fixes it instead.
 */

export interface PullCheckInputs {
    /** The digest-pinned image the pods run. @example "127.0.0.1:5001/delivery/app@sha256:…" */
    readonly imageRef: string;
    /** Secret: the pull secret's `.dockerconfigjson`. */
    readonly dockerConfigJson: string;
    /** Plain HTTP (a loopback registry only). */
    readonly insecure: boolean;
    /** What fixes refused credentials, ending the error message. @example "pulumi config set --secret delivery:registryPassword <password> --stack staging" */
    readonly fix: string;
    /**
     * Seconds the check waits before it fails the update, so that the Deployment, which becomes
     * ready to apply at the same moment, is applied and awaited to its own end, its pods showing
     * the refusal (ImagePullBackOff) beside this message. @default 0
     */
    readonly graceSeconds?: number;
}

/**
 * How long the check asks the registry (challenge, token service and manifest together). A
 * registry that takes the connection and never answers would otherwise hold the update for
 * fetch's own limits (5 minutes per request): past this, the pods' own pull decides.
 */
export const PULL_CHECK_TIMEOUT_MS = 10_000;

/** The refusal, or undefined when the registry serves the manifest (or cannot be asked from here in timeoutMs). */
export async function pullRefusal(inputs: PullCheckInputs, timeoutMs: number = PULL_CHECK_TIMEOUT_MS): Promise<string | undefined> {
    const pinned = parsePinnedRef(inputs.imageRef);
    if (pinned === undefined) {
        return undefined;
    }
    const { server, path: repository } = splitRepository(pinned.repository);
    const digest = pinned.digest;
    let auth: { username?: string; password?: string; auth?: string } = {};
    try {
        auth = (JSON.parse(inputs.dockerConfigJson) as { auths?: Record<string, typeof auth> }).auths?.[server] ?? {};
    } catch {
        return undefined;
    }
    if (auth.username === undefined && auth.auth) {
        const [username, ...rest] = Buffer.from(auth.auth, "base64").toString().split(":");
        auth = { username, password: rest.join(":") };
    }
    const url = `${inputs.insecure ? "http" : "https"}://${server}/v2/${repository}/manifests/${digest}`;
    let status: number;
    // The signal ends the manifest requests; the race also ends a hung token request (authorizedFetch's own).
    const signal = AbortSignal.timeout(timeoutMs);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
        const asked = (async () => {
            const res = await authorizedFetch(url, { method: "HEAD", headers: { accept: MANIFEST_TYPES }, signal }, auth, `repository:${repository}:pull`, {});
            await res.arrayBuffer();
            return res.status;
        })();
        asked.catch(() => undefined); // a late failure after the timeout is not unhandled
        status = await Promise.race([asked, timedOut]);
    } catch (e) {
        const message = (e as Error).message;
        // No credentials where the registry wants some, or a token service that refused them.
        if (/requires authentication|refused the credentials/.test(message)) {
            return `registry ${server} refused the image pull secret (${auth.username === undefined ? "no credentials" : `user ${auth.username}`}): ${message}`;
        }
        return undefined; // not reachable from here, or no answer in time: the pods' own pull decides
    } finally {
        clearTimeout(timer);
    }
    if (status === 401 || status === 403) {
        return `registry ${server} refused the image pull secret's credentials (user ${auth.username ?? "none"}, HTTP ${status} on ${repository}@${digest})`;
    }
    return undefined;
}

/** Fails with the refusal and the fix, after the grace; passes otherwise. */
export async function checkPull(inputs: PullCheckInputs): Promise<void> {
    const refusal = await pullRefusal(inputs);
    if (refusal !== undefined) {
        await new Promise((r) => setTimeout(r, (inputs.graceSeconds ?? 0) * 1000));
        throw new Error(`${refusal}: the pods cannot pull the image (ImagePullBackOff). Fix: ${inputs.fix}`);
    }
}

export const pullCheckProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: PullCheckInputs) {
        await checkPull(inputs);
        return { id: inputs.imageRef, outs: { ...inputs } };
    },
    async diff(_id: string, olds: PullCheckInputs, news: PullCheckInputs) {
        const changes = olds.imageRef !== news.imageRef || olds.dockerConfigJson !== news.dockerConfigJson || olds.insecure !== news.insecure;
        return { changes, replaces: [], deleteBeforeReplace: false };
    },
    async update(_id: string, _olds: PullCheckInputs, news: PullCheckInputs) {
        await checkPull(news);
        return { outs: { ...news } };
    },
    async delete() {},
};

export class PullCheck extends DynamicResource {
    constructor(name: string, args: { [K in keyof PullCheckInputs]: pulumi.Input<PullCheckInputs[K]> }, opts?: pulumi.CustomResourceOptions) {
        super(pullCheckProvider, name, { ...args, dockerConfigJson: pulumi.secret(args.dockerConfigJson) }, opts, "targets", "PullCheck");
    }
}
