import * as pulumi from "@pulumi/pulumi";
import { ArgsOf } from "../dynamicArgs";
import { isDigestPinned } from "../refs";
import { runtimeEnv } from "../release/runtimeEnv";
import { outputTail } from "../release/verificationResult";
import { runOneOff } from "./oneOffContainer";
import {
    DEFAULT_PROXY_IMAGE,
    ProxyHandle,
    candidateHost,
    candidateRouteId,
    ensureProxy,
    findProxy,
    httpGetVia,
    logTail,
    proxyName,
    pullImage,
    readRoutes,
    removeProxyIfUnused,
    slotRouteId,
    withRoute,
    updateRoutes,
    withoutRoute,
} from "./proxy";
import { DEFAULT_COMMAND_TIMEOUT_SECONDS } from "./targetArgs";
import { DynamicResource } from "../dynamicResource";

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
 * test/process/serialized.test.ts) and `@pulumi/pulumi` (serialized as a require).
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
    /**
     * How a release takes over: `proxy` (the shared reverse proxy owns the port; the new container
     * is health-gated on the proxy's private network, the proxy switches, the old one drains) or
     * `recreate` (the old container is stopped, the new one takes the published port: a gap).
     * @default "proxy"
     */
    readonly swap?: "proxy" | "recreate";
    /** Proxy swap: seconds the old container keeps running after the switch, for requests in flight. @default 10 */
    readonly drainSeconds?: number;
    /** Proxy swap: seconds after the switch the new release must keep answering its health path, else the proxy goes back. @default 15 */
    readonly watchSeconds?: number;
    /** Proxy swap: the proxy's image. @default DEFAULT_PROXY_IMAGE */
    readonly proxyImage?: string;
    /** Proxy swap: the host name the proxy routes to this app. @default undefined (every host no other app has) */
    readonly proxyHost?: string;
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
    /** Proxy swap: the upstream (`container:port`) the proxy routes this slot to, as last read. */
    readonly upstream?: string;
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
        const logs = await lastLogLines(docker, container.id, inputs.secretEnv);
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
    return (inputs.swap ?? "proxy") === "proxy" ? deployBehindProxy(inputs, previous) : deployRecreate(inputs, previous);
}

/** The slot's proxy settings with their defaults. */
function proxyOf(inputs: DockerContainerInputs) {
    return {
        name: proxyName(inputs.bindAddress, inputs.hostPort),
        image: inputs.proxyImage ?? DEFAULT_PROXY_IMAGE,
        drainSeconds: inputs.drainSeconds ?? 10,
        watchSeconds: inputs.watchSeconds ?? 15,
        hosts: inputs.proxyHost ? [inputs.proxyHost] : [],
    };
}

/** The last log lines of a container, secret values masked ("" when there are none). */
async function lastLogLines(docker: import("dockerode"), id: string, secretEnv: Record<string, string>): Promise<string> {
    return outputTail(await logTail(docker, id), secretEnv);
}

/** Starts the release's container on the proxy's network, with no published port. */
async function startOnNetwork(docker: import("dockerode"), inputs: DockerContainerInputs, network: string): Promise<{ id: string; name: string }> {
    const crypto = require("node:crypto") as typeof import("node:crypto");
    const name = `${inputs.name}-${inputs.releaseId}-live-${crypto.randomBytes(3).toString("hex")}`;
    const env = { ...inputs.env, ...inputs.secretEnv, ...runtimeEnv(inputs.releaseId, inputs.containerPort) };
    const container = await docker.createContainer({
        name,
        Image: inputs.image,
        Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
        Labels: {
            ...inputs.labels,
            "delivery.slot": inputs.name,
            "delivery.release": inputs.releaseId,
            "delivery.role": "live",
            // What a proxy made anew rebuilds this slot's route from (proxy.ts routesFromLabels).
            "delivery.proxy": network,
            "delivery.port": String(inputs.containerPort),
            ...(inputs.proxyHost ? { "delivery.host": inputs.proxyHost } : {}),
        },
        HostConfig: { RestartPolicy: { Name: "unless-stopped" }, NetworkMode: network },
    });
    await container.start();
    return { id: container.id, name };
}

