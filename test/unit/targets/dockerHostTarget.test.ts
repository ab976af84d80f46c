import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { DockerHostTarget } from "../../../components/targets/dockerHostTarget";
import { SHA, fakeDigest, isSecretValue, plain, settle, targetArgs, useMocks } from "../harness";

const IMAGE = `127.0.0.1:5000/delivery/app@${fakeDigest("x")}`;

describe("DockerHostTarget", () => {
    const mocks = useMocks();
    const args = { ...targetArgs("dev", IMAGE, "r-abc", "container-secret"), hostPort: 8000, registryServer: "127.0.0.1:5000" };

    it("runs the digest-pinned image with config as environment and a published port", async () => {
        const t = new DockerHostTarget("app", args);
        expect(t.url).toBe("http://127.0.0.1:8000");
        await settle(mocks());
        const c = plain(mocks().named("app-container").inputs);
        expect(c).toMatchObject({
            name: "app-dev",
            dockerHost: "unix:///var/run/docker.sock",
            image: IMAGE,
            releaseId: "r-abc",
            env: { GREETING: "hi" },
            secretEnv: { SECRET_KEY: "container-secret" },
            containerPort: 8080,
            hostPort: 8000,
            bindAddress: "127.0.0.1",
            healthPath: "/healthz",
            healthTimeoutSeconds: 60,
        });
        expect(c.labels).toMatchObject({ "app.kubernetes.io/name": "app", "app.kubernetes.io/instance": "app-dev", "app.kubernetes.io/version": SHA });
    });

    it("passes secret settings and registry credentials as secrets", async () => {
        new DockerHostTarget("app", { ...args, pullCredentials: pulumi.secret({ username: "u", password: "pull-pass" }) });
        await settle(mocks());
        const raw = mocks().named("app-container").inputs;
        expect(isSecretValue(raw.secretEnv)).toBe(true);
        expect(isSecretValue(raw.registryAuth)).toBe(true);
        expect(plain(raw.registryAuth)).toEqual({ serveraddress: "127.0.0.1:5000", username: "u", password: "pull-pass" });
        expect(isSecretValue(raw.env)).toBe(false);
    });

    it("brackets an IPv6 bind address in the URL", () => {
        expect(new DockerHostTarget("app", { ...args, bindAddress: "::1" }).url).toBe("http://[::1]:8000");
    });
});
