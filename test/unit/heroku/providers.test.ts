import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { followRelease, herokuRequest, newestRelease } from "../../../components/heroku/herokuApi";
import { herokuConfigVarsProvider } from "../../../components/heroku/herokuConfigVars";
import { HerokuDouble, startHerokuDouble } from "../../support/heroku";
import { useFakeClock } from "../harness";

/** The Platform API client and the config vars provider against the Heroku double (test/support/heroku). */
const KEY = "heroku-unit-key-0001";
let double: HerokuDouble;
beforeEach(async () => {
    double = await startHerokuDouble(KEY);
    double.addApp("app-staging");
});
afterEach(() => double.stop());

const conn = () => ({ apiUrl: double.url, apiKey: KEY });

describe("herokuRequest", () => {
    it("sends the version 3 Accept header and the key as a Bearer token", async () => {
        const app = await herokuRequest<{ name: string; web_url: string }>(conn(), "GET", "/apps/app-staging");
        expect(app).toMatchObject({ name: "app-staging", web_url: "https://app-staging-0123456789ab.herokuapp.com/" });
        expect(double.requests[0].accept).toBe("application/vnd.heroku+json; version=3");
    });

    it("reports 401, 404 and 422 with Heroku's id and message", async () => {
        await expect(herokuRequest({ ...conn(), apiKey: "wrong" }, "GET", "/apps/app-staging")).rejects.toThrow(
            "Heroku Platform API GET /apps/app-staging: HTTP 401 unauthorized: Invalid credentials provided.",
        );
        await expect(herokuRequest(conn(), "GET", "/apps/nope")).rejects.toThrow("HTTP 404 not_found: Couldn't find that app.");
        await expect(
            herokuRequest(conn(), "PATCH", "/apps/app-staging/formation", { updates: [{ type: "web", docker_image: "sha256:" + "a".repeat(64) }] }),
        ).rejects.toThrow("HTTP 422 invalid_params");
    });

    it("waits and retries a 429 (the request was not processed), then fails after five retries", async () => {
        const waits: number[] = [];
        const sleep = async (ms: number) => void waits.push(ms);
        double.exhaust(2);
        await herokuRequest(conn(), "PATCH", "/apps/app-staging/config-vars", { A: "1" }, {}, sleep);
        expect(waits).toEqual([1000, 2000]);
        expect(double.apps.get("app-staging")!.configVars).toEqual({ A: "1" });
        double.exhaust(6);
        await expect(herokuRequest(conn(), "GET", "/apps/app-staging", undefined, {}, sleep)).rejects.toThrow(
            "HTTP 429 rate_limit: Your account reached the API rate limit",
        );
        expect(waits).toEqual([1000, 2000, 1000, 2000, 4000, 8000, 16000]);
    });
});

describe("followRelease", () => {
    it("follows a pending release until it succeeds", async () => {
        await herokuRequest(conn(), "PATCH", "/apps/app-staging/config-vars", { A: "1" });
        const r = await newestRelease(conn(), "app-staging");
        expect(r).toMatchObject({ version: 1, status: "pending" });
        expect((await followRelease(conn(), "app-staging", r!, 10, 10)).status).toBe("succeeded");
    });

    it("fails a failed release with the last lines of its output stream", async () => {
        double.failNextRelease(["Running release command...", "migrate: relation users already exists", "exit status 1"]);
        double.pushedWithoutRegistry.set("app-staging/web", ["sha256:" + "b".repeat(64)]);
        await herokuRequest(conn(), "PATCH", "/apps/app-staging/formation", { updates: [{ type: "web", docker_image: "sha256:" + "b".repeat(64) }] });
        const r = await newestRelease(conn(), "app-staging");
        await expect(followRelease(conn(), "app-staging", r!, 10, 10)).rejects.toThrow(
            /Heroku release v1 of app-staging failed \(Deployed web \(bbbbbbbbbbbb\)\); last lines of its output:\n {2}Running release command...\n {2}migrate: relation users already exists\n {2}exit status 1/,
        );
    });
});

describe("herokuConfigVarsProvider", () => {
    // The provider follows each release it makes at followRelease's real pace (reads 250 ms, then
    // 500 ms after it: 0.75 s per release with the double's one pending read). The fake clock runs
    // those waits at once; the requests and reads are the same.
    useFakeClock();

    const inputs = () => ({
        apiUrl: double.url,
        apiKey: KEY,
        app: "app-staging",
        vars: { GREETING: "hi", RELEASE_ID: "r-1" },
        secretVars: { SECRET_KEY: "s1" },
        releaseTimeoutSeconds: 10,
    });

    it("sets the vars in one release, removes a var the settings dropped (null), and leaves others' vars alone", async () => {
        const app = double.apps.get("app-staging")!;
        app.configVars.DATABASE_URL = "postgres://addon";
        const created = await herokuConfigVarsProvider.create(inputs());
        expect(app.configVars).toEqual({ DATABASE_URL: "postgres://addon", GREETING: "hi", RELEASE_ID: "r-1", SECRET_KEY: "s1" });
        expect(app.releases).toHaveLength(1);
        const next = { ...inputs(), vars: { RELEASE_ID: "r-2" } };
        expect((await herokuConfigVarsProvider.diff!(created.id, created.outs, next)).changes).toBe(true);
        await herokuConfigVarsProvider.update!(created.id, created.outs, next);
        expect(app.configVars).toEqual({ DATABASE_URL: "postgres://addon", RELEASE_ID: "r-2", SECRET_KEY: "s1" });
        expect(app.releases).toHaveLength(2);
        const patch = double.requests.filter((r) => r.method === "PATCH").at(-1)!;
        expect(patch.body).toEqual({ GREETING: null, RELEASE_ID: "r-2", SECRET_KEY: "s1" });
        await herokuConfigVarsProvider.delete!(created.id, { ...created.outs, ...next });
        expect(app.configVars).toEqual({ DATABASE_URL: "postgres://addon" });
    });

    it("sees no change when only the order of the vars differs", async () => {
        const created = await herokuConfigVarsProvider.create(inputs());
        const reordered = { ...inputs(), vars: { RELEASE_ID: "r-1", GREETING: "hi" } };
        expect((await herokuConfigVarsProvider.diff!(created.id, created.outs, reordered)).changes).toBe(false);
    });
});