/** Waits until `host` answers 200 on the health path through the proxy while the container runs; throws why not. */
async function waitHealthyViaProxy(docker: import("dockerode"), id: string, inputs: DockerContainerInputs, proxy: ProxyHandle, host: string): Promise<void> {
    const deadline = Date.now() + inputs.healthTimeoutSeconds * 1000;
    let last = "no answer yet";
    while (Date.now() < deadline) {
        const info = await docker.getContainer(id).inspect();
        if (!info.State.Running) {
            throw new Error(`container exited with code ${info.State.ExitCode}`);
        }
        const res = await httpGetVia(`${proxy.url}${inputs.healthPath}`, host, 2000);
        if (res.status === 200) {
            return;
        }
        last = res.status === undefined ? `GET ${inputs.healthPath} failed: ${res.error}` : `GET ${inputs.healthPath} answered ${res.status}`;
        await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`no healthy answer within ${inputs.healthTimeoutSeconds}s (${last})`);
}

/**
 * Watches the switched release for `seconds`: its health path through the proxy, as a user's
 * request is routed, and its container. Two failed polls in a row (500 ms apart) end the watch:
 * a single lost poll is not a failed release. Undefined when it kept answering.
 */
async function watchRelease(
    docker: import("dockerode"),
    id: string,
    inputs: DockerContainerInputs,
    proxy: ProxyHandle,
    seconds: number,
): Promise<string | undefined> {
    const started = Date.now();
    let failures = 0;
    while (Date.now() - started < seconds * 1000) {
        const info = await docker
            .getContainer(id)
            .inspect()
            .catch(() => undefined);
        if (!info?.State.Running) {
            return `its container ${info ? `exited with code ${info.State.ExitCode}` : "is gone"} ${((Date.now() - started) / 1000).toFixed(1)}s after the switch`;
        }
        const host = inputs.proxyHost ?? new URL(proxy.url).host;
        const res = await httpGetVia(`${proxy.url}${inputs.healthPath}`, host, 2000);
        failures = res.status === 200 ? 0 : failures + 1;
        if (failures >= 2) {
            const what = res.status === undefined ? `failed: ${res.error}` : `answered ${res.status}`;
            return `GET ${inputs.healthPath} ${what} ${((Date.now() - started) / 1000).toFixed(1)}s after the switch`;
        }
        await new Promise((r) => setTimeout(r, 500));
    }
    return undefined;
}

/** The slot's proxy route for `container`. */
function slotRoute(inputs: DockerContainerInputs, containerName: string) {
    return { id: slotRouteId(inputs.name), hosts: proxyOf(inputs).hosts, dial: `${containerName}:${inputs.containerPort}` };
}

/**
 * A release behind the shared proxy: the new container starts on the proxy's network and must
 * answer its health path through a candidate route only the gate uses; then one admin request
 * routes the slot to it (Caddy swaps gracefully: nothing in flight is dropped). For
 * `watchSeconds` it must keep answering, else the route goes back to the old container (kept
 * running until then) and the update fails; then the old one drains for what remains of
 * `drainSeconds` and is removed.
 *
 * Crash safety: the proxy's route is the truth of what serves. An interrupted run leaves at most
 * a candidate container and route (removed by the next run) or an old container beside the routed
 * new one (removed by the next run, which finds the release already routed).
 */
