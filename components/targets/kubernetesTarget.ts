import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ArgName, ArgProblem, argPath, CheckedComponent, wholeNumberProblem } from "../argProblems";
import { runtimeEnv } from "../release/runtimeEnv";
import { ReleaseVerification } from "../release/verification";
import { VerificationCheck, VerificationResult } from "../release/verificationResult";
import { selectorLabels, standardLabels } from "./labels";
import { PullCheck } from "./pullCheck";
import { quantityValue } from "./quantity";
import { DEFAULT_COMMAND_TIMEOUT_SECONDS, PORT_RANGE, ReleaseTargetArgs } from "./targetArgs";

/** CPU and memory of the app container; a request may not exceed its limit. */
export interface ContainerResources {
    /** @example "50m" */
    readonly cpuRequest: string;
    /** @example "500m" */
    readonly cpuLimit: string;
    /** @example "64Mi" */
    readonly memoryRequest: string;
    /** @example "256Mi" */
    readonly memoryLimit: string;
}

export interface KubernetesTargetArgs extends ReleaseTargetArgs {
    /** Created by this component; one per stack (`staging`, `production`, `review-<slug>`). @example "review-feature-x" */
    readonly namespace: string;
    /**
     * Secret settings: a Secret the pods read with `envFrom`. Leave it undefined when there are
     * none: an empty `stringData` is diffed as added on every run (the API server keeps no empty
     * data), which would replace the Secret on every update.
     * @default undefined (the Secret has no data)
     */
    readonly secretEnv?: pulumi.Input<Readonly<Record<string, string>>>;
    /** Changes roll the pods even when only the Secret changed. @example "sha256:…" */
    readonly configHash: pulumi.Input<string>;
    /** Pods of the Deployment, 1 to 50; more than one adds a PodDisruptionBudget. @example 2 */
    readonly replicas: number;
    /** Port the app listens on (its `PORT`). @example 8080 */
    readonly containerPort: number;
    /** Readiness and liveness probe path. @example "/healthz" */
    readonly healthPath: string;
    readonly resources: ContainerResources;
    /** Secret `.dockerconfigjson` for the image pull secret (Registry.dockerConfigJson). */
    readonly dockerConfigJson: pulumi.Input<string>;
    /** The registry speaks plain HTTP (a loopback registry only): how the pull check asks it. @default false */
    readonly registryInsecure?: boolean;
    /**
     * What fixes pull credentials the registry refuses, for the pull check's error.
     * @default "set the registry credentials of the stack"
     * @example "pulumi config set --secret delivery:registryPassword <password> --stack staging"
     */
    readonly pullCredentialsFix?: string;
    /** A rollout that is not Available after this long fails `pulumi up`. @default 300 */
    readonly rolloutTimeoutSeconds?: number;
    /** Creates an Ingress for this host. @default undefined (no Ingress) @example "staging.example.com" */
    readonly ingressHost?: string;
    /** The Ingress's class; needs ingressHost. @default undefined (the cluster's default class) @example "nginx" */
    readonly ingressClassName?: string;
    /** The environment's public URL, if known. @default `http://<ingressHost>`, else the Service's cluster DNS name */
    readonly url?: string;
    /** A kubeconfig path or body. @default the ambient KUBECONFIG (the default provider) */
    readonly kubeconfig?: string;
    /** Extra pod labels (never part of the selector). @default {} @example { team: "web" } */
    readonly podLabels?: Readonly<Record<string, string>>;
    /**
     * Nodes the pods (app and Jobs) run on: a nodeSelector of these labels, and a toleration of a
     * NoSchedule taint with the same key and value (the dedicated-nodes pattern).
     * @default {} (any untainted node) @example { "delivery.dev/pool": "real" }
     */
    readonly nodeSelector?: Readonly<Record<string, string>>;
    /** UID the app runs as; the app image declares the same. @default 10001 */
    readonly runAsUser?: number;
}

/** The args kubernetesTargetProblems reads; the config reader passes what it parsed. */
export type KubernetesTargetRules = Partial<Pick<KubernetesTargetArgs, "replicas" | "containerPort" | "ingressHost" | "ingressClassName">> & {
    readonly resources?: Partial<ContainerResources>;
};

/** What a cluster would refuse in these args, before anything is applied. */
/** Pods a Deployment may ask for here: at least one, and few enough for one small cluster. */
export const REPLICAS_RANGE = { min: 1, max: 50 } as const;

