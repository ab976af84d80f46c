import * as pulumi from "@pulumi/pulumi";
import { ArgsOf } from "../dynamicArgs";
import { isDigestPinned } from "../refs";
import { runtimeEnv } from "../release/runtimeEnv";
import { outputTail } from "../release/verificationResult";
import { runOneOff } from "./oneOffContainer";
import { DEFAULT_COMMAND_TIMEOUT_SECONDS } from "./targetArgs";

/**
 * A dynamic provider that runs one release as one container on a Docker host, over the
 * Docker Engine API (dockerode). The resource is the app's slot on the host: its id stays,
 * while each release gets a fresh container.
 *
 * Replacement is health-gated, like Kamal: the new release first runs beside the old one
 * on an ephemeral port and must answer its health path; only then is the old container
 * stopped and the new one started on the published port. A release that never becomes
 * healthy leaves the old container serving and fails the update.
 *
 * The slot's containers are found by their labels (`delivery.slot` plus this stack's
 * `app.kubernetes.io/name` and `/instance`), not only by the id the state records: an update
 * interrupted after the provider started (the CLI killed, the plugins finishing without it)
 * leaves containers the state does not know. `read` adopts the slot's live container,
 * `deploy` takes a live container of the same release as done and replaces any other one, and
 * `delete` removes every container of the slot this stack owns; another stack's slot of the
 * same name is never touched.
 *
 * The provider functions are serialized into the state by Pulumi, so they require their
 * modules inside the functions and capture nothing but other functions of this file, the
 * pure ref and runtime-env helpers they call (only the functions used are captured, see
 * test/unit/targets/serialized.test.ts) and `@pulumi/pulumi` (serialized as a require).
 */

export interface DockerContainerInputs {
    /** The slot's name on the host; containers are `<name>-<release id>-<nonce>`. */
    readonly name: string;
    /** `unix:///var/run/docker.sock` or `tcp://host:port`. */
    readonly dockerHost: string;
    /** Digest-pinned image ref. @example "127.0.0.1:5000/delivery/app@sha256:…" */
    readonly image: string;
    /** The release the container runs: its `RELEASE_ID`, a label and part of its name. @example "r-0123456789ab" */
    readonly releaseId: string;
    /** Plain settings, as environment variables. */
    readonly env: Record<string, string>;
    /** Secret settings, as environment variables. Secret. */
    readonly secretEnv: Record<string, string>;
    /** Port the app listens on (its `PORT`). @example 8080 */
    readonly containerPort: number;
    /** Port the live container is published on. @example 8000 */
    readonly hostPort: number;
    /** Address the port is published on, and the health check asks. @example "127.0.0.1" */
    readonly bindAddress: string;
    /** Must answer 200 before a release takes the port. @example "/healthz" */
    readonly healthPath: string;
    /** How long a new container may take to answer. @example 60 */
    readonly healthTimeoutSeconds: number;
    /** The owner's labels; `app.kubernetes.io/name` and `/instance` find the slot's containers. */
    readonly labels: Record<string, string>;
    /** Secret; for pulling from a private registry. */
    readonly registryAuth?: { serveraddress: string; username: string; password: string };
    /**
     * The release phase: a shell command run once per release from the new image with the new
     * config, in a one-off container, before the release takes traffic; a non-zero exit fails the
     * update and the old container keeps serving. @default undefined (no release phase)
     */
    readonly releaseCommand?: string;
    /** How long the release command may run. @default 120 */
    readonly commandTimeoutSeconds?: number;
}

/** What the release phase of the running release did (secret values masked). */
export interface ReleasePhaseRecord {
    readonly releaseId: string;
    readonly command: string;
    readonly exitCode: number;
    readonly startedAt: string;
    readonly finishedAt: string;
    readonly outputTail: string;
}

export interface DockerContainerOutputs extends DockerContainerInputs {
    readonly containerId: string;
    readonly containerName: string;
    /** The release phase that ran for this release, if any. */
    readonly releasePhase?: ReleasePhaseRecord;
}

