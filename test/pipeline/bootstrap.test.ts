import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, cleanEnv } from "./harness";

/**
 * scripts/bootstrap on an ordinary Pulumi machine: an installed `pulumi` of the pinned version
 * and plugins installed the usual way. Simulated with the binaries this machine built: the
 * engine, language host and dynamic provider copied outside the cache (as hard links where
 * possible), and the two providers installed into a separate PULUMI_HOME with
 * `pulumi plugin install --file`. Bootstrap must choose the installed mode and build nothing:
 * not the engine, not the plugins, and not buildkitd (built only when `scripts/services start
 * buildkit` asks for it).
 */

const BUILT = execFileSync("bash", ["-c", `source "${ROOT}/scripts/env.sh" && printf %s "$DELIVERY_ENGINE_DIR/bin"`]).toString();
const VERSIONS = execFileSync("bash", [
    "-c",
    `source "${ROOT}/scripts/env.sh" && printf '%s %s %s' "$PULUMI_VERSION" "$KUBERNETES_PLUGIN_VERSION" "$DOCKER_BUILD_PLUGIN_VERSION"`,
])
    .toString()
    .split(" ");
const [PULUMI_V, KUBERNETES_V, DOCKER_BUILD_V] = VERSIONS;

let dir: string;
let env: NodeJS.ProcessEnv;

function copy(from: string, to: string) {
    try {
        linkSync(from, to);
    } catch {
        copyFileSync(from, to);
    }
}

beforeAll(() => {
    // The built engine is what gets "installed"; the pipeline level runs after bootstrap.
    execFileSync(join(ROOT, "scripts", "bootstrap"), { stdio: "inherit", env: cleanEnv() });
    dir = mkdtempSync(join(tmpdir(), "delivery-installed-"));
    const bin = join(dir, "bin");
    const home = join(dir, "pulumi-home");
    mkdirSync(bin);
    for (const b of ["pulumi", "pulumi-language-nodejs", "pulumi-resource-pulumi-nodejs"]) copy(join(BUILT, b), join(bin, b));
    for (const [name, version] of [
        ["kubernetes", KUBERNETES_V],
        ["docker-build", DOCKER_BUILD_V],
    ]) {
        execFileSync(join(bin, "pulumi"), ["plugin", "install", "resource", name, version, "--file", join(BUILT, `pulumi-resource-${name}`)], {
            env: { ...cleanEnv(), PULUMI_HOME: home, PULUMI_SKIP_UPDATE_CHECK: "true" },
            stdio: "pipe",
        });
    }
    // PATH as on such a machine: the installed engine, and not this project's build of it.
    const path = (process.env.PATH ?? "").split(":").filter((d) => d !== BUILT && !d.startsWith(ROOT));
    env = cleanEnv({ PATH: [bin, ...path].join(":"), PULUMI_HOME: home, DELIVERY_CACHE: join(dir, "cache") });
}, 120_000);

afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
});

function bootstrap(args: string[], extra: Record<string, string> = {}) {
    const r = spawnSync(join(ROOT, "scripts", "bootstrap"), args, { env: { ...env, ...extra }, encoding: "utf8", timeout: 60_000 });
    return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

describe("scripts/bootstrap with an installed engine", () => {
    it("uses the installed pulumi and the plugins in PULUMI_HOME, and builds nothing", () => {
        const r = bootstrap([]);
        expect(r.output).toContain(`engine: installed: ${join(dir, "bin", "pulumi")} v${PULUMI_V}`);
        expect(r.output).not.toMatch(/building|built |go build/);
        expect(r.output).toContain("ready (installed)");
        expect(r.code).toBe(0);
        // Nothing was built or copied into the project's engine cache.
        const engineBin = join(dir, "cache", "engine", `pulumi-v${PULUMI_V}`, "bin");
        expect(existsSync(engineBin) ? readdirSync(engineBin) : []).toEqual([]);
    });

    it("verifies that mode with --check", () => {
        const r = bootstrap(["--check"]);
        expect(r.output).toContain("ok (installed)");
        expect(r.code).toBe(0);
    });

    it("says when an installed mode is asked for and no engine is installed", () => {
        const r = bootstrap(["--check"], { DELIVERY_ENGINE: "installed", PATH: (env.PATH ?? "").split(":").slice(1).join(":") });
        expect(r.output).toContain("DELIVERY_ENGINE=installed, but there is no pulumi on PATH");
        expect(r.code).toBe(1);
    });
});
