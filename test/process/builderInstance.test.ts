import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

/**
 * scripts/services.d/buildkit.sh's write_builder_instance runs in every `scripts/services start`,
 * and e2e test files call that two at a time, while the other file's `pulumi up` has the
 * docker-build provider read the builder from the buildx store. The file must be whole at every
 * moment (written through scripts/lib/common.sh's write_atomic), and nothing else may appear in
 * instances/: buildx takes every file there for a builder (store.go, Txn.List).
 */
const dir = mkdtempSync(join(tmpdir(), "builder-instance-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("write_builder_instance", () => {
    it("never shows a reader an empty or partial builder file, and leaves only it in instances/", async () => {
        const config = join(dir, "docker");
        const done = join(dir, "done");
        const file = join(config, "buildx", "instances", "delivery");
        const script = [
            "set -euo pipefail",
            // On any exit: the read loop below never yields, so it cannot see the child exit.
            `trap 'touch ${done}' EXIT`,
            `source scripts/lib/common.sh`,
            `source scripts/services.d/buildkit.sh`,
            "write_builder_instance",
            `touch ${dir}/first`,
            "for i in $(seq 80); do write_builder_instance; done",
        ].join("\n");
        // stdin ignored: bash reads ~/.bashrc when stdin is a socket, and Node's pipes are sockets.
        const child = spawn("bash", ["-c", script], {
            env: { PATH: process.env.PATH ?? "", DOCKER_CONFIG: config, RUN: dir },
            stdio: ["ignore", "inherit", "inherit"],
        });
        const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
        while (!existsSync(join(dir, "first")) && !existsSync(done)) {
            await new Promise((r) => setTimeout(r, 5));
        }
        const want = readFileSync(file, "utf8");
        // Reads in a tight loop while the child writes (it runs in its own process).
        const bad: string[] = [];
        const names = new Set<string>();
        let reads = 0;
        while (!existsSync(done)) {
            const got = readFileSync(file, "utf8");
            reads++;
            if (got !== want && bad.length < 5) bad.push(`${got.length} chars: ${JSON.stringify(got.slice(0, 40))}`);
            for (const name of readdirSync(join(config, "buildx", "instances"))) names.add(name);
        }
        expect(await exited).toBe(0);
        expect(want).toContain(`"Endpoint":"unix://${dir}/buildkit/buildkitd.sock"`);
        expect(bad).toEqual([]);
        expect([...names]).toEqual(["delivery"]);
        expect(reads).toBeGreaterThan(50); // the reader really read beside the writes
    });
});
