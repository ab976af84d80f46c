import * as pulumi from "@pulumi/pulumi";
import { ArgsOf } from "../dynamicArgs";
import { runtimeEnv } from "./runtimeEnv";
import {
    VerificationCheck,
    VerificationResult,
    commandCheck,
    failureMessage,
    healthCheck,
    outputTail,
    releaseIdCheck,
    verificationResult,
} from "./verificationResult";
import { runOneOff } from "../targets/oneOffContainer";
import { httpGetVia } from "../targets/proxy";
import { DynamicResource } from "../dynamicResource";

/**
 * A running release's evidence: after the target serves it, its checks run and their result is
 * recorded in the state (and exported with the release). Create and update return the result
 * even when it failed, so that it is recorded; the program then fails the update
 * (verificationGate). It runs again only when the release id or the verify command changes: a
 * re-run of `up` on a release that failed its verification keeps the recorded failure (and fails
 * again), it never turns it into a pass.
 *
 * Built-in checks, by target:
 * - docker: `GET <url><healthPath>` answers 200, and `GET <url>/` answers JSON whose `release_id`
 *   is this release's id (the published URL, bindAddress:hostPort);
 * - heroku: the same two checks against the app's `web_url`, after its Heroku release succeeded
 *   (no verify command: a one-off dyno is not modelled, config.ts refuses verifyCommand there);
 * - kubernetes: the checks the program could see (the rollout of pods carrying this release id,
 *   and the verify Job, which must complete), passed in as `observed`.
 * Then the verify command (docker target: a one-off container of the same image, with the same
 * env, secret env, RELEASE_ID and PORT, on the same Docker host).
 *
 * The provider functions are serialized into the state; they require their modules inside.
 */

export interface ReleaseVerificationInputs {
    /** The release verified. @example "r-0123456789ab" */
    readonly releaseId: string;
    /** Digest-pinned image of the release. */
    readonly image: string;
    /** Where the release answers (docker target; heroku: the app's web_url); undefined: no HTTP checks. @example "http://127.0.0.1:8000" */
    readonly url?: string;
    /** The Host header of those checks, when a proxy routes the app by host name. @default undefined (the URL's) @example "staging.localhost" */
    readonly hostHeader?: string;
    /** @example "/healthz" */
    readonly healthPath: string;
    /** Shell command run from the image (docker target). @default undefined (none) */
    readonly verifyCommand?: string;
    /** Docker Engine endpoint the verify command runs on. @default undefined (no verify container) */
    readonly dockerHost?: string;
    readonly env: Record<string, string>;
    /** Secret; given to the verify command and masked in its output. */
    readonly secretEnv: Record<string, string>;
    /** The verify command's PORT (docker target). @default undefined (no PORT given: the heroku target has no container port of its own) */
    readonly containerPort?: number;
    readonly timeoutSeconds: number;
    /** Checks the program already decided (kubernetes target: rollout, verify Job). @default [] */
    readonly observed?: VerificationCheck[];
    /** Labels of the one-off container. */
    readonly labels?: Record<string, string>;
}

export interface ReleaseVerificationOutputs extends ReleaseVerificationInputs {
    readonly result: VerificationResult;
}

export type ReleaseVerificationArgs = ArgsOf<ReleaseVerificationInputs>;

/** GET `url`, its status and body (error: why there was none), retried for `tries` × 500 ms while it fails to connect. */
async function httpGet(url: string, tries: number, hostHeader?: string): Promise<{ status?: number; body: string; error?: string }> {
    let error = "";
    for (let i = 0; i < tries; i++) {
        if (hostHeader) {
            const res = await httpGetVia(url, hostHeader, 5000);
            if (res.status !== undefined) {
                return res;
            }
            error = res.error ?? "";
            await new Promise((r) => setTimeout(r, 500));
            continue;
        }
        try {
            const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
            return { status: res.status, body: await res.text() };
        } catch (e) {
            error = (e as Error).message;
            await new Promise((r) => setTimeout(r, 500));
        }
    }
    return { body: "", error };
}