/**
 * Runs the release command for a release that does not serve yet; throws (the update fails, what
 * serves keeps serving) on a non-zero exit or a timeout. Undefined when there is none to run.
 */
async function releasePhase(docker: import("dockerode"), inputs: DockerContainerInputs): Promise<ReleasePhaseRecord | undefined> {
    const command = inputs.releaseCommand;
    if (!command) {
        return undefined;
    }
    const timeoutSeconds = inputs.commandTimeoutSeconds ?? DEFAULT_COMMAND_TIMEOUT_SECONDS;
    const run = await runOneOff(docker, {
        name: `${inputs.name}-${inputs.releaseId}-release`,
        image: inputs.image,
        env: { ...inputs.env, ...inputs.secretEnv, ...runtimeEnv(inputs.releaseId, inputs.containerPort) },
        command,
        timeoutSeconds,
        labels: { ...inputs.labels, "delivery.slot-of": inputs.name, "delivery.release": inputs.releaseId, "delivery.role": "release-phase" },
    });
    const tail = outputTail(run.output, inputs.secretEnv);
    await testStep("release-phase-done");
    if (run.exitCode !== 0) {
        const why = run.exitCode === undefined ? `did not finish within ${timeoutSeconds}s` : `exited ${run.exitCode}`;
        throw new Error(
            `release ${inputs.releaseId}: the release command (delivery:releaseCommand) ${why}; the release does not take traffic and what runs keeps serving${tail ? `\nlast output lines:\n${tail}` : ""}`,
        );
    }
    return { releaseId: inputs.releaseId, command, exitCode: run.exitCode, startedAt: run.startedAt, finishedAt: run.finishedAt, outputTail: tail };
}

function connect(dockerHost: string): import("dockerode") {
    const Docker = require("dockerode") as typeof import("dockerode");
    if (dockerHost.startsWith("unix://")) {
        return new Docker({ socketPath: dockerHost.slice("unix://".length) });
    }
    const url = new URL(dockerHost.replace(/^tcp:/, "http:"));
    return new Docker({ host: url.hostname, port: Number(url.port || 2375), protocol: "http" });
}

async function pullImage(docker: import("dockerode"), inputs: DockerContainerInputs): Promise<void> {
    const stream = await docker.pull(inputs.image, inputs.registryAuth ? { authconfig: inputs.registryAuth } : {});
    await new Promise<void>((resolve, reject) =>
        docker.modem.followProgress(stream, (err: Error | null, events: Array<{ error?: string }>) => {
            const failed = events?.find((e) => e.error);
            if (err || failed) {
                reject(new Error(`cannot pull ${inputs.image}: ${err?.message ?? failed?.error}`));
            } else {
                resolve();
            }
        }),
    );
}

/** Starts a container for the release and waits until its health path answers 200. */
async function startHealthy(docker: import("dockerode"), inputs: DockerContainerInputs, hostPort: number, role: string): Promise<{ id: string; name: string }> {
    const crypto = require("node:crypto") as typeof import("node:crypto");
    const name = `${inputs.name}-${inputs.releaseId}-${role}-${crypto.randomBytes(3).toString("hex")}`;
    const port = `${inputs.containerPort}/tcp`;
    const env = { ...inputs.env, ...inputs.secretEnv, ...runtimeEnv(inputs.releaseId, inputs.containerPort) };
    const container = await docker.createContainer({
        name,
        Image: inputs.image,
        Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
        ExposedPorts: { [port]: {} },
        Labels: { ...inputs.labels, "delivery.slot": inputs.name, "delivery.release": inputs.releaseId, "delivery.role": role },
        HostConfig: {
            PortBindings: { [port]: [{ HostIp: inputs.bindAddress, HostPort: hostPort === 0 ? "" : String(hostPort) }] },
            RestartPolicy: { Name: role === "live" ? "unless-stopped" : "no" },
        },
    });
    try {
        await container.start();
        await testStep(`${role}-started`);
        await waitHealthy(container, inputs, port);
        return { id: container.id, name };
    } catch (e) {
        const logs = await container
            .logs({ stdout: true, stderr: true, tail: 20 })
            .then((b) => b.toString("utf8").replace(/[\x00-\x08]/g, ""))
            .catch(() => "");
        await container.remove({ force: true }).catch(() => undefined);
        throw new Error(
            `release ${inputs.releaseId} (${inputs.image}) did not become healthy: ${(e as Error).message}${logs ? `\nlast log lines:\n${logs}` : ""}`,
        );
    }
}

