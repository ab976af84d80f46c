import { isDigestPinned } from "../components/refs";

/**
 * The policy pack's rules as pure functions over a resource's type, URN and inputs, so
 * they are tested directly (test/unit/policy) and the pack itself (index.ts) only maps
 * them onto @pulumi/policy. Each returns the problems it found; none means compliant.
 */

type Props = Record<string, any>;

/** Kubernetes kinds that run containers, and where each keeps its pod spec. */
const POD_SPEC_PATHS: Record<string, string[]> = {
    "kubernetes:core/v1:Pod": ["spec"],
    "kubernetes:apps/v1:Deployment": ["spec", "template", "spec"],
    "kubernetes:apps/v1:StatefulSet": ["spec", "template", "spec"],
    "kubernetes:apps/v1:DaemonSet": ["spec", "template", "spec"],
    "kubernetes:apps/v1:ReplicaSet": ["spec", "template", "spec"],
    "kubernetes:batch/v1:Job": ["spec", "template", "spec"],
    "kubernetes:batch/v1:CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
};

/** The engine's type of the DockerContainer dynamic resource (components/targets/dockerContainer.ts). */
export const DOCKER_CONTAINER_TYPE = "pulumi-nodejs:dynamic/targets:DockerContainer";

/** The image build resource of @pulumi/docker-build. */
export const IMAGE_BUILD_TYPE = "docker-build:index:Image";

export function podSpecOf(type: string, props: Props): Props | undefined {
    const path = POD_SPEC_PATHS[type];
    if (!path) {
        return undefined;
    }
    let node: Props | undefined = props;
    for (const key of path) {
        node = node?.[key];
    }
    return node;
}

/** Whether resources of this type run containers, so that the image rule applies to them. */
export function runsContainers(type: string): boolean {
    return type === DOCKER_CONTAINER_TYPE || type in POD_SPEC_PATHS;
}

function containersOf(podSpec: Props): Props[] {
    return [...(podSpec.initContainers ?? []), ...(podSpec.containers ?? [])];
}

/** Images that a workload or Docker container would run by a mutable name. */
export function unpinnedImages(type: string, props: Props): string[] {
    if (type === DOCKER_CONTAINER_TYPE) {
        return isDigestPinned(String(props.image)) ? [] : [`image "${props.image}" is not pinned by digest`];
    }
    const podSpec = podSpecOf(type, props);
    if (!podSpec) {
        return [];
    }
    return containersOf(podSpec)
        .filter((c) => !isDigestPinned(String(c.image ?? "")))
        .map((c) => `container "${c.name}": image "${c.image ?? ""}" is not pinned by digest`);
}

/** What a Deployment's containers lack: probes, limits, a non-root user. */
export function hardeningProblems(type: string, props: Props): string[] {
    if (type !== "kubernetes:apps/v1:Deployment") {
        return [];
    }
    const podSpec = podSpecOf(type, props) ?? {};
    const podNonRoot = podSpec.securityContext?.runAsNonRoot === true;
    const problems: string[] = [];
    for (const c of podSpec.containers ?? []) {
        const missing: string[] = [];
        if (!c.readinessProbe) missing.push("a readinessProbe");
        if (!c.livenessProbe) missing.push("a livenessProbe");
        if (!c.resources?.limits?.cpu) missing.push("a CPU limit");
        if (!c.resources?.limits?.memory) missing.push("a memory limit");
        if (!(c.securityContext?.runAsNonRoot ?? podNonRoot)) missing.push("runAsNonRoot: true");
        if (missing.length > 0) {
            problems.push(`container "${c.name}" lacks ${missing.join(", ")}`);
        }
    }
    return problems;
}

/** The stack part of `urn:pulumi:<stack>::<project>::<type>::<name>`. */
export function stackOfUrn(urn: string): string {
    const match = /^urn:pulumi:([^:]+)::/.exec(urn);
    if (!match) {
        throw new Error(`not a Pulumi URN: ${urn}`);
    }
    return match[1];
}

/** An image build in a stack that must only promote what another stack built. */
export function buildInPromotionStack(type: string, urn: string, promotionStacks: readonly string[]): string[] {
    if (type !== IMAGE_BUILD_TYPE) {
        return [];
    }
    const stack = stackOfUrn(urn);
    return promotionStacks.includes(stack)
        ? [`stack "${stack}" builds an image; it must deploy the digest its upstream stack released (delivery:promoteFrom)`]
        : [];
}

/** The engine's type of the ReleaseLedger dynamic resource (components/release/releaseLedger.ts). */
export const RELEASE_LEDGER_TYPE = "pulumi-nodejs:dynamic/release:ReleaseLedger";

/** The overrides of the promotion gate (components/release/gate.ts GateOverride). */
const GATE_OVERRIDES = ["delivery:promoteUnverified", "PROMOTE_UNVERIFIED"];

/**
 * A release recorded in a promotion-only stack without the promotion gate's consent: its ledger
 * candidate must carry `gate` with decision `verified`, or `overridden` by an explicit override.
 * A rollback (`rollbackOf`: an entry the stack's own ledger holds) and a pin by hand (`pin`,
 * delivery:releaseRef) promote nothing, so they carry no gate. An unknown candidate (a preview
 * before the release id is known) is checked by `up`.
 */
export function ungatedRelease(type: string, urn: string, props: Props, promotionStacks: readonly string[]): string[] {
    if (type !== RELEASE_LEDGER_TYPE) {
        return [];
    }
    const stack = stackOfUrn(urn);
    const candidate = props.candidate;
    if (!promotionStacks.includes(stack) || !candidate || typeof candidate !== "object") {
        return [];
    }
    if (candidate.origin === "pin" || (typeof candidate.rollbackOf === "number" && String(candidate.origin).startsWith("rollback to "))) {
        return [];
    }
    const what = `stack "${stack}" records release "${candidate.origin}"`;
    const rule =
        "a promotion-only stack takes only a release whose verification passed (the promotion gate, components/release/gate.ts), or one let through by delivery:promoteUnverified or PROMOTE_UNVERIFIED";
    const gate = candidate.gate;
    if (!gate || typeof gate !== "object") {
        return [`${what} without a promotion gate decision; ${rule}`];
    }
    if (gate.decision === "verified") {
        return [];
    }
    if (gate.decision === "overridden" && GATE_OVERRIDES.includes(gate.overriddenBy)) {
        return [];
    }
    const by = gate.decision === "overridden" ? ` by ${JSON.stringify(gate.overriddenBy ?? null)}` : "";
    return [`${what} with promotion gate decision ${JSON.stringify(gate.decision ?? null)}${by}; ${rule}`];
}