async function deployBehindProxy(inputs: DockerContainerInputs, previous?: DockerContainerOutputs): Promise<DockerContainerOutputs> {
    const docker = connect(inputs.dockerHost);
    const settings = proxyOf(inputs);
    await pullImage(docker, inputs.image, inputs.registryAuth, inputs.image);
    await testStep("pulled");
    let slot = await slotContainers(docker, inputs);
    // A container of the recreate swap holds the published port the proxy needs: the one gap of the move to the proxy.
    const publishing = slot.filter((c) => c.published !== "" && c.running);
    if (publishing.length > 0 && !(await findProxy(docker, settings.name, inputs.bindAddress, inputs.hostPort))) {
        await removeAll(docker, publishing);
        slot = await slotContainers(docker, inputs);
    }
    const proxy = await ensureProxy(docker, {
        image: settings.image,
        bindAddress: inputs.bindAddress,
        hostPort: inputs.hostPort,
        registryAuth: inputs.registryAuth,
    });
    const routes = await readRoutes(proxy);
    const mine = slotRouteId(inputs.name);
    withRoute(routes, slotRoute(inputs, "-")); // refuses a host another slot has, before anything starts
    const routedDial = routes.find((r) => r.id === mine)?.dial;
    const routed = slot.find((c) => c.running && routedDial === `${c.name}:${inputs.containerPort}`);
    const done = routed && routed.releaseId === inputs.releaseId && routed.image === inputs.image;
    if (done) {
        // An earlier, interrupted run already switched to this very release (or nothing changed but
        // settings the route carries). Killed after its switch it was never watched: done only if it answers.
        await waitHealthyViaProxy(docker, routed.id, inputs, proxy, inputs.proxyHost ?? new URL(proxy.url).host).catch(async (e: Error) => {
            const logs = await lastLogLines(docker, routed.id, inputs.secretEnv);
            throw new Error(
                `release ${inputs.releaseId} (${inputs.image}) is routed but does not answer its health path: ${e.message}; release another or roll back${logs ? `\nlast log lines:\n${logs}` : ""}`,
            );
        });
        await updateRoutes(proxy, (now) => withoutRoute(withRoute(now, slotRoute(inputs, routed.name)), candidateRouteId(inputs.name)));
        await removeAll(docker, slot, routed.id);
        return { ...inputs, containerId: routed.id, containerName: routed.name, upstream: slotRoute(inputs, routed.name).dial, ...samePhase(inputs, previous) };
    }
    // The release phase runs once per release, before the release takes traffic.
    const phase = samePhase(inputs, previous).releasePhase ?? (await releasePhase(docker, inputs));
    const recorded = phase ? { releasePhase: phase } : {};
    // What serves nothing is left from an interrupted run: candidates, stopped containers.
    await removeAll(
        docker,
        slot.filter((c) => c.id !== routed?.id),
    );

    const started = await startOnNetwork(docker, inputs, settings.name);
    await testStep("live-started");
    const candidate = { id: candidateRouteId(inputs.name), hosts: [candidateHost(inputs.name)], dial: `${started.name}:${inputs.containerPort}` };
    try {
        await updateRoutes(proxy, (now) => withRoute(now, candidate));
        await waitHealthyViaProxy(docker, started.id, inputs, proxy, candidateHost(inputs.name));
    } catch (e) {
        const logs = await lastLogLines(docker, started.id, inputs.secretEnv);
        await updateRoutes(proxy, (now) => withoutRoute(now, candidate.id)).catch(() => undefined);
        await removeContainer(docker, started.id).catch(() => undefined);
        throw new Error(
            `release ${inputs.releaseId} (${inputs.image}) did not become healthy: ${(e as Error).message}; it received no traffic${routed ? " and the previous release keeps serving" : ""}${logs ? `\nlast log lines:\n${logs}` : ""}`,
        );
    }
    // The switch: one admin request; the candidate route goes with it. Refused (another slot took
    // the host meanwhile): the candidate goes, what served keeps serving.
    await updateRoutes(proxy, (now) => withoutRoute(withRoute(now, slotRoute(inputs, started.name)), candidate.id)).catch(async (e: Error) => {
        await updateRoutes(proxy, (now) => withoutRoute(now, candidate.id)).catch(() => undefined);
        await removeContainer(docker, started.id).catch(() => undefined);
        throw e;
    });
    const switchedAt = Date.now();
    await testStep("switched");
    if (routed) {
        const failure = await watchRelease(docker, started.id, inputs, proxy, settings.watchSeconds);
        if (failure) {
            const logs = await lastLogLines(docker, started.id, inputs.secretEnv);
            await updateRoutes(proxy, (now) => withRoute(now, slotRoute(inputs, routed.name)));
            await removeContainer(docker, started.id);
            throw new Error(
                `release ${inputs.releaseId} failed inside the watch window (delivery:watchSeconds ${settings.watchSeconds}): ${failure}; the proxy routes to the previous release ${routed.releaseId} (${routed.name}) again${logs ? `\nlast log lines:\n${logs}` : ""}`,
            );
        }
        // Drain: requests the old container took before the switch finish; then it goes.
        const left = settings.drainSeconds * 1000 - (Date.now() - switchedAt);
        if (left > 0) {
            await new Promise((r) => setTimeout(r, left));
        }
        await docker
            .getContainer(routed.id)
            .stop({ t: 10 })
            .catch(() => undefined);
        await removeContainer(docker, routed.id);
    }
    return { ...inputs, containerId: started.id, containerName: started.name, upstream: slotRoute(inputs, started.name).dial, ...recorded };
}

