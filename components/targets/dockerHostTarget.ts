import * as pulumi from "@pulumi/pulumi";
import { RegistryCredentials } from "../registry/registry";
import { DockerContainer } from "./dockerContainer";
import { standardLabels } from "./labels";

export interface DockerHostTargetArgs {
    readonly appName: string;
    readonly stack: string;
    /** Digest-pinned image ref of the release. */
    readonly image: pulumi.Input<string>;
    readonly releaseId: pulumi.Input<string>;
    readonly commitSha: pulumi.Input<string>;
    readonly env: Readonly<Record<string, string>>;
    /** Secret settings; reach the container as environment variables. */
    readonly secretEnv: pulumi.Input<Readonly<Record<string, string>>>;
    /** Docker Engine endpoint. Default `unix:///var/run/docker.sock`. */
    readonly dockerHost?: string;
    readonly containerPort: number;
    /** Published port on the host. */
    readonly hostPort: number;
    /** Default `127.0.0.1`: a dev host is not exposed to the network. */
    readonly bindAddress?: string;
    readonly healthPath: string;
    /** How long a new release may take to answer its health path. Default 60. */
    readonly healthTimeoutSeconds?: number;
    readonly registryServer: string;
    readonly pullCredentials?: pulumi.Input<RegistryCredentials | undefined>;
}

/**
 * The Heroku-like target: one container per release on one Docker host, config as
 * environment variables, one published port, health-gated swap on every new release.
 */
export class DockerHostTarget extends pulumi.ComponentResource {
    readonly url: string;
    readonly containerName: pulumi.Output<string>;
    readonly containerId: pulumi.Output<string>;

    constructor(name: string, args: DockerHostTargetArgs, opts?: pulumi.ComponentResourceOptions) {
        super("delivery:targets:DockerHostTarget", name, {}, opts);
        const bindAddress = args.bindAddress ?? "127.0.0.1";
        const host = bindAddress.includes(":") ? `[${bindAddress}]` : bindAddress;
        this.url = `http://${host}:${args.hostPort}`;
        const container = new DockerContainer(
            `${name}-container`,
            {
                name: `${args.appName}-${args.stack}`.replace(/[^a-zA-Z0-9_.-]/g, "-"),
                dockerHost: args.dockerHost ?? "unix:///var/run/docker.sock",
                image: args.image,
                releaseId: args.releaseId,
                env: { ...args.env },
                secretEnv: pulumi.output(args.secretEnv).apply((s) => ({ ...s })),
                containerPort: args.containerPort,
                hostPort: args.hostPort,
                bindAddress,
                healthPath: args.healthPath,
                healthTimeoutSeconds: args.healthTimeoutSeconds ?? 60,
                labels: pulumi.output(args.commitSha).apply((sha) => standardLabels(args.appName, args.stack, sha)),
                registryAuth: pulumi
                    .output(args.pullCredentials)
                    .apply((c) => (c ? { serveraddress: args.registryServer, username: c.username, password: c.password } : undefined)),
            },
            { parent: this },
        );
        this.containerName = container.containerName;
        this.containerId = container.containerId;
        this.registerOutputs({ url: this.url, containerName: this.containerName });
    }
}
