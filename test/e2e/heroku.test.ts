import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyImage } from "../../components/registry/blobCopy";
import type { VerificationResult } from "../../components/release/verificationResult";
import { HerokuDouble, HerokuRegistry, startHerokuDouble, startHerokuRegistry } from "../support/heroku";
import { DYNO_LABEL, dynoName } from "../support/heroku/dynos";
import { PASSPHRASE, ReleaseOutput, ensureEnvironment, getApp, localConfig, outputValue, resourceTypes, useStacks } from "../support/workspace";
import { PORTS } from "../support/ports";

/**
 * The heroku target on the real engine against the Heroku double (test/support/heroku): a
 * Platform API in this process, and a docker-registry on a loopback port of its own with
 * Heroku's login (user `_`, the API key) playing registry.heroku.com. Staging builds and
 * releases; production promotes staging's digest into its own app's repository with no build.
 * The double runs each succeeded release as the app's web dyno (a Docker container on this host,
 * PORT a loopback port it picks, web_url http://127.0.0.1:PORT/), and the target verifies it there
 * as the docker target does (health 200, `GET /` names the release): staging's release is
 * verified, so production promotes it through the gate with no override.
 */
type Verified = ReleaseOutput & { verification?: VerificationResult };

/** The double's dyno containers for `app` (running or not). */
const dynoContainers = (app: string) =>
    execFileSync("docker", ["ps", "-aq", "--filter", `label=${DYNO_LABEL}=${app}`])
        .toString()
        .trim()
        .split("\n")
        .filter(Boolean);

const API_KEY = "heroku-e2e-key-0123456789";
const STAGING_APP = "e2e-hk-staging";
const PRODUCTION_APP = "e2e-hk-production";
const DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json";

let double: HerokuDouble;
let registry: HerokuRegistry;

beforeAll(async () => {
    ensureEnvironment();
    registry = await startHerokuRegistry(API_KEY);
    double = await startHerokuDouble(API_KEY, { url: registry.url, username: "_", password: API_KEY });
    double.addApp(STAGING_APP);
    double.addApp(PRODUCTION_APP);
});
afterAll(async () => {
    await double?.stop();
    await registry?.stop();
});

/** The manifest bytes Heroku's registry holds for `<app>/web` at `reference`, read as Heroku's user. */
async function herokuManifest(app: string, reference: string): Promise<{ digest: string; configDigest: string; mediaType: string } | undefined> {
    const res = await fetch(`${registry.url}/v2/${app}/web/manifests/${reference}`, {
        headers: { accept: DOCKER_V2, authorization: "Basic " + Buffer.from(`_:${API_KEY}`).toString("base64") },
    });
    if (!res.ok) return undefined;
    const bytes = Buffer.from(await res.arrayBuffer());
    return {
        digest: "sha256:" + createHash("sha256").update(bytes).digest("hex"),
        configDigest: (JSON.parse(bytes.toString()) as { config: { digest: string } }).config.digest,
        mediaType: res.headers.get("content-type") ?? "",
    };
}

/** The same manifest in the project's registry (the build's). */
async function sourceManifest(repository: string, digest: string): Promise<Buffer> {
    const res = await fetch(`http://127.0.0.1:5000/v2/${repository}/manifests/${digest}`, { headers: { accept: DOCKER_V2 } });
    return Buffer.from(await res.arrayBuffer());
}

const heroku = (app: string) => ({
    target: "heroku",
    herokuApp: app,
    herokuApiKey: { value: API_KEY, secret: true as const },
    herokuApiUrl: double.url,
    herokuRegistry: registry.server,
});