export function kubernetesTargetProblems(args: KubernetesTargetRules, name: ArgName = argPath): ArgProblem[] {
    const problems: ArgProblem[] = [
        ...wholeNumberProblem("replicas", args.replicas, REPLICAS_RANGE.min, REPLICAS_RANGE.max, name),
        ...wholeNumberProblem("containerPort", args.containerPort, PORT_RANGE.min, PORT_RANGE.max, name),
    ];
    if (args.ingressClassName !== undefined && args.ingressHost === undefined) {
        problems.push({ arg: "ingressHost", message: `${name("ingressHost")}: is required when ${name("ingressClassName")} is set (an Ingress needs a host)` });
    }
    return [...problems, ...resourcesProblems(args.resources ?? {}, name)];
}

/** A request above its limit, which Kubernetes rejects. */
export function resourcesProblems(resources: Partial<ContainerResources>, name: ArgName = argPath): ArgProblem[] {
    const problems: ArgProblem[] = [];
    for (const [limit, request] of [
        ["cpuLimit", "cpuRequest"],
        ["memoryLimit", "memoryRequest"],
    ] as const) {
        const l = resources[limit];
        const r = resources[request];
        if (l !== undefined && r !== undefined && quantityValue(r) > quantityValue(l)) {
            const arg = `resources.${request}`;
            problems.push({ arg, message: `${name(arg)}: ${r} is more than ${name(`resources.${limit}`)} ${l}; Kubernetes rejects a request above its limit` });
        }
    }
    return problems;
}

/** What every object of the target shares. */
interface Scope {
    readonly args: KubernetesTargetArgs;
    readonly name: string;
    readonly child: pulumi.CustomResourceOptions;
    readonly namespace: pulumi.Output<string>;
    readonly labels: Record<string, string>;
    readonly selector: Record<string, string>;
}

/**
 * @pulumi/kubernetes, loaded when the first KubernetesTarget is made, not with this module:
 * components/config.ts reads this module's checks in every stack, Docker-target ones too, and
 * a Docker-target run need not load the Kubernetes SDK (0.1–0.3 s of its start here).
 */
let k8sModule: typeof k8s | undefined;
const kube = (): typeof k8s => (k8sModule ??= require("@pulumi/kubernetes") as typeof k8s);

// The stack owns every object it applies: a hand edit (`kubectl edit`, `kubectl set image`,
// `kubectl scale`) takes over the fields it touches, and a server-side apply without force
// may stop at that field conflict instead of restoring what the stack says.
const OWNED = { "pulumi.com/patchForce": "true" };

/** The metadata of a namespaced object the stack owns: its name, the app's labels, patchForce and `annotations`. */
function ownedMetadata({ namespace, labels }: Scope, name: string, annotations: Record<string, pulumi.Input<string>> = {}) {
    return { name, namespace, labels, annotations: { ...OWNED, ...annotations } };
}

/**
 * The scale-out target: Namespace, config Secret, image pull Secret, Deployment with a
 * rolling update, probes, limits and a non-root security context, Service, optional
 * Ingress, and a PodDisruptionBudget when there is more than one replica.
 */
export class KubernetesTarget extends CheckedComponent {
    readonly url: string;
    readonly namespace: pulumi.Output<string>;
    readonly deploymentName: pulumi.Output<string>;
    /** The recorded verification of the release that runs (rollout, verify Job). */
    readonly verification: pulumi.Output<VerificationResult>;