async function waitHealthy(container: import("dockerode").Container, inputs: DockerContainerInputs, port: string): Promise<void> {
    const deadline = Date.now() + inputs.healthTimeoutSeconds * 1000;
    let last = "no answer yet";
    while (Date.now() < deadline) {
        const info = await container.inspect();
        if (!info.State.Running) {
            throw new Error(`container exited with code ${info.State.ExitCode}`);
        }
        if (info.State.Health?.Status === "unhealthy") {
            throw new Error("Docker reports the container unhealthy");
        }
        const binding = info.NetworkSettings.Ports?.[port]?.[0];
        if (binding) {
            try {
                const res = await fetch(`http://${inputs.bindAddress}:${binding.HostPort}${inputs.healthPath}`, { signal: AbortSignal.timeout(2000) });
                await res.arrayBuffer();
                if (res.status === 200) {
                    return;
                }
                last = `GET ${inputs.healthPath} answered ${res.status}`;
            } catch (e) {
                last = `GET ${inputs.healthPath} failed: ${(e as Error).message}`;
            }
        }
        await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`no healthy answer within ${inputs.healthTimeoutSeconds}s (${last})`);
}

async function removeContainer(docker: import("dockerode"), id: string | undefined): Promise<void> {
    if (!id) {
        return;
    }
    await docker
        .getContainer(id)
        .remove({ force: true })
        .catch((e: { statusCode?: number }) => {
            if (e.statusCode !== 404) {
                throw e;
            }
        });
}

/**
 * Test-only, inert unless `DELIVERY_TEST_PAUSE_AT` is set (the e2e kill tests set it): appends
 * `<step> <pid>` to `$DELIVERY_TEST_PAUSE_DIR/steps.log` and, at the step named, waits until the
 * file `<step>.resume` appears there (at most 10 minutes). Nothing else is written.
 */
async function testStep(step: string): Promise<void> {
    const at = process.env.DELIVERY_TEST_PAUSE_AT;
    const dir = process.env.DELIVERY_TEST_PAUSE_DIR;
    if (!at || !dir) {
        return;
    }
    const fs = require("node:fs") as typeof import("node:fs");
    const path = require("node:path") as typeof import("node:path");
    fs.appendFileSync(path.join(dir, "steps.log"), `${step} ${process.pid}\n`);
    const deadline = Date.now() + 600_000;
    while (step === at && !fs.existsSync(path.join(dir, `${step}.resume`)) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
    }
}

/** The labels that make a container this stack's own in the slot (never the per-release ones). */
function ownerLabels(props: { name: string; labels?: Record<string, string> }): string[] {
    const owner = ["app.kubernetes.io/name", "app.kubernetes.io/instance"];
    return [
        `delivery.slot=${props.name}`,
        ...Object.entries(props.labels ?? {})
            .filter(([k]) => owner.includes(k))
            .map(([k, v]) => `${k}=${v}`),
    ];
}

interface SlotContainer {
    readonly id: string;
    readonly name: string;
    readonly role: string;
    readonly releaseId: string;
    readonly image: string;
    readonly running: boolean;
    /** `ip:port` the container's port is published on, if any. */
    readonly published: string;
}