describe("heroku target", () => {
    const fx = useStacks(
        (project) => ({
            staging: [
                "e2e-hk-staging",
                {
                    ...localConfig(project, PORTS.heroku.staging, heroku(STAGING_APP)),
                    env: '{"APP_ENV":"staging","EXTRA":"x"}',
                    secretEnv: { value: '{"SECRET_KEY":"hk-secret-value-42"}', secret: true },
                },
            ],
            // No promoteUnverified: staging's release is verified on its Heroku app, the gate lets it through.
            production: [
                "e2e-hk-production",
                {
                    ...localConfig(project, PORTS.heroku.production, heroku(PRODUCTION_APP)),
                    promoteFrom: "e2e-hk-staging",
                    env: '{"APP_ENV":"production"}',
                },
            ],
        }),
        { setup: () => undefined },
    );
    // The Heroku providers' cached texts are checked against fresh ones on every run (components/dynamicResource.ts).
    beforeAll(() => {
        for (const stack of [fx.staging, fx.production]) {
            stack.workspace.envVars.DELIVERY_PROVIDER_CACHE = "verify";
        }
    });

    let r1: Verified;
    let p1: Verified;

    it("builds, copies the digest into <registry>/<app>/web and releases it: the formation names its image id, the config vars hold the settings and RELEASE_ID", async () => {
        const up = await fx.staging.up();
        r1 = outputValue<Verified>(up.outputs, "release");
        const app = double.apps.get(STAGING_APP)!;
        const held = await herokuManifest(STAGING_APP, r1.digest);
        expect(held?.digest).toBe(r1.digest);
        expect(held?.mediaType).toBe(DOCKER_V2);
        expect((await herokuManifest(STAGING_APP, "latest"))?.digest).toBe(r1.digest);
        expect(app.formation.web.docker_image).toBe(held!.configDigest);
        expect(double.current(STAGING_APP)?.images.web).toBe(held!.configDigest);
        expect(app.configVars).toEqual({ APP_ENV: "staging", EXTRA: "x", SECRET_KEY: "hk-secret-value-42", RELEASE_ID: r1.releaseId });
        expect(app.configVars).not.toHaveProperty("PORT");
        expect(outputValue<string>(up.outputs, "url")).toBe(app.web_url);
        expect(app.releases.map((r) => r.status)).toEqual(["succeeded", "succeeded"]);
    });

    it("runs the release as the app's web dyno (config vars as env, PORT its own) and records its verification against web_url", async () => {
        const app = double.apps.get(STAGING_APP)!;
        expect(app.web_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
        const dyno = double.dynos!.running.get(STAGING_APP)!;
        expect(app.web_url).toBe(`http://127.0.0.1:${dyno.port}/`);
        expect(dyno.image).toBe(`${registry.server}/${STAGING_APP}/web@${r1.digest}`);
        expect(dynoContainers(STAGING_APP)).toHaveLength(1);
        const env = JSON.parse(execFileSync("docker", ["inspect", dynoName(STAGING_APP), "--format", "{{json .Config.Env}}"]).toString()) as string[];
        expect(env).toEqual(expect.arrayContaining([`RELEASE_ID=${r1.releaseId}`, "APP_ENV=staging", "EXTRA=x", `PORT=${dyno.port}`]));
        const answer = await getApp(app.web_url);
        expect(answer.status).toBe(200);
        expect(answer.body).toMatchObject({ release_id: r1.releaseId, app_env: "staging", secret_configured: true });

        const v = r1.verification!;
        expect(v.status).toBe("passed");
        expect(Date.parse(v.at)).toBeGreaterThan(Date.parse(r1.createdAt));
        expect(v.checks).toEqual([
            { name: "health", passed: true, detail: "GET /healthz answered 200" },
            { name: "release-id", passed: true, detail: `GET / serves release ${r1.releaseId}` },
        ]);
    });

    it("copies within one registry by blob mounts, and a second copy finds every blob present", async () => {
        const side = (repository: string) => ({ server: registry.server, repository, insecure: true, username: "_", password: API_KEY });
        const first = await copyImage({ source: side(`${STAGING_APP}/web`), target: side("e2e-hk-mounts/web"), digest: r1.digest });
        expect(first.blobs.uploaded).toBe(0);
        expect(first.blobs.mounted).toBeGreaterThan(1);
        const again = await copyImage({ source: side(`${STAGING_APP}/web`), target: side("e2e-hk-mounts/web"), digest: r1.digest });
        expect(again.blobs).toEqual({ present: first.blobs.mounted, mounted: 0, uploaded: 0 });
        expect(
            (
                await fetch(`${registry.url}/v2/e2e-hk-mounts/web/manifests/${r1.digest}`, {
                    method: "HEAD",
                    headers: { accept: DOCKER_V2, authorization: "Basic " + Buffer.from(`_:${API_KEY}`).toString("base64") },
                })
            ).headers.get("docker-content-digest"),
        ).toBe(r1.digest);
    });

    it("promotes: production's app repository gets the same digest byte for byte, released with no build", async () => {
        const up = await fx.production.up();
        p1 = outputValue<Verified>(up.outputs, "release");
        expect(p1.digest).toBe(r1.digest);
        // Through the gate on staging's passed verification: no override, nothing "unverified".
        expect(p1.origin).toBe("promote e2e-hk-staging v1");
        expect(p1.verification?.status).toBe("passed");
        expect(p1.verification?.checks.map((c) => [c.name, c.passed])).toEqual([
            ["health", true],
            ["release-id", true],
        ]);
        const held = await herokuManifest(PRODUCTION_APP, r1.digest);
        expect(held?.digest).toBe(r1.digest);
        const bytes = await sourceManifest(fx.project.repository, r1.digest);
        expect("sha256:" + createHash("sha256").update(bytes).digest("hex")).toBe(held!.digest);
        expect(double.apps.get(PRODUCTION_APP)!.formation.web.docker_image).toBe(held!.configDigest);
        expect(double.apps.get(PRODUCTION_APP)!.configVars).toEqual({ APP_ENV: "production", RELEASE_ID: p1.releaseId });
        expect(await resourceTypes(fx.production)).not.toContain("docker-build:index:Image");
        const url = outputValue<string>(up.outputs, "url");
        expect(url).toBe(double.apps.get(PRODUCTION_APP)!.web_url);
        // Heroku's own release list and the ledger compare by the `heroku` output: its newest release runs this image.
        const newestHeroku = [...double.apps.get(PRODUCTION_APP)!.releases].sort((x, y) => y.version - x.version)[0];
        expect(outputValue<{ app: string; version: string; imageId: string }>(up.outputs, "heroku")).toEqual({
            app: PRODUCTION_APP,
            version: `v${newestHeroku.version}`,
            imageId: held!.configDigest,
        });
        expect(url).not.toBe(double.apps.get(STAGING_APP)!.web_url);
        const answer = await getApp(url);
        expect(answer.status).toBe(200);
        expect(answer.body).toMatchObject({ release_id: p1.releaseId, app_env: "production", secret_configured: false });
    });

    it("a config change is one new Heroku release; a var dropped from the settings is removed", async () => {
        const app = double.apps.get(STAGING_APP)!;
        const before = app.releases.length;
        const image = app.formation.web.docker_image;
        await fx.staging.setConfig("delivery:env", { value: '{"APP_ENV":"staging-2"}' });
        const url = app.web_url;
        const r = outputValue<Verified>((await fx.staging.up()).outputs, "release");
        expect(app.releases.length).toBe(before + 1);
        // The config release restarted the dyno with the new config, at the same web_url, and it is verified there.
        expect(app.web_url).toBe(url);
        expect((await getApp(url)).body).toMatchObject({ release_id: r.releaseId, app_env: "staging-2" });
        expect(r.verification?.status).toBe("passed");
        expect(dynoContainers(STAGING_APP)).toHaveLength(1);
        expect(app.formation.web.docker_image).toBe(image);
        expect(app.configVars).toEqual({ APP_ENV: "staging-2", SECRET_KEY: "hk-secret-value-42", RELEASE_ID: r.releaseId });
        expect(double.requests.filter((q) => q.method === "PATCH" && q.path.endsWith("/formation"))).toHaveLength(2);
    });

    it("keeps the API key and the secret settings out of the state in plain text", async () => {
        const exported = execFileSync("pulumi", ["stack", "export", "--stack", "e2e-hk-staging"], {
            cwd: fx.project.dir,
            env: { ...process.env, PULUMI_BACKEND_URL: fx.project.backend, PULUMI_CONFIG_PASSPHRASE: PASSPHRASE },
        }).toString();
        expect(exported).toContain("HerokuConfigVars");
        expect(exported).not.toContain(API_KEY);
        expect(exported).not.toContain("hk-secret-value-42");
    });

    it("a failed Heroku release fails up with the last lines of its output stream", async () => {
        const running = double.dynos!.running.get(STAGING_APP)!;
        double.failNextRelease(["=== Release phase", "Running migrations", "ERROR: relation users already exists", "exit status 1"]);
        fx.project.changeApp((src) => src.replace("from the delivery sample app", "from the delivery sample app, r2"));
        const failed = await fx.staging.up().then(
            () => undefined,
            (e: Error) => e,
        );
        expect(String(failed?.message)).toMatch(/Heroku release v\d+ of e2e-hk-staging failed \(Deployed web \([0-9a-f]{12}\)\); last lines of its output:/);
        expect(String(failed?.message)).toContain("ERROR: relation users already exists");
        expect(String(failed?.message)).toContain("exit status 1");
        expect(double.apps.get(STAGING_APP)!.releases.at(-1)!.status).toBe("failed");
        // The failed release ran nothing new: the dyno still runs the image before it.
        expect(double.dynos!.running.get(STAGING_APP)!.image).toBe(running.image);
        // The next up releases it again, and it succeeds.
        const r2 = outputValue<Verified>((await fx.staging.up()).outputs, "release");
        expect(r2.digest).not.toBe(r1.digest);
        expect(double.apps.get(STAGING_APP)!.releases.at(-1)!.status).toBe("succeeded");
        expect((await herokuManifest(STAGING_APP, "latest"))?.digest).toBe(r2.digest);
        expect(double.dynos!.running.get(STAGING_APP)!.image).toBe(`${registry.server}/${STAGING_APP}/web@${r2.digest}`);
        expect(r2.verification?.status).toBe("passed");
        expect((await getApp(double.apps.get(STAGING_APP)!.web_url)).body.release_id).toBe(r2.releaseId);
    });

    it("delivery rollback v1 releases v1's digest on production again", async () => {
        const p2 = outputValue<ReleaseOutput>((await fx.production.up()).outputs, "release");
        expect(p2.digest).not.toBe(r1.digest);
        const prod = double.apps.get(PRODUCTION_APP)!;
        const imageV2 = prod.formation.web.docker_image;
        const rolled = await fx.project.delivery("rollback", "v1", "--stack", "e2e-hk-production", "--yes");
        expect(rolled.code, rolled.stderr + rolled.stdout).toBe(0);
        const after = outputValue<ReleaseOutput>(await fx.production.outputs(), "release");
        expect(after.digest).toBe(r1.digest);
        expect(after.origin).toBe("rollback to v1");
        const v1 = await herokuManifest(PRODUCTION_APP, r1.digest);
        expect(prod.formation.web.docker_image).toBe(v1!.configDigest);
        expect(prod.formation.web.docker_image).not.toBe(imageV2);
        expect(double.current(PRODUCTION_APP)!.images.web).toBe(v1!.configDigest);
        expect(prod.configVars.RELEASE_ID).toBe(after.releaseId);
        expect((await getApp(prod.web_url)).body.release_id).toBe(after.releaseId);
        expect(double.dynos!.running.get(PRODUCTION_APP)!.image).toBe(`${registry.server}/${PRODUCTION_APP}/web@${r1.digest}`);
    });

    it("a release whose health path answers 503 on its web dyno is recorded failed and fails up; production refuses to promote it", async () => {
        fx.project.changeApp((src) =>
            src.replace('return Response("ok", status=200, mimetype="text/plain")', 'return Response("unwell", status=503, mimetype="text/plain")'),
        );
        const failed = await fx.staging.up().then(
            () => undefined,
            (e: Error) => e,
        );
        expect(failed).toBeInstanceOf(Error);
        const after = outputValue<Verified>(await fx.staging.outputs(), "release");
        expect(String(failed?.message)).toContain(`release ${after.releaseId} failed its verification`);
        expect(String(failed?.message)).toContain("health: GET /healthz answered 503");
        // The Heroku release itself succeeded (the dyno runs it); its verification is what failed.
        expect(double.apps.get(STAGING_APP)!.releases.at(-1)!.status).toBe("succeeded");
        expect(after.verification?.status).toBe("failed");
        expect(after.verification?.checks).toEqual([
            { name: "health", passed: false, detail: "GET /healthz answered 503" },
            { name: "release-id", passed: true, detail: `GET / serves release ${after.releaseId}` },
        ]);
        // The gate holds it back: production's up fails and production keeps what it runs.
        const before = outputValue<Verified>(await fx.production.outputs(), "release");
        const refused = await fx.production.up().then(
            () => undefined,
            (e: Error) => e,
        );
        expect(refused).toBeInstanceOf(Error);
        expect(String(refused?.message)).toMatch(/failed its verification at .*\(health: GET \/healthz answered 503\)/);
        expect(outputValue<Verified>(await fx.production.outputs(), "release").releaseId).toBe(before.releaseId);
        expect((await getApp(double.apps.get(PRODUCTION_APP)!.web_url)).body.release_id).toBe(before.releaseId);
    });

    it("the double's stop removes its dyno containers", async () => {
        expect(dynoContainers(STAGING_APP)).toHaveLength(1);
        await double.dynos!.stopAll();
        expect(dynoContainers(STAGING_APP)).toEqual([]);
        expect(dynoContainers(PRODUCTION_APP)).toEqual([]);
    });
});