    constructor(name: string, args: KubernetesTargetArgs, opts?: pulumi.ComponentResourceOptions) {
        super("delivery:targets:KubernetesTarget", name, kubernetesTargetProblems(args), opts);
        const provider =
            args.kubeconfig !== undefined ? new (kube().Provider)(`${name}-provider`, { kubeconfig: args.kubeconfig }, { parent: this }) : undefined;
        const child = { parent: this, provider };
        const labels = standardLabels(args.appName, args.stack);
        const ns = new (kube().core.v1.Namespace)(`${name}-namespace`, { metadata: { name: args.namespace, labels, annotations: OWNED } }, child);
        const scope: Scope = { args, name, child, namespace: ns.metadata.name, labels, selector: selectorLabels(args.appName, args.stack) };

        const secrets = [createConfigSecret(scope), createPullSecret(scope)];
        // The release phase: a Job of the new image and config that must complete before the Deployment rolls.
        const releaseJob = args.releaseCommand ? createCommandJob(scope, "release", args.releaseCommand, secrets) : undefined;
        const deployment = createDeployment(scope, releaseJob ? [...secrets, releaseJob] : secrets);
        // Beside the Deployment, not before it: refused credentials fail the update with the
        // fix named, and the pods show the ImagePullBackOff they cause. The check fails only
        // after the rollout timeout (and 10 s): a failure while the provider awaits a new
        // Deployment left that await hanging past its timeout here (pulumi-kubernetes 4.25).
        new PullCheck(
            `${name}-pull-check`,
            {
                imageRef: args.image,
                dockerConfigJson: args.dockerConfigJson,
                insecure: args.registryInsecure ?? false,
                fix: args.pullCredentialsFix ?? "set the registry credentials of the stack",
                graceSeconds: rolloutTimeout(args) + 10,
            },
            { parent: this, dependsOn: secrets },
        );
        const service = createService(scope);
        if (args.ingressHost !== undefined) {
            createIngress(scope, args.ingressHost, service, deployment);
        }
        if (args.replicas > 1) {
            createDisruptionBudget(scope);
        }

        const verifyJob = args.verifyCommand ? createCommandJob(scope, "verify", args.verifyCommand, [...secrets, deployment]) : undefined;
        const verification = new ReleaseVerification(
            `${name}-verification`,
            {
                releaseId: args.releaseId,
                image: args.image,
                healthPath: args.healthPath,
                verifyCommand: args.verifyCommand,
                env: { ...args.env },
                secretEnv: {},
                containerPort: args.containerPort,
                timeoutSeconds: args.commandTimeoutSeconds ?? DEFAULT_COMMAND_TIMEOUT_SECONDS,
                observed: observedChecks(args, deployment, verifyJob),
            },
            { parent: this, dependsOn: verifyJob ? [deployment, verifyJob] : [deployment] },
        );
        this.verification = verification.result;

        this.namespace = scope.namespace;
        this.deploymentName = deployment.metadata.name;
        this.url = args.url ?? (args.ingressHost !== undefined ? `http://${args.ingressHost}` : `http://${args.appName}.${args.namespace}.svc.cluster.local`);
        this.registerOutputs({ url: this.url, namespace: this.namespace, deployment: this.deploymentName, verification: this.verification });
    }
}

// A change to a Secret's data replaces it, deleting it first (its name is fixed). The
// Deployment names both Secrets as plain strings, with dependsOn for the order: a reference
// to their outputs would make the engine replace the Deployment with them (every pod deleted
// at once) instead of rolling it.
const configSecretName = (args: KubernetesTargetArgs) => `${args.appName}-config`;
const pullSecretName = (args: KubernetesTargetArgs) => `${args.appName}-registry`;

/** A Secret the stack owns: `<name>-<role>` in the stack, `secretName` in the namespace. */
function createSecret(
    scope: Scope,
    role: string,
    secretName: string,
    type: string,
    stringData: k8s.types.input.core.v1.Secret["stringData"],
): k8s.core.v1.Secret {
    return new (kube().core.v1.Secret)(`${scope.name}-${role}`, { metadata: ownedMetadata(scope, secretName), type, stringData }, scope.child);
}

function createConfigSecret(scope: Scope): k8s.core.v1.Secret {
    const { secretEnv } = scope.args;
    const data = secretEnv === undefined ? undefined : pulumi.secret(pulumi.output(secretEnv).apply((s) => ({ ...s })));
    return createSecret(scope, "config", configSecretName(scope.args), "Opaque", data);
}

function createPullSecret(scope: Scope): k8s.core.v1.Secret {
    return createSecret(scope, "pull", pullSecretName(scope.args), "kubernetes.io/dockerconfigjson", {
        ".dockerconfigjson": pulumi.secret(scope.args.dockerConfigJson),
    });
}

/** Seconds the provider waits for the release's pods (the Deployment's rollout, the Service's endpoints) before it fails the update. */
function rolloutTimeout(args: KubernetesTargetArgs): number {
    return args.rolloutTimeoutSeconds ?? 300;
}

/** The provider's wait on an object that waits for the release's pods: the annotation it reads, and the same custom timeouts. */
function awaitsPods(args: KubernetesTargetArgs): { annotations: Record<string, string>; customTimeouts: pulumi.CustomTimeouts } {
    const timeout = rolloutTimeout(args);
    return { annotations: { "pulumi.com/timeoutSeconds": String(timeout) }, customTimeouts: { create: `${timeout}s`, update: `${timeout}s` } };
}

