import * as pulumi from "@pulumi/pulumi";
import { ArgName, ArgProblem, argPath, CheckedComponent, wholeNumberProblem } from "../argProblems";
import { RegistryCredentials } from "../registry/registry";
import { ReleaseVerification } from "../release/verification";
import { VerificationResult } from "../release/verificationResult";
import { DockerContainer, DockerContainerArgs } from "./dockerContainer";
import { standardLabels } from "./labels";
import { DEFAULT_PROXY_IMAGE } from "./proxy";
import { DEFAULT_COMMAND_TIMEOUT_SECONDS, PORT_RANGE, ReleaseTargetArgs } from "./targetArgs";

export interface DockerHostTargetArgs extends ReleaseTargetArgs {
    /** Secret settings; reach the container as environment variables. */
    readonly secretEnv: pulumi.Input<Readonly<Record<string, string>>>;
    /** Docker Engine endpoint. @default "unix:///var/run/docker.sock" @example "tcp://10.0.0.5:2375" */
    readonly dockerHost?: string;
    /** Port the app listens on (its `PORT`). @example 8080 */
    readonly containerPort: number;
    /** Published port on the host. @example 8000 */
    readonly hostPort: number;
    /** Address the port is published on; a dev host is not exposed to the network. @default "127.0.0.1" */
    readonly bindAddress?: string;
    /** Path that must answer 200 before a release takes the port. @example "/healthz" */
    readonly healthPath: string;
    /** How long a new release may take to answer its health path. @default 60 */
    readonly healthTimeoutSeconds?: number;
    /** Registry host the pull credentials apply to. @example "127.0.0.1:5000" */
    readonly registryServer: string;
    /** Secret; for pulling from a private registry. @default undefined (anonymous pulls) */
    readonly pullCredentials?: pulumi.Input<RegistryCredentials | undefined>;
    /** `proxy`: a shared reverse proxy owns the port and switches without a gap; `recreate`: stop the old, start the new. @default "proxy" */
    readonly swap?: "proxy" | "recreate";
    /** Seconds the old container keeps running after the switch. @default DEFAULT_DRAIN_SECONDS */
    readonly drainSeconds?: number;
    /** Seconds after the switch the new release must keep answering, else the proxy goes back. @default DEFAULT_WATCH_SECONDS */
    readonly watchSeconds?: number;
    /** The proxy's image. @default DEFAULT_PROXY_IMAGE */
    readonly proxyImage?: string;
    /** Host name the shared proxy routes to this app. @default undefined (every host no other app on the port has) @example "staging.localhost" */
    readonly proxyHost?: string;
}

/** How long the old container drains after the switch (delivery:drainSeconds), in seconds: its bounds and default. */
export const DRAIN_RANGE = { min: 0, max: 3600 } as const;
export const DEFAULT_DRAIN_SECONDS = 10;
/** How long the switched release is watched (delivery:watchSeconds), in seconds: its bounds and default. */
export const WATCH_RANGE = { min: 0, max: 3600 } as const;
export const DEFAULT_WATCH_SECONDS = 15;

/** The args dockerHostTargetProblems reads; the config reader passes what it parsed. */
export type DockerHostTargetRules = Partial<Pick<DockerHostTargetArgs, "containerPort" | "hostPort" | "drainSeconds" | "watchSeconds">>;

/** What the Docker host would refuse, or what would leave the app unreachable, in these args. */
export function dockerHostTargetProblems(args: DockerHostTargetRules, name: ArgName = argPath): ArgProblem[] {
    return [
        ...wholeNumberProblem("containerPort", args.containerPort, PORT_RANGE.min, PORT_RANGE.max, name),
        // 0 would publish on a random port: the URL would name no listener.
        ...wholeNumberProblem("hostPort", args.hostPort, PORT_RANGE.min, PORT_RANGE.max, name),
        ...wholeNumberProblem("drainSeconds", args.drainSeconds, DRAIN_RANGE.min, DRAIN_RANGE.max, name),
        ...wholeNumberProblem("watchSeconds", args.watchSeconds, WATCH_RANGE.min, WATCH_RANGE.max, name),
    ];
}

/**
 * The Heroku-like target: one container per release on one Docker host, config as
 * environment variables, one published port, health-gated swap on every new release.
 */
