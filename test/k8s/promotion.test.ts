import { describe, expect, it } from "vitest";
import { ReleaseOutput, outputValue, resourceTypes, useStacks } from "../support/workspace";
import { Cluster, Json, exists, k8sConfig, kubectlJson, replicaSets, resetNamespaces, useCluster } from "./cluster";

/**
 * Promotion between two namespaces of the same cluster: staging builds and runs a release,
 * production runs that very digest through a StackReference, with no build of its own.
 */
describe("kubernetes target: promotion from staging to production", () => {
    const STAGING = "k8s-e2e-staging";
    const PRODUCTION = "k8s-e2e-production";
    const APP = "web";
    let cluster: Cluster;

    const fx = useStacks(
        (project) => ({
            staging: [STAGING, k8sConfig(project, cluster, STAGING, { env: '{"APP_ENV":"staging"}' })],
            // One replica, no secret settings: no PodDisruptionBudget, and a config Secret with no data.
            production: [PRODUCTION, k8sConfig(project, cluster, PRODUCTION, { promoteFrom: STAGING, replicas: "1", env: '{"APP_ENV":"production"}' })],
        }),
        {
            setup: () => {
                cluster = useCluster();
                resetNamespaces(STAGING, PRODUCTION);
            },
            afterDestroy: () => {
                expect(exists("namespace", PRODUCTION)).toBe(false);
                expect(exists("namespace", STAGING)).toBe(false);
            },
        },
    );

    const deployment = (ns: string): Json => kubectlJson("deployment", APP, "-n", ns);
    const podImages = (ns: string, stack: string): string[] =>
        (kubectlJson("pods", "-n", ns, "-l", `app.kubernetes.io/instance=${APP}-${stack}`).items as Json[]).map((p) => p.spec.containers[0].image);

    it("staging and production namespaces run the same digest; production registered no image build", async () => {
        const built = outputValue<ReleaseOutput>((await fx.staging.up()).outputs, "release");
        expect(built.origin).toBe("build");
        const up = await fx.production.up();
        expect(up.summary.result).toBe("succeeded");
        const promoted = outputValue<ReleaseOutput>(up.outputs, "release");
        expect(promoted.imageRef).toBe(built.imageRef);
        expect(promoted.digest).toBe(built.digest);
        expect(promoted.commitSha).toBe(built.commitSha);
        expect(promoted.origin).toBe(`promote ${STAGING} v1`);
        expect(promoted.version).toBe("v1");
        expect(promoted.releaseId).not.toBe(built.releaseId);

        expect(await resourceTypes(fx.staging)).toContain("docker-build:index:Image");
        const productionTypes = await resourceTypes(fx.production);
        expect(productionTypes).not.toContain("docker-build:index:Image");
        expect(productionTypes).toContain("kubernetes:apps/v1:Deployment");

        for (const [ns, release, replicas] of [
            [STAGING, built, 2],
            [PRODUCTION, promoted, 1],
        ] as const) {
            const d = deployment(ns);
            expect(d.spec.template.spec.containers[0].image).toBe(built.imageRef);
            expect(d.status.conditions.find((c: Json) => c.type === "Available")?.status).toBe("True");
            expect(d.status.readyReplicas).toBe(replicas);
            expect(d.spec.template.metadata.annotations["delivery.dev/release-id"]).toBe(release.releaseId);
            expect(podImages(ns, ns)).toEqual(Array(replicas).fill(built.imageRef));
            const env = Object.fromEntries((d.spec.template.spec.containers[0].env as Json[]).map((e) => [e.name, e.value]));
            expect(env.APP_ENV).toBe(ns === STAGING ? "staging" : "production");
        }
        expect(exists("poddisruptionbudget", APP, "-n", STAGING)).toBe(true);
        expect(exists("poddisruptionbudget", APP, "-n", PRODUCTION)).toBe(false);
        // No secret settings: the config Secret exists (envFrom names it) but holds nothing.
        expect(kubectlJson("secret", `${APP}-config`, "-n", PRODUCTION).data ?? {}).toEqual({});
    });

    it("a second run of either stack changes nothing", async () => {
        await fx.staging.preview({ expectNoChanges: true });
        const preview = await fx.production.preview({ expectNoChanges: true, diff: true });
        expect(preview.changeSummary.replace ?? 0).toBe(0);
        expect(preview.changeSummary.update ?? 0).toBe(0);
    });

    it("production follows a new staging release, still without building", async () => {
        fx.project.changeApp((src) => src.replace("from the delivery sample app", "from the delivery sample app, k8s promotion r2"));
        const r2 = outputValue<ReleaseOutput>((await fx.staging.up()).outputs, "release");
        const before = deployment(PRODUCTION).metadata.uid;
        const promoted = outputValue<ReleaseOutput>((await fx.production.up()).outputs, "release");
        expect(promoted.digest).toBe(r2.digest);
        const d = deployment(PRODUCTION);
        expect(d.metadata.uid).toBe(before);
        expect(d.spec.template.spec.containers[0].image).toBe(r2.imageRef);
        expect(d.status.updatedReplicas).toBe(1);
        expect(d.status.readyReplicas).toBe(1);
        expect(podImages(PRODUCTION, PRODUCTION)).toEqual([r2.imageRef]);
        expect(deployment(STAGING).spec.template.spec.containers[0].image).toBe(r2.imageRef);
        expect(await resourceTypes(fx.production)).not.toContain("docker-build:index:Image");
    });

    it("delivery rollback v1 rolls production's Deployment back by a rollout: the same Deployment, v1's ReplicaSet scaled up again, never fewer ready pods than replicas", async () => {
        const selector = `app.kubernetes.io/instance=${APP}-${PRODUCTION}`;
        const v1 = (await fx.production.outputs()).releases.value.find((e: Json) => e.version === "v1");
        const before = deployment(PRODUCTION);
        const v1ReplicaSet = replicaSets(PRODUCTION, selector).find((rs) => rs.spec.template.spec.containers[0].image === v1.imageRef);
        expect(v1ReplicaSet?.status.replicas ?? 0).toBe(0);
        // Sampled while the rollback runs: the rolling update (maxUnavailable 0) keeps a ready pod throughout.
        let minReady = Infinity;
        let sampling = true;
        const sampler = (async () => {
            while (sampling) {
                minReady = Math.min(minReady, kubectlJson("deployment", APP, "-n", PRODUCTION).status.readyReplicas ?? 0);
                await new Promise((r) => setTimeout(r, 200));
            }
        })();
        const rolled = await fx.project.delivery("rollback", "v1", "--stack", PRODUCTION, "--yes", "--json");
        sampling = false;
        await sampler;
        expect(rolled.code, rolled.stderr).toBe(0);
        const d = deployment(PRODUCTION);
        expect(d.metadata.uid).toBe(before.metadata.uid);
        expect(d.spec.strategy).toMatchObject({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0 } });
        expect(d.spec.template.spec.containers[0].image).toBe(v1.imageRef);
        expect(podImages(PRODUCTION, PRODUCTION)).toEqual([v1.imageRef]);
        // Kubernetes reuses the ReplicaSet of an identical pod template and gives it the newest revision.
        const sets = replicaSets(PRODUCTION, selector);
        expect(sets.at(-1).metadata.uid).toBe(v1ReplicaSet.metadata.uid);
        expect(sets.at(-1).status.readyReplicas).toBe(1);
        expect(sets.slice(0, -1).map((rs) => rs.status.replicas ?? 0)).toEqual(sets.slice(0, -1).map(() => 0));
        expect(minReady).toBeGreaterThanOrEqual(1);
        const latest = (await fx.production.outputs()).releases.value[0];
        expect(latest).toMatchObject({ version: "v3", origin: "rollback to v1", imageRef: v1.imageRef });
    });
});