function createDeployment(scope: Scope, secrets: pulumi.Resource[]): k8s.apps.v1.Deployment {
    const { args, name, child, selector } = scope;
    const timeout = rolloutTimeout(args);
    const wait = awaitsPods(args);
    return new (kube().apps.v1.Deployment)(
        `${name}-deployment`,
        {
            // The provider waits for the rollout up to this long, then fails the update.
            metadata: ownedMetadata(scope, args.appName, wait.annotations),
            spec: {
                replicas: args.replicas,
                selector: { matchLabels: selector },
                revisionHistoryLimit: 5,
                progressDeadlineSeconds: timeout,
                strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
                template: podTemplate(args),
            },
        },
        { ...child, dependsOn: secrets, customTimeouts: wait.customTimeouts },
    );
}

/** nodeSelector and tolerations of the pods: the nodes args.nodeSelector names, tainted or not. */
export function placement(args: Pick<KubernetesTargetArgs, "nodeSelector">): Pick<k8s.types.input.core.v1.PodSpec, "nodeSelector" | "tolerations"> {
    const entries = Object.entries(args.nodeSelector ?? {});
    if (entries.length === 0) {
        return {};
    }
    return {
        nodeSelector: Object.fromEntries(entries),
        tolerations: entries.map(([key, value]) => ({ key, operator: "Equal", value, effect: "NoSchedule" })),
    };
}

function podTemplate(args: KubernetesTargetArgs): k8s.types.input.core.v1.PodTemplateSpec {
    const uid = args.runAsUser ?? 10001;
    return {
        metadata: {
            labels: pulumi.output(args.commitSha).apply((sha) => ({ ...args.podLabels, ...standardLabels(args.appName, args.stack, sha) })),
            annotations: {
                "delivery.dev/release-id": args.releaseId,
                "delivery.dev/config-hash": args.configHash,
            },
        },
        spec: {
            imagePullSecrets: [{ name: pullSecretName(args) }],
            automountServiceAccountToken: false,
            ...placement(args),
            securityContext: { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid },
            containers: [appContainer(args)],
        },
    };
}

/** How long a deleted pod keeps serving before SIGTERM (well within the 30 s grace period). */
export const PRE_STOP_SECONDS = 3;

function appContainer(args: KubernetesTargetArgs): k8s.types.input.core.v1.Container {
    const probe = (initialDelaySeconds: number, failureThreshold: number) => ({
        httpGet: { path: args.healthPath, port: "http" },
        initialDelaySeconds,
        periodSeconds: 5,
        timeoutSeconds: 2,
        failureThreshold,
    });
    return {
        name: "app",
        image: args.image,
        imagePullPolicy: "IfNotPresent",
        ports: [{ name: "http", containerPort: args.containerPort }],
        env: [...Object.entries(args.env), ...Object.entries(runtimeEnv(args.releaseId, args.containerPort))].map(([n, value]) => ({ name: n, value })),
        envFrom: [{ secretRef: { name: configSecretName(args) } }],
        readinessProbe: probe(2, 3),
        livenessProbe: probe(10, 6),
        // A pod being deleted keeps serving while kube-proxies and load balancers drop it
        // from the Service (the app stops at once on SIGTERM): no request of a roll is lost.
        lifecycle: { preStop: { sleep: { seconds: PRE_STOP_SECONDS } } },
        resources: {
            requests: { cpu: args.resources.cpuRequest, memory: args.resources.memoryRequest },
            limits: { cpu: args.resources.cpuLimit, memory: args.resources.memoryLimit },
        },
        securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
        },
    };
}

function createService(scope: Scope): k8s.core.v1.Service {
    const { args, name, child, selector } = scope;
    // On create the provider waits for a ready endpoint (10 minutes by default): with pods that
    // never become Ready a first `up` hung long after the Deployment had failed at its timeout.
    const wait = awaitsPods(args);
    return new (kube().core.v1.Service)(
        `${name}-service`,
        {
            metadata: ownedMetadata(scope, args.appName, wait.annotations),
            spec: { type: "ClusterIP", selector, ports: [{ name: "http", port: 80, targetPort: "http" }] },
        },
        { ...child, customTimeouts: wait.customTimeouts },
    );
}

function createIngress(scope: Scope, host: string, service: k8s.core.v1.Service, deployment: k8s.apps.v1.Deployment): k8s.networking.v1.Ingress {
    const { args, name, child } = scope;
    return new (kube().networking.v1.Ingress)(
        `${name}-ingress`,
        {
            // Without an ingress controller no load balancer address ever appears; the
            // Deployment's rollout is what gates the release.
            metadata: ownedMetadata(scope, args.appName, { "pulumi.com/skipAwait": "true" }),
            spec: {
                ingressClassName: args.ingressClassName,
                rules: [
                    {
                        host,
                        http: {
                            paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: service.metadata.name, port: { name: "http" } } } }],
                        },
                    },
                ],
            },
        },
        { ...child, dependsOn: [deployment] },
    );
}