/** Every container of the slot that this stack owns, in any state, found by its labels. */
async function slotContainers(
    docker: import("dockerode"),
    props: { name: string; labels?: Record<string, string>; containerPort: number },
): Promise<SlotContainer[]> {
    const listed = await docker.listContainers({ all: true, filters: { label: ownerLabels(props) } });
    const found: SlotContainer[] = [];
    for (const c of listed) {
        const info = await docker
            .getContainer(c.Id)
            .inspect()
            .catch(() => undefined);
        if (!info) {
            continue; // removed meanwhile
        }
        const binding = info.HostConfig?.PortBindings?.[`${props.containerPort}/tcp`]?.[0];
        found.push({
            id: info.Id,
            name: info.Name.replace(/^\//, ""),
            role: info.Config.Labels?.["delivery.role"] ?? "",
            releaseId: info.Config.Labels?.["delivery.release"] ?? "",
            image: info.Config.Image,
            running: info.State.Running,
            published: binding ? `${binding.HostIp}:${binding.HostPort}` : "",
        });
    }
    return found;
}

async function removeAll(docker: import("dockerode"), containers: readonly SlotContainer[], keep?: string): Promise<void> {
    for (const c of containers) {
        if (c.id !== keep) {
            await removeContainer(docker, c.id);
        }
    }
}

async function deploy(inputs: DockerContainerInputs, previous?: DockerContainerOutputs): Promise<DockerContainerOutputs> {
    const docker = connect(inputs.dockerHost);
    await pullImage(docker, inputs);
    await testStep("pulled");
    const slot = await slotContainers(docker, inputs);
    const live = slot.filter((c) => c.running && c.role === "live");
    // An earlier, interrupted run already put this very release on the published port: done.
    const done = live.find((c) => c.releaseId === inputs.releaseId && c.image === inputs.image && c.published === `${inputs.bindAddress}:${inputs.hostPort}`);
    if (done) {
        await removeAll(docker, slot, done.id);
        return {
            ...inputs,
            containerId: done.id,
            containerName: done.name,
            ...(previous?.releasePhase?.releaseId === inputs.releaseId ? { releasePhase: previous.releasePhase } : {}),
        };
    }
    // The release phase runs once per release, before the release takes traffic.
    const samePhase = previous?.releasePhase?.releaseId === inputs.releaseId && previous?.releasePhase?.command === inputs.releaseCommand;
    const phase = samePhase ? previous!.releasePhase : await releasePhase(docker, inputs);
    const recorded = phase ? { releasePhase: phase } : {};
    // Candidates and stopped containers serve nothing; left from an interrupted swap.
    await removeAll(
        docker,
        slot.filter((c) => !live.includes(c)),
    );
    // The container to replace: the one recorded, else the live one the state lost.
    const serving = live.find((c) => c.id === previous?.containerId) ?? live[0];
    if (!serving) {
        const started = await startHealthy(docker, inputs, inputs.hostPort, "live");
        return { ...inputs, containerId: started.id, containerName: started.name, ...recorded };
    }
    // Prove the release first while the old container keeps serving.
    const candidate = await startHealthy(docker, inputs, 0, "candidate");
    await removeContainer(docker, candidate.id);
    for (const c of live) {
        await docker
            .getContainer(c.id)
            .stop({ t: 10 })
            .catch(() => undefined);
    }
    await testStep("old-stopped");
    try {
        const started = await startHealthy(docker, inputs, inputs.hostPort, "live");
        await removeAll(docker, live);
        return { ...inputs, containerId: started.id, containerName: started.name, ...recorded };
    } catch (e) {
        await docker
            .getContainer(serving.id)
            .start()
            .catch(() => undefined);
        throw e;
    }
}

const IMMUTABLE = ["name", "dockerHost"] as const;
const MUTABLE = [
    "image",
    "releaseId",
    "env",
    "secretEnv",
    "containerPort",
    "hostPort",
    "bindAddress",
    "healthPath",
    "healthTimeoutSeconds",
    "labels",
    "registryAuth",
] as const;

export const dockerContainerProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: DockerContainerInputs, news: DockerContainerInputs) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        // During a preview the image is not known yet: the engine sends its "unknown" sentinel.
        const unknown = news.image === pulumi.runtime.unknownValue;
        if (!unknown && !isDigestPinned(news.image ?? "")) {
            failures.push({ property: "image", reason: `"${news.image}" is not pinned by digest; the Docker host runs only repo@sha256:... images` });
        }
        if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(news.name ?? "")) {
            failures.push({ property: "name", reason: `"${news.name}" is not a valid container name` });
        }
        return { inputs: news, failures };
    },
    async create(inputs: DockerContainerInputs) {
        try {
            const outs = await deploy(inputs);
            return { id: inputs.name, outs };
        } finally {
            await testStep("end");
        }
    },
    async read(id: string, props: DockerContainerOutputs) {
        const docker = connect(props.dockerHost);
        // The recorded container if it runs, else the slot's live one the state lost.
        const live = (await slotContainers(docker, props)).filter((c) => c.running && c.role === "live");
        const found = live.find((c) => c.id === props.containerId) ?? live[0];
        if (found) {
            return {
                id,
                props: { ...props, image: found.image, releaseId: found.releaseId || props.releaseId, containerId: found.id, containerName: found.name },
            };
        }
        // A container of an earlier program that lacks the labels is still found by its id.
        const recorded = await docker
            .getContainer(props.containerId || "-")
            .inspect()
            .catch(() => undefined);
        return { id, props: { ...props, containerId: recorded?.State.Running ? recorded.Id : "" } };
    },
    async diff(_id: string, olds: DockerContainerOutputs, news: DockerContainerInputs) {
        const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
        const replaces = IMMUTABLE.filter((k) => !same(olds[k], news[k]));
        const changed = MUTABLE.filter((k) => !same(olds[k], news[k]));
        // A container that vanished (refresh found it gone) is started again.
        const gone = olds.containerId === "";
        return { changes: replaces.length > 0 || changed.length > 0 || gone, replaces, deleteBeforeReplace: true };
    },
    async update(_id: string, olds: DockerContainerOutputs, news: DockerContainerInputs) {
        try {
            return { outs: await deploy(news, olds.containerId ? olds : { ...olds, containerId: "" }) };
        } finally {
            await testStep("end");
        }
    },
    async delete(_id: string, props: DockerContainerOutputs) {
        try {
            const docker = connect(props.dockerHost);
            await testStep("deleting");
            await removeContainer(docker, props.containerId);
            // Every container of the slot this stack owns, whatever its role or state: a swap that
            // was interrupted leaves containers the state does not record. Another stack's slot of
            // the same name carries another app.kubernetes.io/instance or name and is not listed.
            await removeAll(docker, await slotContainers(docker, props));
        } finally {
            await testStep("end");
        }
    },
};

export type DockerContainerArgs = ArgsOf<DockerContainerInputs>;

export class DockerContainer extends pulumi.dynamic.Resource {
    declare readonly containerId: pulumi.Output<string>;
    declare readonly containerName: pulumi.Output<string>;
    declare readonly releasePhase: pulumi.Output<ReleasePhaseRecord | undefined>;

    constructor(name: string, args: DockerContainerArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            dockerContainerProvider,
            name,
            {
                ...args,
                secretEnv: pulumi.secret(args.secretEnv),
                registryAuth: pulumi.secret(args.registryAuth),
                containerId: undefined,
                containerName: undefined,
                releasePhase: undefined,
            },
            {
                ...opts,
                additionalSecretOutputs: ["secretEnv", "registryAuth"],
                aliases: [...(opts?.aliases ?? []), { type: "pulumi-nodejs:dynamic/delivery:targets:DockerContainer:Resource" }],
            },
            "targets",
            "DockerContainer",
        );
    }
}