export class DockerHostTarget extends CheckedComponent {
    readonly url: string;
    readonly containerName: pulumi.Output<string>;
    readonly containerId: pulumi.Output<string>;
    /** The recorded verification of the release that runs (failed or passed). */
    readonly verification: pulumi.Output<VerificationResult>;

    constructor(name: string, args: DockerHostTargetArgs, opts?: pulumi.ComponentResourceOptions) {
        super("delivery:targets:DockerHostTarget", name, dockerHostTargetProblems(args), opts);
        const inputs = containerArgs(args);
        const container = new DockerContainer(`${name}-container`, inputs, { parent: this });
        this.url = targetUrl(args);
        this.containerName = container.containerName;
        this.containerId = container.containerId;
        // The release phase's output in the update log (masked by the provider).
        container.releasePhase.apply((p) => {
            if (p) {
                pulumi.log.info(`release phase of ${p.releaseId} (${p.command}) exited ${p.exitCode} at ${p.finishedAt}:\n${p.outputTail}`, container);
            }
        });
        const verification = new ReleaseVerification(
            `${name}-verification`,
            {
                releaseId: args.releaseId,
                image: args.image,
                // Behind the proxy by host name: asked on the bind address with that Host header.
                url: bindUrl(args),
                hostHeader: args.proxyHost && (args.swap ?? "proxy") === "proxy" ? args.proxyHost : undefined,
                healthPath: args.healthPath,
                verifyCommand: args.verifyCommand,
                dockerHost: args.dockerHost ?? "unix:///var/run/docker.sock",
                env: { ...args.env },
                secretEnv: inputs.secretEnv,
                containerPort: args.containerPort,
                timeoutSeconds: args.commandTimeoutSeconds ?? DEFAULT_COMMAND_TIMEOUT_SECONDS,
                labels: inputs.labels,
            },
            { parent: this, dependsOn: [container] },
        );
        this.verification = verification.result;
        this.registerOutputs({ url: this.url, containerName: this.containerName, verification: this.verification });
    }
}

const DEFAULT_BIND_ADDRESS = "127.0.0.1";

/** `http://<bind address>:<host port>`, an IPv6 address in brackets. */
function bindUrl(args: DockerHostTargetArgs): string {
    const bindAddress = args.bindAddress ?? DEFAULT_BIND_ADDRESS;
    const host = bindAddress.includes(":") ? `[${bindAddress}]` : bindAddress;
    return `http://${host}:${args.hostPort}`;
}

/** The app's URL: its host name on the published port when the proxy routes it by name, else the bind address. */
function targetUrl(args: DockerHostTargetArgs): string {
    return args.proxyHost && (args.swap ?? "proxy") === "proxy" ? `http://${args.proxyHost}:${args.hostPort}` : bindUrl(args);
}

/** The slot's container: the target's args with their defaults, labels and pull auth. */
function containerArgs(args: DockerHostTargetArgs): DockerContainerArgs {
    return {
        name: `${args.appName}-${args.stack}`.replace(/[^a-zA-Z0-9_.-]/g, "-"),
        dockerHost: args.dockerHost ?? "unix:///var/run/docker.sock",
        image: args.image,
        releaseId: args.releaseId,
        env: { ...args.env },
        secretEnv: pulumi.output(args.secretEnv).apply((s) => ({ ...s })),
        containerPort: args.containerPort,
        hostPort: args.hostPort,
        bindAddress: args.bindAddress ?? DEFAULT_BIND_ADDRESS,
        healthPath: args.healthPath,
        healthTimeoutSeconds: args.healthTimeoutSeconds ?? 60,
        labels: pulumi.output(args.commitSha).apply((sha) => standardLabels(args.appName, args.stack, sha)),
        registryAuth: pulumi
            .output(args.pullCredentials)
            .apply((c) => (c ? { serveraddress: args.registryServer, username: c.username, password: c.password } : undefined)),
        releaseCommand: args.releaseCommand,
        commandTimeoutSeconds: args.commandTimeoutSeconds ?? DEFAULT_COMMAND_TIMEOUT_SECONDS,
        swap: args.swap ?? "proxy",
        drainSeconds: args.drainSeconds ?? DEFAULT_DRAIN_SECONDS,
        watchSeconds: args.watchSeconds ?? DEFAULT_WATCH_SECONDS,
        proxyImage: args.proxyImage ?? DEFAULT_PROXY_IMAGE,
        ...(args.proxyHost ? { proxyHost: args.proxyHost } : {}),
    };
}
