import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { HerokuTarget } from "../../../components/heroku/herokuTarget";
import { fakeDigest, isSecretValue, plain, settle, targetArgs, useMocks } from "../harness";

const IMAGE = `127.0.0.1:5000/delivery/app@${fakeDigest("x")}`;

describe("HerokuTarget", () => {
    const mocks = useMocks({
        dynamicState: (type) => (type === "pulumi-nodejs:dynamic/heroku:HerokuRelease" ? { webUrl: "http://127.0.0.1:43210/" } : undefined),
    });
    const args = {
        ...targetArgs("staging", IMAGE, "r-abc", "heroku-secret"),
        app: "app-staging",
        apiKey: pulumi.secret("heroku-key-123"),
        apiUrl: "http://127.0.0.1:9",
        registry: "127.0.0.1:5999",
        registryInsecure: true,
        sourceInsecure: true,
        sourceCredentials: pulumi.secret({ username: "u", password: "pull-pass" }),
    };

    it("registers the config vars (settings and RELEASE_ID, never PORT) and the release of the digest, in that order", async () => {
        new HerokuTarget("app", args);
        await settle(mocks());
        const types = mocks().resources.map((r) => `${r.type}/${r.name}`);
        expect(types).toEqual([
            "delivery:heroku:HerokuTarget/app",
            "pulumi-nodejs:dynamic/heroku:HerokuConfigVars/app-config-vars",
            "pulumi-nodejs:dynamic/heroku:HerokuRelease/app-release",
            "pulumi-nodejs:dynamic/release:ReleaseVerification/app-verification",
        ]);
        const vars = plain(mocks().named("app-config-vars").inputs);
        expect(vars).toMatchObject({
            app: "app-staging",
            apiUrl: "http://127.0.0.1:9",
            vars: { GREETING: "hi", RELEASE_ID: "r-abc" },
            secretVars: { SECRET_KEY: "heroku-secret" },
        });
        expect(Object.keys(vars.vars)).not.toContain("PORT");
        const rel = plain(mocks().named("app-release").inputs);
        expect(rel).toMatchObject({
            app: "app-staging",
            processType: "web",
            registry: "127.0.0.1:5999",
            registryInsecure: true,
            imageRef: IMAGE,
            sourceInsecure: true,
            sourceUsername: "u",
            sourcePassword: "pull-pass",
        });
    });

    it("keeps the API key, the secret settings and the registry password secret", async () => {
        new HerokuTarget("app", args);
        await settle(mocks());
        const vars = mocks().named("app-config-vars").inputs;
        const rel = mocks().named("app-release").inputs;
        expect(isSecretValue(vars.apiKey)).toBe(true);
        expect(isSecretValue(vars.secretVars)).toBe(true);
        expect(isSecretValue(vars.vars)).toBe(false);
        expect(isSecretValue(rel.apiKey)).toBe(true);
        expect(isSecretValue(rel.sourcePassword)).toBe(true);
        expect(JSON.stringify({ ...vars, apiKey: undefined, secretVars: undefined })).not.toContain("heroku-key-123");
    });

    it("verifies the release with the shared ReleaseVerification against the app's web_url, after the release, with no verify command and no secrets", async () => {
        const target = new HerokuTarget("app", { ...args, healthPath: "/ready", verifyCommand: undefined });
        await settle(mocks());
        const v = mocks().named("app-verification");
        expect(plain(v.inputs)).toMatchObject({
            releaseId: "r-abc",
            image: IMAGE,
            url: "http://127.0.0.1:43210/",
            healthPath: "/ready",
            env: { GREETING: "hi" },
            secretEnv: {},
            timeoutSeconds: 120,
        });
        expect(plain(v.inputs)).not.toHaveProperty("dockerHost");
        expect(plain(v.inputs)).not.toHaveProperty("containerPort");
        expect(plain(v.inputs).verifyCommand).toBeUndefined();
        expect(JSON.stringify(plain(v.inputs))).not.toContain("heroku-secret");
        expect(JSON.stringify(plain(v.inputs))).not.toContain("heroku-key-123");
        expect(await new Promise((r) => target.verification.apply(r))).toMatchObject({ status: "passed" });
    });

    it("checks delivery:healthPath's default, /healthz, when no health path is given", async () => {
        const { healthPath: _unused, ...rest } = args as typeof args & { healthPath?: string };
        new HerokuTarget("app", rest);
        await settle(mocks());
        expect(plain(mocks().named("app-verification").inputs).healthPath).toBe("/healthz");
    });
});