/** The recorded release phase when it ran for this very release and command: it does not run again. */
function samePhase(inputs: DockerContainerInputs, previous?: DockerContainerOutputs): { releasePhase?: ReleasePhaseRecord } {
    const p = previous?.releasePhase;
    return p && p.releaseId === inputs.releaseId && p.command === inputs.releaseCommand ? { releasePhase: p } : {};
}

/** The slot's route goes, and the proxy with it when no app is left. */
async function leaveProxy(docker: import("dockerode"), props: DockerContainerInputs): Promise<void> {
    const name = proxyName(props.bindAddress, props.hostPort);
    const proxy = await findProxy(docker, name, props.bindAddress, props.hostPort);
    if (proxy) {
        await updateRoutes(proxy, (now) => withoutRoute(now, slotRouteId(props.name), candidateRouteId(props.name)));
    }
    await removeProxyIfUnused(docker, name, props.bindAddress, props.hostPort);
}

/** Today's swap (delivery:swap recreate): the old container stops, the new one takes the published port. */
async function deployRecreate(inputs: DockerContainerInputs, previous?: DockerContainerOutputs): Promise<DockerContainerOutputs> {
    const docker = connect(inputs.dockerHost);
    await pullImage(docker, inputs.image, inputs.registryAuth, inputs.image);
    await testStep("pulled");
    // A slot moving back from the proxy: its containers are on the proxy's network, unpublished.
    const behind = (await slotContainers(docker, inputs)).filter((c) => c.published === "");
    if (behind.length > 0) {
        await removeAll(docker, behind);
        await leaveProxy(docker, inputs);
    }
    const slot = await slotContainers(docker, inputs);
    const live = slot.filter((c) => c.running && c.role === "live");
    // An earlier, interrupted run already put this very release on the published port: done.
    const done = live.find((c) => c.releaseId === inputs.releaseId && c.image === inputs.image && c.published === `${inputs.bindAddress}:${inputs.hostPort}`);
    if (done) {
        await removeAll(docker, slot, done.id);
        return { ...inputs, containerId: done.id, containerName: done.name, ...samePhase(inputs, previous) };
    }
    // The release phase runs once per release, before the release takes traffic.
    const phase = samePhase(inputs, previous).releasePhase ?? (await releasePhase(docker, inputs));
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
    "swap",
    "drainSeconds",
    "watchSeconds",
    "proxyImage",
    "proxyHost",
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
        if ((props.swap ?? "recreate") === "proxy") {
            // What serves is what the proxy routes to: a killed container, a stopped proxy or a
            // route pointed elsewhere by hand shows as drift (containerId "" or another upstream).
            const proxy = await findProxy(docker, proxyName(props.bindAddress, props.hostPort), props.bindAddress, props.hostPort);
            const dial = proxy ? (await readRoutes(proxy)).find((r) => r.id === slotRouteId(props.name))?.dial : undefined;
            const live = (await slotContainers(docker, props)).filter((c) => c.running && c.role === "live");
            const routed = live.find((c) => dial === `${c.name}:${props.containerPort}`);
            return {
                id,
                props: {
                    ...props,
                    image: routed?.image ?? props.image,
                    releaseId: routed?.releaseId || props.releaseId,
                    containerId: routed?.id ?? "",
                    containerName: routed?.name ?? props.containerName,
                    upstream: dial ?? "",
                },
            };
        }
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
        // A container that vanished (refresh found it gone) is started again; so is a route
        // that no longer leads to the recorded container (the proxy pointed elsewhere).
        const gone = olds.containerId === "" || ((news.swap ?? "proxy") === "proxy" && olds.upstream !== `${olds.containerName}:${olds.containerPort}`);
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
            if ((props.swap ?? "recreate") === "proxy") {
                await leaveProxy(docker, props);
            }
        } finally {
            await testStep("end");
        }
    },
};

export type DockerContainerArgs = ArgsOf<DockerContainerInputs>;

export class DockerContainer extends DynamicResource {
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
                upstream: undefined,
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
