import { describe, expect, it } from "vitest";
import { ReleaseOutput, outputValue } from "../support/workspace";
import {
    Json,
    REAL_NODE,
    REAL_NODE_SELECTOR,
    REAL_POD_CIDR_PREFIX,
    kubectl,
    kubectlJson,
    replicaSets,
    serviceAnswer,
    serviceGet,
    useK8sStack,
    waitFor,
} from "./cluster";

/**
 * One stack on the real node (kubelet, containerd, CNI bridge, kube-proxy; scripts/k8s): the
 * app's own container runs, becomes Ready from its readiness probe, and answers through its
 * Service's ClusterIP (kube-proxy's iptables rules on this machine). A new release rolls with no
 * failed request under a load loop; a release whose /healthz answers 503 never becomes Ready.
 */
describe("kubernetes target on the real node: real pods, probes, Service, rollout", () => {
    const NS = "k8s-real";
    const STACK = "k8s-real";
    const APP = "web";
    const SELECTOR = `app.kubernetes.io/instance=${APP}-${STACK}`;
    let first: ReleaseOutput;
    let second: ReleaseOutput;

    const fx = useK8sStack(STACK, NS, () => ({
        nodeSelector: JSON.stringify(REAL_NODE_SELECTOR),
        env: '{"APP_ENV":"k8s-real","GREETING":"Hej"}',
        cpuRequest: "20m",
        cpuLimit: "500m",
        memoryRequest: "32Mi",
        memoryLimit: "128Mi",
    }));

    const pods = (): Json[] => kubectlJson("pods", "-n", NS, "-l", SELECTOR).items as Json[];
    const ready = (p: Json): boolean => p.status.conditions?.find((c: Json) => c.type === "Ready")?.status === "True";
    const clusterIP = (): string => kubectlJson("service", APP, "-n", NS).spec.clusterIP;

    it("the Deployment becomes Available from the app's readiness probe on real-node-0; the Service answers with the release id", async () => {
        const up = await fx.stack.up();
        expect(up.summary.result).toBe("succeeded");
        first = outputValue<ReleaseOutput>(up.outputs, "release");

        const d = kubectlJson("deployment", APP, "-n", NS);
        expect(d.status.conditions.find((c: Json) => c.type === "Available")?.status).toBe("True");
        expect(d.status.readyReplicas).toBe(2);
        expect(d.spec.template.spec.nodeSelector).toEqual(REAL_NODE_SELECTOR);

        const running = pods();
        expect(running).toHaveLength(2);
        for (const pod of running) {
            // A container containerd runs, on the bridge's range, not kwok's status.
            expect(pod.spec.nodeName).toBe(REAL_NODE);
            expect(pod.status.podIP.startsWith(REAL_POD_CIDR_PREFIX)).toBe(true);
            const status = pod.status.containerStatuses[0];
            expect(status.containerID).toMatch(/^containerd:\/\/[0-9a-f]{64}$/);
            expect(status.imageID).toContain("@sha256:");
            expect(status.ready).toBe(true);
            expect(ready(pod)).toBe(true);
            // The pod answers on its own address, with this release's id.
            const direct = await serviceGet(`http://${pod.status.podIP}:8080/`);
            expect(direct.status).toBe(200);
            expect(direct.body.release_id).toBe(first.releaseId);
        }

        // Through the Service: kube-proxy's DNAT of the ClusterIP, from the host.
        const ip = clusterIP();
        expect(ip.startsWith("10.96.")).toBe(true);
        const answer = await serviceAnswer(`http://${ip}/`, first.releaseId);
        expect(answer.body).toMatchObject({ release_id: first.releaseId, app_env: "k8s-real", greeting: "Hej" });
        expect((await serviceGet(`http://${ip}/healthz`)).status).toBe(200);
    });

    it("the app runs as uid 10001 on a read-only root filesystem (kubectl exec into the real container)", () => {
        const pod = pods()[0].metadata.name;
        const exec = (...cmd: string[]) => kubectl("exec", "-n", NS, pod, "-c", "app", "--", ...cmd);
        expect(exec("id", "-u").trim()).toBe("10001");
        expect(exec("id", "-g").trim()).toBe("10001");
        const write = exec("/bin/sh", "-c", "touch /app/probe 2>&1; echo rc=$?");
        expect(write).toContain("Read-only file system");
        expect(write).toContain("rc=1");
        expect(exec("/bin/sh", "-c", "grep ' / ' /proc/mounts")).toMatch(/ ro[ ,]/);
        // The process is the app itself, PID 1 of its container.
        expect(exec("cat", "/proc/1/cmdline").replace(/\0/g, " ")).toContain("python3 app.py");
    });

    it("a pod cannot reach the kubelet (anonymous, AlwaysAllow: exec into any pod) on the node's bridge address; the API server still can", () => {
        const node = kubectlJson("node", REAL_NODE);
        const ip = node.status.addresses.find((a: Json) => a.type === "InternalIP").address;
        const port = node.status.daemonEndpoints.kubeletEndpoint.Port;
        expect(ip.startsWith(REAL_POD_CIDR_PREFIX)).toBe(true);
        const pod = pods()[0].metadata.name;
        const probe = [
            "import socket",
            "try:",
            `    socket.create_connection((${JSON.stringify(ip)}, ${port}), 3).close()`,
            "    print('reached')",
            "except OSError as e:",
            "    print('refused:', e)",
        ].join("\n");
        const answer = kubectl("exec", "-n", NS, pod, "-c", "app", "--", "python3", "-c", probe).trim();
        expect(answer).toMatch(/^refused:/);
        // kubectl exec itself goes API server -> kubelet: that path is untouched.
        expect(kubectl("exec", "-n", NS, pod, "-c", "app", "--", "id", "-u").trim()).toBe("10001");
    });

    it("a new release rolls with 0 failed requests through the Service under a bounded load loop", async () => {
        fx.project.changeApp((src) => src.replace("from the delivery sample app", "from the delivery sample app, real r2"));
        const ip = clusterIP();
        const seen = new Map<string, number>();
        const failures: string[] = [];
        let requests = 0;
        let done = false;
        const loop = (async () => {
            // At most 20 requests a second and 4000 in all, one at a time, a new connection each.
            while (!done && requests < 4000) {
                requests++;
                try {
                    const r = await serviceGet(`http://${ip}/`);
                    if (r.status !== 200) {
                        failures.push(`HTTP ${r.status}`);
                    } else {
                        const id = String(r.body.release_id);
                        seen.set(id, (seen.get(id) ?? 0) + 1);
                    }
                } catch (e) {
                    failures.push((e as Error).message);
                }
                await new Promise((r) => setTimeout(r, 50));
            }
        })();
        let up;
        try {
            up = await fx.stack.up();
            // Requests keep going a moment after the rollout: the old pods' preStop window.
            await new Promise((r) => setTimeout(r, 5000));
        } finally {
            done = true;
            await loop;
        }
        expect(up.summary.result).toBe("succeeded");
        second = outputValue<ReleaseOutput>(up.outputs, "release");
        expect(second.releaseId).not.toBe(first.releaseId);
        console.log(`rollout under load: ${requests} requests, ${failures.length} failed, answers by release: ${JSON.stringify(Object.fromEntries(seen))}`);
        expect(failures).toEqual([]);
        expect(requests).toBeGreaterThan(20);
        expect(seen.get(first.releaseId) ?? 0).toBeGreaterThan(0);
        expect(seen.get(second.releaseId) ?? 0).toBeGreaterThan(0);
        expect([...seen.keys()].sort()).toEqual([first.releaseId, second.releaseId].sort());

        const after = await serviceGet(`http://${ip}/`);
        expect(after.body.release_id).toBe(second.releaseId);
        const now = pods().filter((p) => !p.metadata.deletionTimestamp);
        expect(now.map((p) => p.spec.containers[0].image)).toEqual([second.imageRef, second.imageRef]);
    });

    it("a release whose /healthz answers 503 never becomes Ready: up fails within rolloutTimeoutSeconds, the old pods keep serving", async () => {
        const TIMEOUT = 30;
        await fx.stack.setConfig("delivery:rolloutTimeoutSeconds", { value: String(TIMEOUT) });
        fx.project.changeApp((src) =>
            src.replace('return Response("ok", status=200, mimetype="text/plain")', 'return Response("unwell", status=503, mimetype="text/plain")'),
        );
        const started = Date.now();
        const failed = await fx.stack.up().then(
            () => undefined,
            (e: Error) => e,
        );
        const elapsed = (Date.now() - started) / 1000;
        expect(failed).toBeInstanceOf(Error);
        const message = String(failed?.message);
        expect(message).toContain(`"${NS}/${APP}" failed to fully initialize or become live: '${APP}' timed out waiting to be Ready`);
        console.log(`503 release: up failed after ${elapsed.toFixed(1)}s (rollout timeout ${TIMEOUT}s, build included)`);
        expect(elapsed).toBeLessThan(TIMEOUT + 120);

        // The new pod runs (a real container) and its probe answers 503: the kubelet says so.
        const sets = replicaSets(NS, SELECTOR);
        const stuck = sets[sets.length - 1];
        expect(stuck.spec.template.spec.containers[0].image).not.toBe(second.imageRef);
        const fresh = pods().filter((p) => p.metadata.ownerReferences[0].name === stuck.metadata.name);
        expect(fresh.length).toBeGreaterThan(0);
        for (const pod of fresh) {
            expect(ready(pod)).toBe(false);
            expect(pod.status.containerStatuses[0].containerID).toMatch(/^containerd:\/\//);
            expect((await serviceGet(`http://${pod.status.podIP}:8080/healthz`)).status).toBe(503);
        }
        const events = await waitFor("a readiness probe failure event", () => {
            const list = kubectlJson("events", "-n", NS, "--field-selector", `involvedObject.name=${fresh[0].metadata.name}`).items as Json[];
            return list.find((e) => e.reason === "Unhealthy" && /Readiness probe failed: HTTP probe failed with statuscode: 503/.test(e.message));
        });
        expect(events.involvedObject.kind).toBe("Pod");

        // The old release still serves both replicas, through the Service.
        const old = sets.find((rs) => rs.spec.template.spec.containers[0].image === second.imageRef)!;
        expect(old.status.readyReplicas).toBe(2);
        for (let i = 0; i < 10; i++) {
            const r = await serviceGet(`http://${clusterIP()}/`);
            expect(r.status).toBe(200);
            expect(r.body.release_id).toBe(second.releaseId);
        }
    });
});
