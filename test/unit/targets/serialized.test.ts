import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT as root, serializeProviders } from "../../support/serializeProviders";

/**
 * The ReleaseRecord and DockerContainer providers are stored in the state as the text
 * `pulumi.runtime.serializeFunction` makes of them. They call the shared ref and runtime-env
 * helpers and the SDK's `unknownValue`: this serializes them the way the language host does
 * (under ts-node), checks that only the functions they use were captured (no module object of
 * this program whole, no inlined engine sentinel) and runs the text in a fresh process.
 */

const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), "provider-serialize-"));
const PROVIDERS = {
    releaseRecordProvider: "components/release/releaseRecord",
    dockerContainerProvider: "components/targets/dockerContainer",
} as const;
/** Measured when the helpers were first shared: 4.4 kB and 18.3 kB (2.0 kB and 15.5 kB with the checks inlined). */
const MAX_CHARS = { releaseRecordProvider: 6_000, dockerContainerProvider: 22_000 } as const;

let texts: Record<keyof typeof PROVIDERS, string>;

beforeAll(async () => {
    texts = (await serializeProviders(work, PROVIDERS)) as typeof texts;
}, 60_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Loads a serialized provider in a fresh process and runs its `check` on each input. */
async function checkInFreshProcess(name: keyof typeof PROVIDERS, property: string, values: string[]): Promise<number[]> {
    const file = join(work, `${name}.js`);
    writeFileSync(file, texts[name]);
    const script = `const provider = require(${JSON.stringify(file)}).handler();
(async () => {
    const out = [];
    for (const v of ${JSON.stringify(values)}) {
        out.push((await provider.check({}, { name: "app-dev", ${JSON.stringify(property)}: v })).failures.filter((f) => f.property === ${JSON.stringify(property)}).length);
    }
    console.log(JSON.stringify(out));
})();`;
    const { stdout } = await run(process.execPath, ["-e", script], { env: { ...process.env, NODE_PATH: join(root, "node_modules") } });
    return JSON.parse(stdout) as number[];
}

const pinned = `127.0.0.1:5000/delivery/app@sha256:${"a".repeat(64)}`;
const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

describe("serialized providers", () => {
    it.each(Object.keys(PROVIDERS) as (keyof typeof PROVIDERS)[])("%s captures only the helpers it calls", (name) => {
        const text = texts[name];
        expect(text.length).toBeLessThan(MAX_CHARS[name]);
        // The engine's sentinel comes from the SDK (a require), never inlined.
        expect(text).not.toContain(unknown);
        expect(text).toContain('require("@pulumi/pulumi/runtime/index.js")');
        // From the refs module only the pinned-ref check and what it calls, not every export.
        expect(text).toContain("isDigestPinned");
        expect(text).not.toContain("imageTags");
        expect(text).not.toContain("refSlug");
    });

    it("ReleaseRecord's check runs from its text: pinned and unknown pass, a tag fails", async () => {
        expect(await checkInFreshProcess("releaseRecordProvider", "imageRef", [pinned, unknown, "127.0.0.1:5000/delivery/app:main"])).toEqual([0, 0, 1]);
    }, 30_000);

    it("DockerContainer's check runs from its text: pinned and unknown pass, a tag fails", async () => {
        expect(await checkInFreshProcess("dockerContainerProvider", "image", [pinned, unknown, "127.0.0.1:5000/delivery/app:main"])).toEqual([0, 0, 1]);
    }, 30_000);
});
