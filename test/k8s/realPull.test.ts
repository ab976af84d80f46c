import { describe, expect, it } from "vitest";
import { ReleaseOutput, outputValue, useStacks } from "../support/workspace";
import {
    Cluster,
    Json,
    REAL_NODE,
    REAL_NODE_SELECTOR,
    authRegistryPassword,
    exists,
    k8sConfig,
    kubectlJson,
    resetNamespaces,
    serviceAnswer,
    useCluster,
    waitFor,
} from "./cluster";

/**
 * Real pulls on the real node from the htpasswd registry (127.0.0.1:5001): a stack whose pull
 * secret holds a wrong password gets ImagePullBackOff and a failed up naming the setting to fix;
 * the right credentials pull the same image and the pods serve. The image is built and pushed
 * by a first stack on the kwok node, from an app no other file builds, so the real node has never
 * pulled it before.
 */
describe("kubernetes target on the real node: pulls with the image pull secret from the htpasswd registry", () => {
    const SOURCE = "k8s-real-pull";
    const WRONG = "k8s-real-pull-bad";
    const REGISTRY = "127.0.0.1:5001";
    const APP = "web";
    let cluster: Cluster;
    let password: string;
    let built: ReleaseOutput;

    const registry = (pw: string) => ({ registryServer: REGISTRY, registryUsername: "delivery", registryPassword: { value: pw, secret: true as const } });
    const fx = useStacks(
        (project) => ({
            source: [SOURCE, k8sConfig(project, cluster, SOURCE, { ...registry(password), replicas: "1" })],
            wrong: [WRONG, k8sConfig(project, cluster, WRONG, { ...registry(password), replicas: "1", rolloutTimeoutSeconds: "30" })],
        }),
        {
            // An image of its own: the other files build the same app into the same digest, and
            // run two at a time; a real node that already holds that digest (under another
            // registry's name) would start the pod without this registry's pull.
            prepare: (project) => project.changeApp((src) => src.replace("from the delivery sample app", "from the delivery sample app, real pull")),
            setup: () => {
                cluster = useCluster();
                password = authRegistryPassword(cluster);
                expect(password.length).toBeGreaterThan(8);
                resetNamespaces(SOURCE, WRONG);
            },
            afterDestroy: () => {
                expect(exists("namespace", SOURCE)).toBe(false);
                expect(exists("namespace", WRONG)).toBe(false);
            },
        },
    );

    const pods = (ns: string): Json[] => kubectlJson("pods", "-n", ns, "-l", `app.kubernetes.io/name=${APP}`).items as Json[];

    it("a stack on the kwok node pushes the image to the htpasswd registry", async () => {
        const up = await fx.source.up();
        expect(up.summary.result).toBe("succeeded");
        built = outputValue<ReleaseOutput>(up.outputs, "release");
        expect(built.imageRef.startsWith(`${REGISTRY}/`)).toBe(true);
        expect(pods(SOURCE).map((p) => p.spec.nodeName)).toEqual(["kwok-node-0"]);
    });

    it("wrong pull credentials: ImagePullBackOff on the real node and a failed up whose message names delivery:registryPassword", async () => {
        // A second stack runs the same image, pinned (no build, no push), on the kwok node ...
        await fx.wrong.setAllConfig({ "delivery:releaseRef": { value: built.imageRef }, "delivery:releaseCommitSha": { value: built.commitSha } });
        expect((await fx.wrong.up()).summary.result).toBe("succeeded");
        // ... then moves to the real node with a wrong password: its pods must really pull.
        await fx.wrong.setAllConfig({
            "delivery:registryPassword": { value: `${password}-wrong`, secret: true },
            "delivery:nodeSelector": { value: JSON.stringify(REAL_NODE_SELECTOR) },
        });
        const failed = await fx.wrong.up().then(
            () => undefined,
            (e: Error) => e,
        );
        expect(failed).toBeInstanceOf(Error);
        const message = String(failed?.message);
        expect(message).toContain(`registry ${REGISTRY} refused the image pull secret's credentials (user delivery, HTTP 401`);
        expect(message).toContain("the pods cannot pull the image (ImagePullBackOff)");
        expect(message).toContain(`pulumi config set --secret delivery:registryPassword <password> --stack ${WRONG}`);
        // The pull secret's password (the wrong one starts with the right one) is never in the error.
        for (const secret of [password, Buffer.from(`delivery:${password}-wrong`).toString("base64")]) {
            expect(message).not.toContain(secret);
        }

        const pod = await waitFor(
            "the pod in ImagePullBackOff",
            () => pods(WRONG).find((p) => p.status.containerStatuses?.[0]?.state?.waiting?.reason === "ImagePullBackOff"),
            60_000,
        );
        expect(pod.spec.nodeName).toBe(REAL_NODE);
        const events = kubectlJson("events", "-n", WRONG, "--field-selector", `involvedObject.name=${pod.metadata.name}`).items as Json[];
        const pull = events.find((e) => e.reason === "Failed" && String(e.message).includes("Failed to pull image"));
        expect(pull?.message).toContain(REGISTRY);
        expect(String(pull?.message)).toMatch(/401|unauthorized|authoriz/i);
    });

    it("the right credentials pull the image on the real node: the stack moves there and serves", async () => {
        await fx.source.setConfig("delivery:nodeSelector", { value: JSON.stringify(REAL_NODE_SELECTOR) });
        const up = await fx.source.up();
        expect(up.summary.result).toBe("succeeded");
        const release = outputValue<ReleaseOutput>(up.outputs, "release");
        expect(release.digest).toBe(built.digest);
        const running = pods(SOURCE).filter((p) => !p.metadata.deletionTimestamp);
        expect(running).toHaveLength(1);
        const pod = running[0];
        expect(pod.spec.nodeName).toBe(REAL_NODE);
        expect(pod.spec.imagePullSecrets).toEqual([{ name: `${APP}-registry` }]);
        expect(pod.status.containerStatuses[0].ready).toBe(true);
        expect(pod.status.containerStatuses[0].imageID).toContain(`${REGISTRY}/`);
        const events = kubectlJson("events", "-n", SOURCE, "--field-selector", `involvedObject.name=${pod.metadata.name}`).items as Json[];
        expect(events.some((e) => e.reason === "Pulled" && String(e.message).includes("Successfully pulled image"))).toBe(true);
        const ip = kubectlJson("service", APP, "-n", SOURCE).spec.clusterIP;
        const answer = await serviceAnswer(`http://${ip}/`, release.releaseId);
        expect(answer.body.release_id).toBe(release.releaseId);
    });
});