function createDisruptionBudget(scope: Scope): k8s.policy.v1.PodDisruptionBudget {
    const { args, name, child, selector } = scope;
    return new (kube().policy.v1.PodDisruptionBudget)(
        `${name}-pdb`,
        { metadata: ownedMetadata(scope, args.appName), spec: { maxUnavailable: 1, selector: { matchLabels: selector } } },
        child,
    );
}

/** A Job's name for a release: `<app>-<role>-<release id>`, at most 63 characters. */
export function commandJobName(appName: string, role: string, releaseId: string): string {
    return `${appName}-${role}-${releaseId}`.slice(0, 63).replace(/-+$/, "");
}

/**
 * A one-off Job of the release's image with the release's config (env, the config Secret,
 * RELEASE_ID, PORT) that runs `command` with /bin/sh -c, once (no retries), within the command
 * timeout. Its name comes from the release id, so each release gets a new Job; the provider waits
 * until it completes and fails the update when it fails.
 */
function createCommandJob(scope: Scope, role: "release" | "verify", command: string, dependsOn: pulumi.Resource[]): k8s.batch.v1.Job {
    const { args, name, child } = scope;
    const timeout = args.commandTimeoutSeconds ?? DEFAULT_COMMAND_TIMEOUT_SECONDS;
    const uid = args.runAsUser ?? 10001;
    const app = appContainer(args);
    return new (kube().batch.v1.Job)(
        `${name}-${role}-job`,
        {
            metadata: {
                ...ownedMetadata(scope, pulumi.output(args.releaseId).apply((id) => commandJobName(args.appName, role, id)) as unknown as string, {
                    "pulumi.com/timeoutSeconds": String(timeout + 30),
                }),
                labels: { ...scope.labels, "app.kubernetes.io/component": role === "release" ? "release-phase" : "verify" },
            },
            spec: {
                backoffLimit: 0,
                activeDeadlineSeconds: timeout,
                template: {
                    metadata: {
                        labels: { "app.kubernetes.io/name": args.appName, "delivery.dev/role": role },
                        annotations: { "delivery.dev/release-id": args.releaseId },
                    },
                    spec: {
                        restartPolicy: "Never",
                        imagePullSecrets: [{ name: pullSecretName(args) }],
                        automountServiceAccountToken: false,
                        ...placement(args),
                        securityContext: { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid },
                        containers: [
                            {
                                name: role,
                                image: args.image,
                                imagePullPolicy: "IfNotPresent",
                                command: ["/bin/sh", "-c", command],
                                env: app.env,
                                envFrom: app.envFrom,
                                resources: app.resources,
                                securityContext: app.securityContext,
                            },
                        ],
                    },
                },
            },
        },
        { ...child, dependsOn, customTimeouts: { create: `${timeout + 30}s`, update: `${timeout + 30}s` }, deleteBeforeReplace: false },
    );
}

/**
 * The checks the Kubernetes target can make here: its pods are not reachable from the program
 * (a ClusterIP Service; on kwok the pods run no process at all), so instead of HTTP it records the
 * rollout the provider awaited (ready replicas of the Deployment whose pods carry this release id)
 * and, with a verify command, the verify Job's completion.
 */
function observedChecks(
    args: KubernetesTargetArgs,
    deployment: k8s.apps.v1.Deployment,
    verifyJob: k8s.batch.v1.Job | undefined,
): pulumi.Output<VerificationCheck[]> {
    const job = verifyJob ? pulumi.all([verifyJob.metadata.name, verifyJob.status]) : pulumi.output(undefined);
    return pulumi.all([args.releaseId, deployment.status, job]).apply(([id, status, j]) => {
        const ready = status?.readyReplicas ?? 0;
        const checks: VerificationCheck[] = [
            {
                name: "rollout",
                passed: ready >= args.replicas,
                detail: `Deployment ${args.appName}: ${ready}/${args.replicas} pods of release ${id} ready`,
            },
        ];
        if (j) {
            const [jobName, js] = j;
            const succeeded = (js?.succeeded ?? 0) > 0;
            checks.push({
                name: "verify-command",
                passed: succeeded,
                detail: `Job ${jobName}: ${succeeded ? "completed" : `not completed (succeeded ${js?.succeeded ?? 0}, failed ${js?.failed ?? 0})`}`,
            });
        }
        return checks;
    });
}
