import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ReleaseOutput, outputValue } from "../support/workspace";
import { Json, authRegistryPassword, kubectl, kubectlJson, useK8sStack } from "./cluster";

function filesUnder(dir: string): string[] {
    return readdirSync(dir).flatMap((name) => {
        const p = join(dir, name);
        return statSync(p).isDirectory() ? filesUnder(p) : [p];
    });
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

/**
 * A stack that pushes to and pulls from the password-protected registry (127.0.0.1:5001):
 * the image pull secret carries those credentials, the config Secret carries the secret
 * settings, and neither value is in the state files in plain text (nor base64-encoded).
 */
describe("kubernetes target: registry credentials and secret settings", () => {
    const NS = "k8s-e2e-secrets";
    const APP = "web";
    const REGISTRY = "127.0.0.1:5001";
    const appSecret = `k8s-e2e-app-secret-${Date.now()}`;
    const rotated = `${appSecret}-rotated`;
    let registryPassword: string;
    let release: ReleaseOutput;

    const fx = useK8sStack(
        NS,
        NS,
        () => ({
            registryServer: REGISTRY,
            registryUsername: "delivery",
            registryPassword: { value: registryPassword, secret: true },
            secretEnv: { value: JSON.stringify({ SECRET_KEY: appSecret }), secret: true },
        }),
        (cluster) => {
            registryPassword = authRegistryPassword(cluster);
            expect(registryPassword.length).toBeGreaterThan(8);
        },
    );

    const stateFiles = () => filesUnder(join(fx.project.dir, ".state")).map((f) => readFileSync(f, "utf8"));

    it("the image pull secret refers to the registry credentials", async () => {
        const up = await fx.stack.up();
        expect(up.summary.result).toBe("succeeded");
        release = outputValue<ReleaseOutput>(up.outputs, "release");
        expect(release.imageRef.startsWith(`${REGISTRY}/${fx.project.repository}@sha256:`)).toBe(true);

        const d = kubectlJson("deployment", APP, "-n", NS);
        expect(d.spec.template.spec.imagePullSecrets).toEqual([{ name: `${APP}-registry` }]);
        expect(d.status.conditions.find((c: Json) => c.type === "Available")?.status).toBe("True");

        const pull = kubectlJson("secret", `${APP}-registry`, "-n", NS);
        expect(pull.type).toBe("kubernetes.io/dockerconfigjson");
        const encoded = kubectl("get", "secret", `${APP}-registry`, "-n", NS, "-o", "jsonpath={.data.\\.dockerconfigjson}");
        expect(encoded).toBe(pull.data[".dockerconfigjson"]);
        const config = JSON.parse(Buffer.from(encoded, "base64").toString());
        // Exactly the server the image is pulled from, with the push user's credentials.
        expect(Object.keys(config.auths)).toEqual([REGISTRY]);
        const auth = config.auths[REGISTRY];
        expect(auth.username).toBe("delivery");
        expect(auth.password).toBe(registryPassword);
        expect(auth.auth).toBe(b64(`delivery:${registryPassword}`));
        // The credentials work: the registry answers the pinned manifest with them, and not without.
        const manifest = `http://${REGISTRY}/v2/${fx.project.repository}/manifests/${release.digest}`;
        const accept =
            "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
        const authorised = await fetch(manifest, { method: "HEAD", headers: { accept, authorization: `Basic ${auth.auth}` } });
        expect(authorised.status).toBe(200);
        expect(authorised.headers.get("docker-content-digest")).toBe(release.digest);
        expect((await fetch(manifest, { method: "HEAD", headers: { accept } })).status).toBe(401);
    });

    it("the config Secret holds the secret settings; the state files hold neither value in plain text", async () => {
        const config = kubectlJson("secret", `${APP}-config`, "-n", NS);
        expect(config.type).toBe("Opaque");
        expect(Buffer.from(config.data.SECRET_KEY, "base64").toString()).toBe(appSecret);
        const c = kubectlJson("deployment", APP, "-n", NS).spec.template.spec.containers[0];
        expect(c.envFrom).toEqual([{ secretRef: { name: `${APP}-config` } }]);
        expect(JSON.stringify(c)).not.toContain(appSecret);

        // The state does hold both values (exportStack decrypts them) ...
        const exported = JSON.stringify(await fx.stack.exportStack());
        expect(exported).toContain(appSecret);
        expect(exported).toContain(registryPassword);
        // ... but only encrypted in the files of the backend.
        const files = stateFiles();
        expect(files.length).toBeGreaterThan(0);
        expect(files.join("\n")).toContain("4dabf18193072939515e22adb298388d");
        const stackFile = readFileSync(join(fx.project.dir, `Pulumi.${NS}.yaml`), "utf8");
        for (const secret of [appSecret, registryPassword, b64(appSecret), b64(`delivery:${registryPassword}`)]) {
            expect(files.filter((f) => f.includes(secret))).toHaveLength(0);
            expect(stackFile).not.toContain(secret);
        }
    });

    it("a new secret value rolls the Deployment (not replaced) and stays out of the state files", async () => {
        const before = kubectlJson("deployment", APP, "-n", NS);
        await fx.stack.setConfig("delivery:secretEnv", { value: JSON.stringify({ SECRET_KEY: rotated }), secret: true });
        const up = await fx.stack.up();
        const next = outputValue<ReleaseOutput>(up.outputs, "release");
        expect(next.digest).toBe(release.digest);
        expect(next.configHash).not.toBe(release.configHash);
        expect(up.summary.resourceChanges?.update).toBeGreaterThanOrEqual(1);

        const after = kubectlJson("deployment", APP, "-n", NS);
        expect(after.metadata.uid).toBe(before.metadata.uid);
        expect(after.metadata.generation).toBeGreaterThan(before.metadata.generation);
        expect(after.spec.template.metadata.annotations["delivery.dev/config-hash"]).toBe(next.configHash);
        expect(after.status).toMatchObject({ updatedReplicas: 2, readyReplicas: 2 });
        const config = kubectlJson("secret", `${APP}-config`, "-n", NS);
        expect(Buffer.from(config.data.SECRET_KEY, "base64").toString()).toBe(rotated);

        const files = stateFiles();
        for (const secret of [rotated, b64(rotated)]) {
            expect(files.filter((f) => f.includes(secret))).toHaveLength(0);
        }
        await fx.stack.preview({ expectNoChanges: true });
    });
});
