import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { runtimeEnv } from "../release/runtimeEnv";
import { selectorLabels, standardLabels } from "./labels";

export interface KubernetesTargetArgs {
    readonly appName: string;
    readonly stack: string;
    /** Created by this component; one per stack (`staging`, `production`, `review-<slug>`). */
    readonly namespace: string;
    /** Digest-pinned image ref of the release. */
    readonly image: pulumi.Input<string>;
    readonly releaseId: pulumi.Input<string>;
    readonly commitSha: pulumi.Input<string>;
    /** Plain settings: container env, visible in diffs. */
    readonly env: Readonly<Record<string, string>>;
    /**
     * Secret settings: a Secret the pods read with `envFrom`. Leave it undefined when there are
     * none: an empty `stringData` is diffed as added on every run (the API server keeps no empty
     * data), which would replace the Secret on every update.
     */
    readonly secretEnv?: pulumi.Input<Readonly<Record<string, string>>>;
    /** Changes roll the pods even when only the Secret changed. */
    readonly configHash: pulumi.Input<string>;
    readonly replicas: number;
    readonly containerPort: number;
    readonly healthPath: string;
    readonly resources: {
        readonly cpuRequest: string;
        readonly cpuLimit: string;
        readonly memoryRequest: string;
        readonly memoryLimit: string;
    };
    /** Secret `.dockerconfigjson` for the image pull secret. */
    readonly dockerConfigJson: pulumi.Input<string>;
    /** A rollout that is not Available after this long fails `pulumi up`. Default 300. */
    readonly rolloutTimeoutSeconds?: number;
    /** Creates an Ingress for this host. Optional. */
    readonly ingressHost?: string;
    readonly ingressClassName?: string;
    /** The environment's public URL, if known. */
    readonly url?: string;
    /** A kubeconfig path or body; default: the ambient KUBECONFIG. */
    readonly kubeconfig?: string;
    /** Extra pod labels (never part of the selector). Default none. */
    readonly podLabels?: Readonly<Record<string, string>>;
    /** UID the app runs as; the app image declares the same. Default 10001. */
    readonly runAsUser?: number;
}

/**
 * The scale-out target: Namespace, config Secret, image pull Secret, Deployment with a
 * rolling update, probes, limits and a non-root security context, Service, optional
 * Ingress, and a PodDisruptionBudget when there is more than one replica.
 */
export class KubernetesTarget extends pulumi.ComponentResource {
    readonly url: string;
    readonly namespace: pulumi.Output<string>;
    readonly deploymentName: pulumi.Output<string>;

