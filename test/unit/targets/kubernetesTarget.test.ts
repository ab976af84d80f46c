import { describe, expect, it } from "vitest";
import { KubernetesTarget, KubernetesTargetArgs } from "../../../components/targets/kubernetesTarget";
import { Recorder, SHA, fakeDigest, isSecretValue, plain, settle, kubernetesTargetArgs, useMocks } from "../harness";

const IMAGE = `127.0.0.1:5000/delivery/app@${fakeDigest("k")}`;

const args: KubernetesTargetArgs = {
    ...kubernetesTargetArgs("staging", IMAGE, "r-123", "k8s-secret-value"),
    rolloutTimeoutSeconds: 120,
};

async function deploy(rec: Recorder, extra: Partial<KubernetesTargetArgs> = {}) {
    const t = new KubernetesTarget("app", { ...args, ...extra });
    await settle(rec);
    return t;
}

describe("KubernetesTarget", () => {
    const mocks = useMocks({ stack: "staging" });

    it("creates the namespace with the standard labels", async () => {
        await deploy(mocks());
        const ns = plain(mocks().one("kubernetes:core/v1:Namespace").inputs);
        expect(ns.metadata).toEqual({
            name: "staging",
            annotations: { "pulumi.com/patchForce": "true" },
            labels: {
                "app.kubernetes.io/name": "app",
                "app.kubernetes.io/instance": "app-staging",
                "app.kubernetes.io/component": "web",
                "app.kubernetes.io/part-of": "delivery",
                "app.kubernetes.io/managed-by": "pulumi",
            },
        });
    });

    it("runs the digest-pinned image as non-root with probes, requests and limits", async () => {
        await deploy(mocks());
        const d = plain(mocks().one("kubernetes:apps/v1:Deployment").inputs);
        const pod = d.spec.template.spec;
        const c = pod.containers[0];
        expect(c.image).toBe(IMAGE);
        expect(c.readinessProbe).toMatchObject({ httpGet: { path: "/healthz", port: "http" } });
        expect(c.livenessProbe).toMatchObject({ httpGet: { path: "/healthz", port: "http" } });
        expect(c.resources).toEqual({ requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } });
        expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
        expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
        expect(c.ports).toEqual([{ name: "http", containerPort: 8080 }]);
        expect(c.lifecycle).toEqual({ preStop: { sleep: { seconds: 3 } } });
    });

    it("rolls without losing capacity and fails after the configured timeout", async () => {
        await deploy(mocks());
        const d = plain(mocks().one("kubernetes:apps/v1:Deployment").inputs);
        expect(d.spec.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
        expect(d.metadata.annotations["pulumi.com/timeoutSeconds"]).toBe("120");
        expect(d.spec.progressDeadlineSeconds).toBe(120);
        expect(d.spec.replicas).toBe(2);
    });

    it("gives the Service's wait for endpoints the same timeout: a first release whose pods never become Ready fails in time", async () => {
        // On create the provider waits for the Service to have a ready endpoint, 10 minutes by
        // default; with pods that never become Ready that held a first `up` long after the
        // Deployment had failed at its timeout (seen on the local cluster).
        await deploy(mocks());
        const svc = plain(mocks().one("kubernetes:core/v1:Service").inputs);
        expect(svc.metadata.annotations["pulumi.com/timeoutSeconds"]).toBe("120");
    });

    it("forces its server-side applies on every object, so a hand edit cannot block the next update", async () => {
        await deploy(mocks(), { ingressHost: "app.example.com" });
        const k8sObjects = mocks().resources.filter((r) => r.type.startsWith("kubernetes:") && r.custom);
        expect(k8sObjects.map((r) => r.type).sort()).toEqual([
            "kubernetes:apps/v1:Deployment",
            "kubernetes:core/v1:Namespace",
            "kubernetes:core/v1:Secret",
            "kubernetes:core/v1:Secret",
            "kubernetes:core/v1:Service",
            "kubernetes:networking.k8s.io/v1:Ingress",
            "kubernetes:policy/v1:PodDisruptionBudget",
        ]);
        for (const r of k8sObjects) {
            expect(plain(r.inputs).metadata.annotations?.["pulumi.com/patchForce"], `${r.type} ${r.name}`).toBe("true");
        }
    });

    it("labels pods with the release and rolls them when the config changes", async () => {
        await deploy(mocks());
        const d = plain(mocks().one("kubernetes:apps/v1:Deployment").inputs);
        expect(d.spec.selector.matchLabels).toEqual({ "app.kubernetes.io/name": "app", "app.kubernetes.io/instance": "app-staging" });
        expect(d.spec.template.metadata.labels["app.kubernetes.io/version"]).toBe(SHA);
        expect(d.spec.template.metadata.annotations).toEqual({ "delivery.dev/release-id": "r-123", "delivery.dev/config-hash": "sha256:abc" });
    });

    it("keeps config in a secret Secret read with envFrom, plain settings in env", async () => {
        await deploy(mocks());
        const secrets = mocks().ofType("kubernetes:core/v1:Secret");
        const config = secrets.find((s) => plain(s.inputs).type === "Opaque")!;
        expect(isSecretValue(config.inputs.stringData)).toBe(true);
        expect(plain(config.inputs.stringData)).toEqual({ SECRET_KEY: "k8s-secret-value" });
        const c = plain(mocks().one("kubernetes:apps/v1:Deployment").inputs).spec.template.spec.containers[0];
        expect(c.envFrom).toEqual([{ secretRef: { name: "app-config" } }]);
        expect(c.env).toEqual([
            { name: "GREETING", value: "hi" },
            { name: "RELEASE_ID", value: "r-123" },
            { name: "PORT", value: "8080" },
        ]);
        expect(JSON.stringify(c)).not.toContain("k8s-secret-value");
    });

    it("pulls with an image pull secret made of the registry credentials", async () => {
        await deploy(mocks());
        const pull = mocks()
            .ofType("kubernetes:core/v1:Secret")
            .find((s) => plain(s.inputs).type === "kubernetes.io/dockerconfigjson")!;
        expect(isSecretValue(pull.inputs.stringData)).toBe(true);
        expect(plain(pull.inputs.stringData)).toEqual({ ".dockerconfigjson": '{"auths":{}}' });
        const pod = plain(mocks().one("kubernetes:apps/v1:Deployment").inputs).spec.template.spec;
        expect(pod.imagePullSecrets).toEqual([{ name: "app-registry" }]);
    });

    it("exposes a ClusterIP Service on port 80", async () => {
        const t = await deploy(mocks());
        const svc = plain(mocks().one("kubernetes:core/v1:Service").inputs);
        expect(svc.spec).toEqual({
            type: "ClusterIP",
            selector: { "app.kubernetes.io/name": "app", "app.kubernetes.io/instance": "app-staging" },
            ports: [{ name: "http", port: 80, targetPort: "http" }],
        });
        expect(t.url).toBe("http://app.staging.svc.cluster.local");
    });

    it("adds a PodDisruptionBudget only with more than one replica", async () => {
        await deploy(mocks());
        expect(plain(mocks().one("kubernetes:policy/v1:PodDisruptionBudget").inputs).spec).toEqual({
            maxUnavailable: 1,
            selector: { matchLabels: { "app.kubernetes.io/name": "app", "app.kubernetes.io/instance": "app-staging" } },
        });
    });

    it("has no PodDisruptionBudget and no Ingress for one replica without a host", async () => {
        await deploy(mocks(), { replicas: 1 });
        expect(mocks().ofType("kubernetes:policy/v1:PodDisruptionBudget")).toHaveLength(0);
        expect(mocks().ofType("kubernetes:networking.k8s.io/v1:Ingress")).toHaveLength(0);
    });

    it("creates an Ingress for the environment's host", async () => {
        const t = await deploy(mocks(), { ingressHost: "staging.example.com", ingressClassName: "nginx" });
        const ing = plain(mocks().one("kubernetes:networking.k8s.io/v1:Ingress").inputs);
        expect(ing.spec.ingressClassName).toBe("nginx");
        expect(ing.spec.rules[0].host).toBe("staging.example.com");
        expect(ing.spec.rules[0].http.paths[0].backend).toEqual({ service: { name: "app", port: { name: "http" } } });
        expect(t.url).toBe("http://staging.example.com");
    });

    it("adds extra pod labels without touching the selector or the standard labels", async () => {
        await deploy(mocks(), { podLabels: { "example.com/team": "web", "app.kubernetes.io/name": "ignored" } });
        const d = plain(mocks().one("kubernetes:apps/v1:Deployment").inputs);
        expect(d.spec.template.metadata.labels["example.com/team"]).toBe("web");
        expect(d.spec.template.metadata.labels["app.kubernetes.io/name"]).toBe("app");
        expect(d.spec.selector.matchLabels).toEqual({ "app.kubernetes.io/name": "app", "app.kubernetes.io/instance": "app-staging" });
    });

    it("places the pods and Jobs on the nodes of nodeSelector, tolerating their NoSchedule taint", async () => {
        await deploy(mocks(), { nodeSelector: { "delivery.dev/pool": "real" }, releaseCommand: "true" });
        const pods = [
            plain(mocks().one("kubernetes:apps/v1:Deployment").inputs).spec.template.spec,
            plain(mocks().one("kubernetes:batch/v1:Job").inputs).spec.template.spec,
        ];
        for (const pod of pods) {
            expect(pod.nodeSelector).toEqual({ "delivery.dev/pool": "real" });
            expect(pod.tolerations).toEqual([{ key: "delivery.dev/pool", operator: "Equal", value: "real", effect: "NoSchedule" }]);
        }
    });

    it("sets no nodeSelector and no tolerations by default", async () => {
        await deploy(mocks());
        const pod = plain(mocks().one("kubernetes:apps/v1:Deployment").inputs).spec.template.spec;
        expect(pod.nodeSelector).toBeUndefined();
        expect(pod.tolerations).toBeUndefined();
    });

    it("uses an explicit kubeconfig through its own provider", async () => {
        await deploy(mocks(), { kubeconfig: "/tmp/kubeconfig" });
        expect(plain(mocks().one("pulumi:providers:kubernetes").inputs).kubeconfig).toBe("/tmp/kubeconfig");
    });
});