async function verify(inputs: ReleaseVerificationInputs): Promise<VerificationResult> {
    const started = Date.now();
    const checks: VerificationCheck[] = [...(inputs.observed ?? [])];
    if (inputs.url) {
        const base = inputs.url.replace(/\/+$/, "");
        const health = await httpGet(`${base}${inputs.healthPath}`, 10, inputs.hostHeader);
        checks.push(healthCheck(inputs.healthPath, health.status, health.error));
        const root = await httpGet(`${base}/`, 10, inputs.hostHeader);
        checks.push(releaseIdCheck(inputs.releaseId, root.status, root.body, root.error));
    }
    let tail: string | undefined;
    if (inputs.verifyCommand && inputs.dockerHost) {
        try {
            const Docker = require("dockerode") as typeof import("dockerode");
            const host = inputs.dockerHost;
            const url = host.startsWith("unix://") ? undefined : new URL(host.replace(/^tcp:/, "http:"));
            const docker = url
                ? new Docker({ host: url.hostname, port: Number(url.port || 2375), protocol: "http" })
                : new Docker({ socketPath: host.slice("unix://".length) });
            const run = await runOneOff(docker, {
                name: `verify-${inputs.releaseId}`,
                image: inputs.image,
                env: {
                    ...inputs.env,
                    ...inputs.secretEnv,
                    ...(inputs.containerPort === undefined ? { RELEASE_ID: inputs.releaseId } : runtimeEnv(inputs.releaseId, inputs.containerPort)),
                },
                command: inputs.verifyCommand,
                timeoutSeconds: inputs.timeoutSeconds,
                labels: { ...inputs.labels, "delivery.release": inputs.releaseId, "delivery.role": "verify" },
            });
            tail = outputTail(run.output, inputs.secretEnv);
            checks.push(commandCheck(inputs.verifyCommand, run.exitCode, inputs.timeoutSeconds));
        } catch (e) {
            checks.push(commandCheck(inputs.verifyCommand, undefined, inputs.timeoutSeconds, outputTail((e as Error).message, inputs.secretEnv)));
        }
    }
    return verificationResult(checks, started, Date.now(), tail);
}

export const releaseVerificationProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: ReleaseVerificationInputs) {
        return { id: `verification-${inputs.releaseId}`, outs: { ...inputs, result: await verify(inputs) } };
    },
    async diff(_id: string, olds: ReleaseVerificationOutputs, news: ReleaseVerificationInputs) {
        // Only a new release or another command is verified again; a failed result stays recorded.
        const changes = olds.releaseId !== news.releaseId || (olds.verifyCommand ?? "") !== (news.verifyCommand ?? "") || olds.result === undefined;
        return { changes };
    },
    async update(_id: string, _olds: ReleaseVerificationOutputs, news: ReleaseVerificationInputs) {
        return { outs: { ...news, result: await verify(news) } };
    },
    async read(id: string, props: ReleaseVerificationOutputs) {
        // The record has no outside copy: a refresh keeps it.
        return { id, props };
    },
};

/** The recorded verification of the release that runs. */
export class ReleaseVerification extends DynamicResource {
    declare readonly result: pulumi.Output<VerificationResult>;

    constructor(name: string, args: ReleaseVerificationArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            releaseVerificationProvider,
            name,
            { ...args, secretEnv: pulumi.secret(args.secretEnv), result: undefined },
            { ...opts, additionalSecretOutputs: ["secretEnv"] },
            "release",
            "ReleaseVerification",
        );
    }
}

/** @pulumi/pulumi's cmd/run exit code for "failed, and the error is already logged": the language host reports no generic error. */
export const EXIT_ERROR_LOGGED = 32;

/**
 * Fails the update when the recorded verification failed, after the program has registered
 * everything: the failed result is recorded and exported (the stack's outputs are registered
 * before the process ends), the message is logged as an error, and the program exits with
 * EXIT_ERROR_LOGGED so that `pulumi up` fails. Measured on this engine: `pulumi.log.error` alone
 * shows the error and "1 errored" but `pulumi up` still exits 0 (@pulumi/pulumi's cmd/run does not
 * look at logged errors; only its Automation API server does). Returns the result unchanged.
 */
export function verificationGate(
    releaseId: pulumi.Input<string>,
    result: pulumi.Output<VerificationResult>,
    resource?: pulumi.Resource,
    fail: () => void = () => {
        process.exitCode = EXIT_ERROR_LOGGED;
    },
): pulumi.Output<VerificationResult> {
    return pulumi.all([releaseId, result]).apply(([id, r]) => {
        if (r && r.status !== "passed") {
            pulumi.log.error(failureMessage(id, r), resource);
            fail();
        }
        return r;
    });
}
