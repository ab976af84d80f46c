import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT as root, expectSelfContained, providerModules, serializeProviders } from "../support/serializeProviders";

/**
 * The ReleaseLedger and DockerContainer providers are stored in the state as the text
 * `pulumi.runtime.serializeFunction` makes of them. They call the shared ref and runtime-env
 * helpers and the SDK's `unknownValue`: this serializes them the way the program does (its
 * modules loaded through loader.js, test/support/serializeProviders.ts), checks that only the
 * functions they use were captured (no module object of this program whole, no inlined engine
 * sentinel) and runs the text in a fresh process.
 */

const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), "provider-serialize-"));
const PROVIDERS = {
    releaseLedgerProvider: "components/release/releaseLedger",
    dockerContainerProvider: "components/targets/dockerContainer",
    releaseVerificationProvider: "components/release/verification",
    pullCheckProvider: "components/targets/pullCheck",
} as const;
/** Measured when the helpers were first shared: DockerContainer 18.3 kB (15.5 kB with the checks inlined); the ledger with its numbering 9.6 kB. */
/** With the release phase and the one-off runner (oneOffContainer.ts, masking): DockerContainer 24.1 kB. */
/** With the proxy swap (proxy.ts: the Caddy admin client, routes, the proxy's lifecycle) beside the recreate swap: DockerContainer 56.0 kB, the verification (httpGetVia) 1 kB more. */
/** With the proxy's admin gate, its never-written routes rebuilt once and the shared pull and log helpers: DockerContainer 60.2 kB. */
/** The pull check with the registry client it shares with RegistryTag (authorizedFetch): measured 7.3 kB. */
const MAX_CHARS = { releaseLedgerProvider: 14_000, dockerContainerProvider: 63_000, releaseVerificationProvider: 16_000, pullCheckProvider: 12_000 } as const;

let texts: Record<keyof typeof PROVIDERS, string>;