    constructor(name: string, args: KubernetesTargetArgs, opts?: pulumi.ComponentResourceOptions) {
        super("delivery:targets:KubernetesTarget", name, {}, opts);
        const provider = args.kubeconfig !== undefined ? new k8s.Provider(`${name}-provider`, { kubeconfig: args.kubeconfig }, { parent: this }) : undefined;
        const child = { parent: this, provider };
        const labels = standardLabels(args.appName, args.stack);
        // The stack owns every object it applies: a hand edit (`kubectl edit`, `kubectl set
        // image`, `kubectl scale`) takes over the fields it touches, and a server-side apply
        // without force may stop at that field conflict instead of restoring what the stack says.
        const owned = { "pulumi.com/patchForce": "true" };
        const selector = selectorLabels(args.appName, args.stack);

        // A change to a Secret's data replaces it, deleting it first (its name is fixed). The
        // Deployment names both Secrets as plain strings, with dependsOn for the order: a
        // reference to their outputs would make the engine replace the Deployment with them
        // (every pod deleted at once) instead of rolling it.
        const configName = `${args.appName}-config`;
        const pullName = `${args.appName}-registry`;
        const ns = new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: { name: args.namespace, labels, annotations: owned } }, child);
        const namespace = ns.metadata.name;

        const config = new k8s.core.v1.Secret(
            `${name}-config`,
            {
                metadata: { name: configName, namespace, labels, annotations: owned },
                type: "Opaque",
                stringData: args.secretEnv === undefined ? undefined : pulumi.secret(pulumi.output(args.secretEnv).apply((s) => ({ ...s }))),
            },
            child,
        );
        const pull = new k8s.core.v1.Secret(
            `${name}-pull`,
            {
                metadata: { name: pullName, namespace, labels, annotations: owned },
                type: "kubernetes.io/dockerconfigjson",
                stringData: { ".dockerconfigjson": pulumi.secret(args.dockerConfigJson) },
            },
            child,
        );

        const probe = (initialDelaySeconds: number, failureThreshold: number) => ({
            httpGet: { path: args.healthPath, port: "http" },
            initialDelaySeconds,
            periodSeconds: 5,
            timeoutSeconds: 2,
            failureThreshold,
        });
        const timeout = args.rolloutTimeoutSeconds ?? 300;
        const deployment = new k8s.apps.v1.Deployment(
            `${name}-deployment`,
            {
                metadata: {
                    name: args.appName,
                    namespace,
                    labels,
                    annotations: {
                        ...owned,
                        // The provider waits for the rollout up to this long, then fails the update.
                        "pulumi.com/timeoutSeconds": String(timeout),
                    },
                },
                spec: {
                    replicas: args.replicas,
                    selector: { matchLabels: selector },
                    revisionHistoryLimit: 5,
                    progressDeadlineSeconds: timeout,
                    strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
                    template: {
                        metadata: {
                            labels: pulumi.output(args.commitSha).apply((sha) => ({ ...args.podLabels, ...standardLabels(args.appName, args.stack, sha) })),
                            annotations: {
                                "delivery.dev/release-id": args.releaseId,
                                "delivery.dev/config-hash": args.configHash,
                            },
                        },
                        spec: {
                            imagePullSecrets: [{ name: pullName }],
                            automountServiceAccountToken: false,
                            securityContext: { runAsNonRoot: true, runAsUser: args.runAsUser ?? 10001, runAsGroup: args.runAsUser ?? 10001 },
                            containers: [
                                {
                                    name: "app",
                                    image: args.image,
                                    imagePullPolicy: "IfNotPresent",
                                    ports: [{ name: "http", containerPort: args.containerPort }],
                                    env: [
                                        ...Object.entries(args.env).map(([n, value]) => ({ name: n, value })),
                                        ...Object.entries(runtimeEnv(args.releaseId, args.containerPort)).map(([n, value]) => ({ name: n, value })),
                                    ],
                                    envFrom: [{ secretRef: { name: configName } }],
                                    readinessProbe: probe(2, 3),
                                    livenessProbe: probe(10, 6),
                                    resources: {
                                        requests: { cpu: args.resources.cpuRequest, memory: args.resources.memoryRequest },
                                        limits: { cpu: args.resources.cpuLimit, memory: args.resources.memoryLimit },
                                    },
                                    securityContext: {
                                        allowPrivilegeEscalation: false,
                                        readOnlyRootFilesystem: true,
                                        capabilities: { drop: ["ALL"] },
                                    },
                                },
                            ],
                        },
                    },
                },
            },
            { ...child, dependsOn: [config, pull], customTimeouts: { create: `${timeout}s`, update: `${timeout}s` } },
        );

        const service = new k8s.core.v1.Service(
            `${name}-service`,
            {
                metadata: { name: args.appName, namespace, labels, annotations: owned },
                spec: { type: "ClusterIP", selector, ports: [{ name: "http", port: 80, targetPort: "http" }] },
            },
            child,
        );

        if (args.ingressHost !== undefined) {
            new k8s.networking.v1.Ingress(
                `${name}-ingress`,
                {
                    metadata: {
                        name: args.appName,
                        namespace,
                        labels,
                        // Without an ingress controller no load balancer address ever appears; the
                        // Deployment's rollout is what gates the release.
                        annotations: { ...owned, "pulumi.com/skipAwait": "true" },
                    },
                    spec: {
                        ingressClassName: args.ingressClassName,
                        rules: [
                            {
                                host: args.ingressHost,
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

        if (args.replicas > 1) {
            new k8s.policy.v1.PodDisruptionBudget(
                `${name}-pdb`,
                { metadata: { name: args.appName, namespace, labels, annotations: owned }, spec: { maxUnavailable: 1, selector: { matchLabels: selector } } },
                child,
            );
        }

        this.namespace = namespace;
        this.deploymentName = deployment.metadata.name;
        this.url = args.url ?? (args.ingressHost !== undefined ? `http://${args.ingressHost}` : `http://${args.appName}.${args.namespace}.svc.cluster.local`);
        this.registerOutputs({ url: this.url, namespace: this.namespace, deployment: this.deploymentName });
    }
}
