import { execFile } from "node:child_process";
import { expect } from "vitest";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

/** The clone's root, where the program and its node_modules are. */
export const ROOT = resolve(__dirname, "../..");

/**
 * Every dynamic provider of components/, found in the source so that a new one is not left out:
 * each `export const <name>Provider: pulumi.dynamic.ResourceProvider`, by name, with its module
 * (relative to the clone, without .ts), as serializeProviders takes them.
 */
export function providerModules(): Record<string, string> {
    const exported = /^export const (\w+Provider): pulumi\.dynamic\.ResourceProvider\b/gm;
    return Object.fromEntries(
        readdirSync(join(ROOT, "components"), { recursive: true, encoding: "utf8" })
            .filter((file) => file.endsWith(".ts"))
            .flatMap((file) =>
                [...readFileSync(join(ROOT, "components", file), "utf8").matchAll(exported)].map(([, name]) => [
                    name,
                    join("components", file.replace(/\.ts$/, "")),
                ]),
            ),
    );
}

/**
 * The text `pulumi.runtime.serializeFunction` makes of each dynamic provider, as the engine
 * stores it: serialized in a process of its own that loads the program's modules through
 * loader.js, as the program runs (entry.js), never under the test runner's module transform.
 * `providers` maps an exported provider's name to its module, relative to the clone;
 * `allowSecrets` is passed on to `serializeFunction` (false fails on a captured secret).
 */
export async function serializeProviders(
    work: string,
    providers: Record<string, string>,
    { allowSecrets = true }: { allowSecrets?: boolean } = {},
): Promise<Record<string, string>> {
    const serializer = join(work, "serialize.js");
    const out = join(work, "texts.json");
    const requires = Object.entries(providers).map(([name, file]) => `    ${name}: require(${JSON.stringify(join(ROOT, file))}).${name},`);
    writeFileSync(
        serializer,
        `require(${JSON.stringify(join(ROOT, "loader.js"))}).register(${JSON.stringify(ROOT)});
const pulumi = require(require.resolve("@pulumi/pulumi", { paths: [${JSON.stringify(ROOT)}] }));
const providers = {
${requires.join("\n")}
};
(async () => {
    const texts = {};
    for (const [name, provider] of Object.entries(providers)) {
        texts[name] = (await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: ${JSON.stringify(allowSecrets)} })).text;
    }
    require("node:fs").writeFileSync(process.argv[2], JSON.stringify(texts));
})().catch((e) => { console.error(e); process.exit(1); });
`,
    );
    await promisify(execFile)(process.execPath, [serializer, out], { cwd: ROOT });
    return JSON.parse(readFileSync(out, "utf8")) as Record<string, string>;
}

/**
 * A provider text the provider process can make again anywhere: it exports the handler the
 * engine calls, requires only packages (resolvable from the program's node_modules), never a local
 * file, and does not name the clone's path.
 */
export function expectSelfContained(text: string, name: string): void {
    expect(text, name).toMatch(/exports\.handler = /);
    expect(text.match(/require\((["'])[./][^"']*\1\)/g) ?? [], name).toEqual([]);
    expect(text, name).not.toContain(ROOT);
}