beforeAll(async () => {
    texts = (await serializeProviders(work, PROVIDERS)) as typeof texts;
}, 60_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Writes each text to work/<name>.js, then runs `body` (an async function text of `providers`, each made from its text) in a fresh process; its JSON result. */
async function providersInFreshProcess(providerTexts: Record<string, string>, body: string): Promise<unknown> {
    const files: Record<string, string> = {};
    for (const [name, text] of Object.entries(providerTexts)) {
        files[name] = join(work, `${name}.js`);
        writeFileSync(files[name], text);
    }
    const script = `const files = ${JSON.stringify(files)};
const providers = Object.fromEntries(Object.entries(files).map(([name, file]) => [name, require(file).handler()]));
(async () => console.log(JSON.stringify(await (${body})(providers))))();`;
    const { stdout } = await run(process.execPath, ["-e", script], { env: { ...process.env, NODE_PATH: join(root, "node_modules") } });
    return JSON.parse(stdout);
}

/** Loads a serialized provider in a fresh process and runs `body` (an async function text of `provider`); its JSON result. */
function inFreshProcess(name: keyof typeof PROVIDERS, body: string): Promise<unknown> {
    return providersInFreshProcess({ [name]: texts[name] }, `(providers) => (${body})(providers[${JSON.stringify(name)}])`);
}

/** Runs the serialized provider's `check` on each input built from `values`; the number of failures on `property` for each. */
async function checkInFreshProcess(name: keyof typeof PROVIDERS, property: string, inputs: object[]): Promise<number[]> {
    return (await inFreshProcess(
        name,
        `async (provider) => { const out = []; for (const i of ${JSON.stringify(inputs)}) out.push((await provider.check({}, i)).failures.filter((f) => f.property === ${JSON.stringify(property)}).length); return out; }`,
    )) as number[];
}

const pinned = `127.0.0.1:5000/delivery/app@sha256:${"a".repeat(64)}`;
const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

describe("serialized providers", () => {
    it.each(Object.keys(PROVIDERS) as (keyof typeof PROVIDERS)[])("%s captures only the helpers it calls", (name) => {
        const text = texts[name];
        expect(text.length).toBeLessThan(MAX_CHARS[name]);
        // The engine's sentinel comes from the SDK (a require), never inlined.
        expect(text).not.toContain(unknown);
        if (name === "pullCheckProvider") {
            // The registry client it calls, not the program-side resource class.
            expect(text).toContain("authorizedFetch");
            expect(text).not.toContain("class PullCheck");
            return;
        }
        if (name === "releaseVerificationProvider") {
            // The pure decisions and the one-off runner it calls, not the program-side gate.
            expect(text).toContain("releaseIdCheck");
            expect(text).toContain("runOneOff");
            expect(text).not.toContain("failureMessage");
            return;
        }
        expect(text).toContain('require("@pulumi/pulumi/runtime/index.js")');
        // From the refs module only the pinned-ref check and what it calls, not every export.
        expect(text).toContain("isDigestPinned");
        expect(text).not.toContain("imageTags");
        expect(text).not.toContain("refSlug");
    });

    it("ReleaseVerification verifies from its text: a server serving another release fails the release-id check; no change for the same release", async () => {
        const http = await import("node:http");
        const server = http.createServer((req, res) => {
            res.writeHead(200, { "content-type": req.url === "/" ? "application/json" : "text/plain" });
            res.end(req.url === "/" ? JSON.stringify({ release_id: "r-old" }) : "ok");
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        const port = (server.address() as { port: number }).port;
        try {
            const inputs = {
                releaseId: "r-new",
                image: pinned,
                url: `http://127.0.0.1:${port}`,
                healthPath: "/healthz",
                env: {},
                secretEnv: {},
                containerPort: 8080,
                timeoutSeconds: 5,
            };
            const result = (await inFreshProcess(
                "releaseVerificationProvider",
                `async (provider) => {
                    const a = await provider.create(${JSON.stringify(inputs)});
                    const same = await provider.diff(a.id, a.outs, ${JSON.stringify(inputs)});
                    const next = await provider.diff(a.id, a.outs, ${JSON.stringify({ ...inputs, releaseId: "r-next" })});
                    return { result: a.outs.result, same: same.changes, next: next.changes };
                }`,
            )) as { result: { status: string; checks: Array<{ name: string; passed: boolean; detail: string }> }; same: boolean; next: boolean };
            expect(result.result.status).toBe("failed");
            expect(result.result.checks).toEqual([
                { name: "health", passed: true, detail: "GET /healthz answered 200" },
                { name: "release-id", passed: false, detail: 'GET / serves release "r-old", not r-new' },
            ]);
            expect(result.same).toBe(false);
            expect(result.next).toBe(true);
        } finally {
            server.close();
        }
    }, 30_000);

    it("PullCheck judges credentials from its text: a 401 fails create with the refusal and the fix, a 200 passes", async () => {
        const http = await import("node:http");
        // Distribution API: a manifest HEAD without accepted credentials answers 401 (https://distribution.github.io/distribution/spec/api/).
        const server = http.createServer((req, res) => {
            const good = req.headers.authorization === `Basic ${Buffer.from("delivery:right").toString("base64")}`;
            res.writeHead(good ? 200 : 401, good ? {} : { "www-authenticate": 'Basic realm="registry"' });
            res.end();
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        const host = `127.0.0.1:${(server.address() as { port: number }).port}`;
        const inputs = (password: string) => ({
            imageRef: `${host}/delivery/app@sha256:${"b".repeat(64)}`,
            dockerConfigJson: JSON.stringify({ auths: { [host]: { username: "delivery", password } } }),
            insecure: true,
            fix: "pulumi config set --secret delivery:registryPassword <password> --stack s",
        });
        try {
            const result = (await inFreshProcess(
                "pullCheckProvider",
                `async (provider) => {
                    const ok = await provider.create(${JSON.stringify(inputs("right"))}).then(() => "created", (e) => e.message);
                    const bad = await provider.create(${JSON.stringify(inputs("wrong"))}).then(() => "created", (e) => e.message);
                    return { ok, bad };
                }`,
            )) as { ok: string; bad: string };
            expect(result.ok).toBe("created");
            expect(result.bad).toContain(`registry ${host} refused the image pull secret's credentials (user delivery, HTTP 401`);
            expect(result.bad).toContain("Fix: pulumi config set --secret delivery:registryPassword <password> --stack s");
            expect(result.bad).not.toContain("wrong");
        } finally {
            server.close();
        }
    }, 30_000);

    it("ReleaseLedger's check runs from its text: pinned and unknown pass, a tag fails", async () => {
        const inputs = [pinned, unknown, "127.0.0.1:5000/delivery/app:main"].map((imageRef) => ({ candidate: { imageRef } }));
        expect(await checkInFreshProcess("releaseLedgerProvider", "candidate", inputs)).toEqual([0, 0, 1]);
    }, 30_000);

    it("ReleaseLedger numbers releases from its text: v1, the same release again adds nothing, a new one is v2", async () => {
        const candidate = (releaseId: string) => ({
            releaseId,
            imageRef: pinned,
            digest: pinned.split("@")[1],
            commitSha: "abc1234",
            configHash: "h",
            origin: "build",
            by: "t",
            settings: { env: {}, secrets: {} },
        });
        const result = await inFreshProcess(
            "releaseLedgerProvider",
            `async (provider) => {
                const a = await provider.create({ candidate: ${JSON.stringify(candidate("r-1"))} });
                const same = await provider.diff(a.id, a.outs, { candidate: ${JSON.stringify(candidate("r-1"))} });
                const b = await provider.update(a.id, a.outs, { candidate: ${JSON.stringify(candidate("r-2"))} });
                return { first: JSON.parse(a.outs.entriesJson).entries.map((e) => e.version), same: same.changes, then: JSON.parse(b.outs.entriesJson).entries.map((e) => e.version + " " + e.releaseId) };
            }`,
        );
        expect(result).toEqual({ first: ["v1"], same: false, then: ["v1 r-1", "v2 r-2"] });
    }, 30_000);

    it("DockerContainer's check runs from its text: pinned and unknown pass, a tag fails", async () => {
        const inputs = [pinned, unknown, "127.0.0.1:5000/delivery/app:main"].map((image) => ({ name: "app-dev", image }));
        expect(await checkInFreshProcess("dockerContainerProvider", "image", inputs)).toEqual([0, 0, 1]);
    }, 30_000);
});

/**
 * Every other dynamic provider of components/ (the GitLab ones are the GitLab level's, against its
 * double: test/gitlab/serialization.test.ts), found in the source so that a new one is not left
 * out: serialized as the program serializes it, refusing a captured secret, self-contained, and
 * made again from its text in a fresh process. The unit level's mocks serialize none of them
 * (test/unit/harness.ts).
 */
describe("every other provider's text", () => {
    const others = Object.fromEntries(
        Object.entries(providerModules()).filter(([name, module]) => !module.startsWith(join("components", "gitlab", "")) && !(name in PROVIDERS)),
    );
    let otherTexts: Record<string, string>;
    beforeAll(async () => {
        otherTexts = await serializeProviders(mkdtempSync(join(work, "others-")), others, { allowSecrets: false });
    }, 60_000);

    it("are found: the release key, the registry tag and the Heroku target's two", () => {
        expect(Object.keys(others).sort()).toEqual(["herokuConfigVarsProvider", "herokuReleaseProvider", "registryTagProvider", "releaseKeyProvider"]);
    });

    it("are self-contained and run from their text", async () => {
        for (const [name, text] of Object.entries(otherTexts)) {
            expectSelfContained(text, name);
        }
        const methods = (await providersInFreshProcess(
            otherTexts,
            `async (providers) => Object.fromEntries(Object.entries(providers).map(([name, p]) => [name, ["check", "create", "diff", "update", "delete"].filter((f) => typeof p[f] === "function")]))`,
        )) as Record<string, string[]>;
        for (const name of Object.keys(others)) {
            expect(methods[name], name).toContain("create");
        }
    }, 30_000);
});
