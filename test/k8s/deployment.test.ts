import { EngineEvent } from "@pulumi/pulumi/automation";
import { describe, expect, it } from "vitest";
import { ReleaseOutput, outputValue, resourceTypes } from "../support/workspace";
import { Json, kubectl, kubectlJson, replicaSets, useK8sStack, waitFor } from "./cluster";

/**
 * One stack on the kubernetes target against the local control plane: the first release,
 * a no-op preview, a hand-made drift that refresh finds and up reverts, a new release that
 * rolls the Deployment, and a release whose pods never become Ready.
 */
describe("kubernetes target: deploy, drift, roll out", () => {
    const NS = "k8s-e2e-deploy";
    const STACK = "k8s-e2e-deploy";
    const APP = "web";
    const SELECTOR = `app.kubernetes.io/instance=${APP}-${STACK}`;
    const HOST = "web.k8s-e2e.delivery.test";
    let first: ReleaseOutput;

    // Also after the failed rollout: destroy removes everything, namespace included.
    const fx = useK8sStack(STACK, NS, () => ({
        ingressHost: HOST,
        env: '{"APP_ENV":"k8s-e2e","GREETING":"Hej"}',
        secretEnv: { value: '{"SECRET_KEY":"k8s-e2e-not-so-secret"}', secret: true },
        cpuRequest: "20m",
        cpuLimit: "300m",
        memoryRequest: "32Mi",
        memoryLimit: "128Mi",
    }));

    const deployment = (): Json => kubectlJson("deployment", APP, "-n", NS);
    const condition = (d: Json, type: string): Json => (d.status?.conditions ?? []).find((c: Json) => c.type === type);
    const image = (d: Json): string => d.spec.template.spec.containers[0].image;

    it("pulumi up creates namespace, secrets, deployment, service, ingress and PDB; the Deployment is Available", async () => {
        const up = await fx.stack.up();
        expect(up.summary.result).toBe("succeeded");
        first = outputValue<ReleaseOutput>(up.outputs, "release");
        expect(first.imageRef).toMatch(new RegExp(`^127\\.0\\.0\\.1:5000/${fx.project.repository}@sha256:[a-f0-9]{64}$`));
        expect(first.commitSha).toBe(fx.project.git("rev-parse", "HEAD"));
        expect(outputValue<string>(up.outputs, "url")).toBe(`http://${HOST}`);

        const types = await resourceTypes(fx.stack);
        for (const t of [
            "kubernetes:core/v1:Namespace",
            "kubernetes:core/v1:Secret",
            "kubernetes:apps/v1:Deployment",
            "kubernetes:core/v1:Service",
            "kubernetes:networking.k8s.io/v1:Ingress",
            "kubernetes:policy/v1:PodDisruptionBudget",
            "docker-build:index:Image",
        ]) {
            expect(types).toContain(t);
        }
        expect(types.filter((t) => t === "kubernetes:core/v1:Secret")).toHaveLength(2);

        // What the API server holds, through kubectl.
        expect(kubectlJson("namespace", NS).status.phase).toBe("Active");
        const d = deployment();
        expect(condition(d, "Available")?.status).toBe("True");
        expect(d.status.readyReplicas).toBe(2);
        expect(d.status.updatedReplicas).toBe(2);
        expect(d.spec.progressDeadlineSeconds).toBe(300);
        expect(d.metadata.annotations["pulumi.com/timeoutSeconds"]).toBe("300");

        const service = kubectlJson("service", APP, "-n", NS);
        expect(service.spec.type).toBe("ClusterIP");
        expect(service.spec.selector).toEqual({ "app.kubernetes.io/name": APP, "app.kubernetes.io/instance": `${APP}-${STACK}` });
        expect(service.spec.ports[0]).toMatchObject({ port: 80, targetPort: "http" });
        const ingress = kubectlJson("ingress", APP, "-n", NS);
        expect(ingress.spec.rules[0].host).toBe(HOST);
        expect(ingress.spec.rules[0].http.paths[0].backend.service).toEqual({ name: APP, port: { name: "http" } });
        expect(kubectlJson("poddisruptionbudget", APP, "-n", NS).spec.maxUnavailable).toBe(1);
        const config = kubectlJson("secret", `${APP}-config`, "-n", NS);
        expect(config.type).toBe("Opaque");
        expect(Buffer.from(config.data.SECRET_KEY, "base64").toString()).toBe("k8s-e2e-not-so-secret");
        expect(kubectlJson("secret", `${APP}-registry`, "-n", NS).type).toBe("kubernetes.io/dockerconfigjson");

        // The pods the fake kubelet runs are the release's, and Ready.
        const pods = kubectlJson("pods", "-n", NS, "-l", SELECTOR).items as Json[];
        expect(pods).toHaveLength(2);
        for (const pod of pods) {
            expect(pod.spec.containers[0].image).toBe(first.imageRef);
            expect(pod.status.conditions.find((c: Json) => c.type === "Ready")?.status).toBe("True");
        }
    });

    it("kubectl get shows the digest-pinned image, the labels, probes, limits and the config", () => {
        const d = deployment();
        const out = kubectl("get", "deployment", APP, "-n", NS, "-o", "jsonpath={.spec.template.spec.containers[0].image}");
        expect(out).toBe(first.imageRef);
        expect(out).toMatch(/@sha256:[a-f0-9]{64}$/);

        const standard = {
            "app.kubernetes.io/name": APP,
            "app.kubernetes.io/instance": `${APP}-${STACK}`,
            "app.kubernetes.io/component": "web",
            "app.kubernetes.io/part-of": "delivery",
            "app.kubernetes.io/managed-by": "pulumi",
        };
        expect(d.metadata.labels).toMatchObject(standard);
        expect(d.spec.template.metadata.labels).toMatchObject({ ...standard, "app.kubernetes.io/version": first.commitSha });
        expect(d.spec.selector.matchLabels).toEqual({ "app.kubernetes.io/name": APP, "app.kubernetes.io/instance": `${APP}-${STACK}` });
        expect(d.spec.template.metadata.annotations["delivery.dev/release-id"]).toBe(first.releaseId);
        expect(d.spec.template.metadata.annotations["delivery.dev/config-hash"]).toBe(first.configHash);

        const c = d.spec.template.spec.containers[0];
        expect(c.readinessProbe).toMatchObject({ httpGet: { path: "/healthz", port: "http" }, periodSeconds: 5 });
        expect(c.livenessProbe).toMatchObject({ httpGet: { path: "/healthz", port: "http" } });
        expect(c.ports).toEqual([{ name: "http", containerPort: 8080, protocol: "TCP" }]);
        expect(c.resources).toEqual({ requests: { cpu: "20m", memory: "32Mi" }, limits: { cpu: "300m", memory: "128Mi" } });
        expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
        expect(d.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
        const env = Object.fromEntries((c.env as Json[]).map((e) => [e.name, e.value]));
        expect(env).toMatchObject({ APP_ENV: "k8s-e2e", GREETING: "Hej", RELEASE_ID: first.releaseId, PORT: "8080" });
        expect(JSON.stringify(c.env)).not.toContain("k8s-e2e-not-so-secret");
        expect(c.envFrom).toEqual([{ secretRef: { name: `${APP}-config` } }]);
        expect(d.spec.template.spec.imagePullSecrets).toEqual([{ name: `${APP}-registry` }]);
        expect(d.spec.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    });

    it("a second preview shows no changes", async () => {
        const preview = await fx.stack.preview({ expectNoChanges: true, diff: true });
        expect(preview.changeSummary.create ?? 0).toBe(0);
        expect(preview.changeSummary.update ?? 0).toBe(0);
        expect(preview.changeSummary.replace ?? 0).toBe(0);
        expect(preview.changeSummary.delete ?? 0).toBe(0);
        expect(preview.changeSummary.same).toBeGreaterThanOrEqual(8);
    });

    it("a `kubectl set image` by hand shows in `pulumi preview --refresh` and `pulumi up --refresh` reverts it", async () => {
        const drifted = "127.0.0.1:5000/somebody/else:by-hand";
        kubectl("set", "image", `deployment/${APP}`, `app=${drifted}`, "-n", NS);
        kubectl("rollout", "status", `deployment/${APP}`, "-n", NS, "--timeout=60s");
        expect(image(deployment())).toBe(drifted);

        // What the scheduled drift job runs (scripts/ci/drift.sh): a refresh preview.
        const refresh = await fx.stack.previewRefresh();
        expect(refresh.changeSummary.update).toBe(1);
        expect(refresh.stdout).toMatch(/kubernetes:apps\/v1:Deployment app-deployment update \[diff: ~spec\]/);

        // Without a refresh the engine compares the program with its own state only, which
        // still holds the pinned digest: the drift is invisible there.
        const plain = await fx.stack.preview();
        expect(plain.changeSummary.update ?? 0).toBe(0);

        const out: string[] = [];
        const preview = await fx.stack.preview({ refresh: true, diff: true, onOutput: (o) => out.push(o) });
        expect(preview.changeSummary.update).toBe(1);
        const text = out.join("");
        expect(text).toContain(drifted);
        expect(text).toContain(first.imageRef);
        // A preview changes nothing.
        expect(image(deployment())).toBe(drifted);

        const up = await fx.stack.up({ refresh: true });
        expect(up.summary.result).toBe("succeeded");
        expect(up.summary.resourceChanges?.update).toBe(1);
        const d = deployment();
        expect(image(d)).toBe(first.imageRef);
        expect(condition(d, "Available")?.status).toBe("True");
        expect(d.status.updatedReplicas).toBe(2);
        expect(d.status.readyReplicas).toBe(2);
        await fx.stack.preview({ expectNoChanges: true, refresh: true });
    });

    it("a hand edit of the Service or a Secret is taken back by `pulumi up --refresh`", async () => {
        // `kubectl label` becomes the label's field manager. (Measured: this test passes with
        // and without the pulumi.com/patchForce annotation, so it shows the drift is reverted,
        // not that patchForce is needed.)
        kubectl("label", "service", APP, "-n", NS, "app.kubernetes.io/component=by-hand", "--overwrite");
        kubectl("label", "secret", `${APP}-config`, "-n", NS, "app.kubernetes.io/component=by-hand", "--overwrite");
        const label = (kind: string, name: string) => kubectlJson(kind, name, "-n", NS).metadata.labels["app.kubernetes.io/component"];
        expect(label("service", APP)).toBe("by-hand");

        const up = await fx.stack.up({ refresh: true });

        expect(up.summary.result).toBe("succeeded");
        expect(up.summary.resourceChanges?.update).toBe(2);
        expect(label("service", APP)).toBe("web");
        expect(label("secret", `${APP}-config`)).toBe("web");
        await fx.stack.preview({ expectNoChanges: true, refresh: true });
    });

    let second: ReleaseOutput;

    it("a new release rolls the Deployment to the new digest and scales the old ReplicaSet to 0", async () => {
        fx.project.changeApp((src) => src.replace("from the delivery sample app", "from the delivery sample app, k8s r2"));
        const up = await fx.stack.up();
        expect(up.summary.result).toBe("succeeded");
        second = outputValue<ReleaseOutput>(up.outputs, "release");
        expect(second.digest).not.toBe(first.digest);
        expect(second.imageRef).toMatch(/@sha256:[a-f0-9]{64}$/);

        const d = deployment();
        expect(image(d)).toBe(second.imageRef);
        expect(d.spec.template.metadata.labels["app.kubernetes.io/version"]).toBe(second.commitSha);
        expect(condition(d, "Available")?.status).toBe("True");
        expect(d.status).toMatchObject({ replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 });

        const sets = replicaSets(NS, SELECTOR);
        const newest = sets[sets.length - 1];
        expect(newest.spec.template.spec.containers[0].image).toBe(second.imageRef);
        expect(newest.status.readyReplicas).toBe(2);
        const old = sets.find((rs) => rs.spec.template.spec.containers[0].image === first.imageRef);
        expect(old).toBeDefined();
        for (const rs of sets.slice(0, -1)) {
            expect(rs.spec.replicas).toBe(0);
            expect(rs.status.replicas ?? 0).toBe(0);
        }
        const pods = kubectlJson("pods", "-n", NS, "-l", SELECTOR).items as Json[];
        expect(pods.map((p) => p.spec.containers[0].image)).toEqual([second.imageRef, second.imageRef]);
    });

    it("a release whose pods never become Ready fails `pulumi up` within rolloutTimeoutSeconds; the old pods keep serving", async () => {
        const TIMEOUT = 20;
        await fx.stack.setAllConfig({
            "delivery:rolloutTimeoutSeconds": { value: String(TIMEOUT) },
            "delivery:podLabels": { value: '{"delivery.test/never-ready":"true"}' },
        });
        fx.project.changeApp((src) => src.replace("k8s r2", "k8s r3 (never ready)"));

        const events: EngineEvent[] = [];
        const started = Date.now();
        const failed = await fx.stack.up({ onEvent: (e) => events.push(e) }).then(
            () => undefined,
            (e: Error) => e,
        );
        const elapsed = (Date.now() - started) / 1000;
        expect(failed).toBeInstanceOf(Error);
        const message = String(failed?.message);
        console.log(
            message
                .split("\n")
                .filter((l) => /^\s*(\*|error:)/.test(l))
                .slice(0, 12)
                .join("\n"),
        );
        expect(message).toMatch(/kubernetes:apps\/v1:Deployment/);
        expect(message).toContain(`"${NS}/${APP}" failed to fully initialize or become live: '${APP}' timed out waiting to be Ready`);
        expect(message).toContain("Minimum number of Pods to consider the application live was not attained");

        // The Deployment update itself (not the build before it) gave up within the timeout.
        const isDeployment = (urn: string | undefined) => urn?.endsWith("::app-deployment") ?? false;
        const start = events.find((e) => e.resourcePreEvent && isDeployment(e.resourcePreEvent.metadata.urn));
        const end = events.find((e) => e.resOpFailedEvent && isDeployment(e.resOpFailedEvent.metadata.urn));
        expect(start).toBeDefined();
        expect(end).toBeDefined();
        const rollout = end!.timestamp - start!.timestamp;
        console.log(`never-ready rollout failed after ${rollout}s (timeout ${TIMEOUT}s); whole up ${elapsed.toFixed(1)}s`);
        expect(rollout).toBeGreaterThanOrEqual(TIMEOUT - 2);
        expect(rollout).toBeLessThanOrEqual(TIMEOUT + 30);

        // The controller's own verdict after progressDeadlineSeconds.
        const d = await waitFor(
            "Progressing=False (ProgressDeadlineExceeded)",
            () => {
                const now = deployment();
                return condition(now, "Progressing")?.reason === "ProgressDeadlineExceeded" ? now : undefined;
            },
            30_000,
        );
        expect(condition(d, "Progressing").status).toBe("False");
        expect(d.spec.progressDeadlineSeconds).toBe(TIMEOUT);
        expect(d.spec.template.metadata.labels["delivery.test/never-ready"]).toBe("true");
        // The old ReplicaSet keeps both ready pods: maxUnavailable 0 lets none of them go.
        expect(d.status.availableReplicas).toBe(2);
        const sets = replicaSets(NS, SELECTOR);
        const old = sets.find((rs) => rs.spec.template.spec.containers[0].image === second.imageRef)!;
        expect(old.spec.replicas).toBe(2);
        expect(old.status.readyReplicas).toBe(2);
        const stuck = sets[sets.length - 1];
        expect(stuck.spec.template.spec.containers[0].image).not.toBe(second.imageRef);
        expect(stuck.status.readyReplicas ?? 0).toBe(0);
        const pods = kubectlJson("pods", "-n", NS, "-l", SELECTOR).items as Json[];
        const ready = pods.filter((p) => p.status.conditions?.find((c: Json) => c.type === "Ready")?.status === "True");
        expect(ready.map((p) => p.spec.containers[0].image)).toEqual([second.imageRef, second.imageRef]);
        expect(pods.length).toBe(3);
    });
});
