import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { freePort } from "../project";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Heroku's container registry for the tests: Debian's docker-registry (the binary
 * scripts/services runs) on a loopback port of its own, with an htpasswd holding user `_` and
 * the API key as its password, as Heroku's registry takes them ("docker login --username=_
 * --password=$(heroku auth:token) registry.heroku.com"). The project's auth registry on :5001
 * cannot play it: scripts/services rewrites its htpasswd with user `delivery` only.
 */
export interface HerokuRegistry {
    /** `127.0.0.1:<port>`. */
    readonly server: string;
    readonly url: string;
    stop(): Promise<void>;
}

export async function startHerokuRegistry(apiKey: string): Promise<HerokuRegistry> {
    const dir = mkdtempSync(join(tmpdir(), "heroku-registry-"));
    const port = await freePort();
    writeFileSync(join(dir, "htpasswd"), execFileSync("htpasswd", ["-nbB", "_", apiKey]).toString().trim() + "\n", { mode: 0o600 });
    writeFileSync(
        join(dir, "config.yml"),
        [
            "version: 0.1",
            "log:",
            "  level: warn",
            "storage:",
            "  filesystem:",
            `    rootdirectory: ${dir}/data`,
            "  delete:",
            "    enabled: true",
            "http:",
            `  addr: 127.0.0.1:${port}`,
            "auth:",
            "  htpasswd:",
            "    realm: heroku-registry-double",
            `    path: ${dir}/htpasswd`,
            "",
        ].join("\n"),
    );
    const child: ChildProcess = spawn("docker-registry", ["serve", join(dir, "config.yml")], { stdio: "ignore" });
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 15_000;
    for (;;) {
        const code = await fetch(`${url}/v2/`).then(
            (r) => r.status,
            () => 0,
        );
        if (code === 401) break;
        if (Date.now() > deadline || child.exitCode !== null) {
            child.kill();
            throw new Error(`docker-registry did not answer on ${url}/v2/ (exit ${child.exitCode})`);
        }
        await new Promise((r) => setTimeout(r, 100));
    }
    return {
        server: `127.0.0.1:${port}`,
        url,
        async stop() {
            if (child.exitCode === null) {
                child.kill("SIGTERM");
                await new Promise((r) => child.once("exit", r));
            }
            rmSync(dir, { recursive: true, force: true });
        },
    };
}
