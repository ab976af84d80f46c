import { appendFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { localConfig, useStacks } from "../support/workspace";
import { PORTS } from "../support/ports";

/** Every entry file of a provider cache directory. */
function entries(dir: string): string[] {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath, e.name))
        .sort();
}

/**
 * The dynamic providers' serialized texts (components/dynamicResource.ts) on the real engine:
 * kept in a cache keyed by their sources, used on the next run, never stale after an edit, and
 * checked against a fresh serialization in verify mode.
 */
describe("dynamic provider cache", () => {
    const port = PORTS.providerCache;
    // The loader's cache of its own: the provider texts go next to it (delivery-providers/).
    const cache = mkdtempSync(join(tmpdir(), "delivery-provider-cache-"));
    const providers = join(cache, "delivery-providers");
    const fx = useStacks((project) => ({ stack: ["dev", localConfig(project, port)] }));
    afterAll(() => rmSync(cache, { recursive: true, force: true }));

    const report = join(cache, "loader-report.jsonl");
    /** What the program's process last reported (loader.js DELIVERY_TS_LOADER_REPORT). */
    const lastReport = (): { typescript: boolean } => JSON.parse(readFileSync(report, "utf8").trim().split("\n").at(-1)!);
    const preview = async (mode: string) => {
        // The workspace's environment is what the engine, and so the program, runs with.
        fx.stack.workspace.envVars.DELIVERY_TS_CACHE = join(cache, "delivery-ts");
        fx.stack.workspace.envVars.DELIVERY_PROVIDER_CACHE = mode;
        fx.stack.workspace.envVars.DELIVERY_TS_LOADER_REPORT = report;
        return fx.stack.preview();
    };

    it("a first run writes one text per dynamic type; the next run reads them instead of serializing", async () => {
        await preview("on");
        // A cold run compiles and serializes: TypeScript is loaded (defer-sdk.js only puts it off).
        expect(lastReport().typescript).toBe(true);
        const first = entries(providers);
        // The dev stack's dynamic types: ReleaseKey, ReleaseLedger, RegistryTag, DockerContainer, ReleaseVerification.
        expect(first).toHaveLength(5);
        const texts = first.map((f) => readFileSync(f, "utf8"));
        expect(texts.every((t) => t.startsWith("exports.handler = "))).toBe(true);

        // A marker appended to every entry shows up in what the next run sends: it read them.
        for (const f of first) {
            appendFileSync(f, "\n// cached\n");
        }
        await preview("on");
        expect(entries(providers)).toEqual(first);
        // Nothing to serialize or compile: TypeScript was never loaded.
        expect(lastReport().typescript).toBe(false);
        const up = await fx.stack.up();
        expect(up.summary.result).toBe("succeeded");
        const state = await fx.stack.exportStack();
        const sent = (state.deployment.resources as Array<{ inputs?: { __provider?: string } }>).map((r) => r.inputs?.__provider).filter(Boolean);
        expect(sent).toHaveLength(6);
        expect(sent.every((t) => t!.endsWith("// cached\n"))).toBe(true);
    });

    it("verify mode fails a run whose cached text differs from a fresh serialization, naming the type and the fix", async () => {
        const [entry] = entries(providers);
        const count = entries(providers).length;
        await expect(preview("verify")).rejects.toThrow(/the cached provider text \(.*\) differs from a fresh serialization[\s\S]*Fix: read that value inside/);
        // The rejected entry is gone: a later run without verify cannot read it.
        expect(entries(providers).length).toBeLessThan(count);
        // Restored to what the serializer makes, verify passes.
        for (const f of entries(providers)) {
            writeFileSync(f, readFileSync(f, "utf8").replace(/\n\/\/ cached\n$/, ""));
        }
        await preview("verify");
        expect(readFileSync(entry, "utf8")).not.toContain("// cached");
    });

    it("an edited provider source gets new entries, never the old text", async () => {
        const before = entries(providers);
        const file = join(fx.project.dir, "components", "release", "releaseKey.ts");
        writeFileSync(file, readFileSync(file, "utf8").replace("async delete() {},", "async delete() {\n        // edited\n    },"));
        await preview("verify");
        const after = entries(providers);
        expect(after.length).toBeGreaterThan(before.length);
        const fresh = after.filter((f) => !before.includes(f)).map((f) => readFileSync(f, "utf8"));
        expect(fresh.some((t) => t.includes("// edited"))).toBe(true);
    });
});
