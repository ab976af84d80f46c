import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * scripts/services.d/base.sh's registry_digest: "the manifest digest the registry serves, or
 * nothing". Its callers run under `set -euo pipefail` (scripts/services) and assign its output,
 * so a tag the registry does not have (404, as on a machine whose registry is new) must give
 * nothing and status 0; a failing status ended `scripts/services start` without a word.
 * The registry's answers follow the Distribution API: HEAD /v2/<name>/manifests/<reference>
 * (https://distribution.github.io/distribution/spec/api/#existing-manifests).
 */
const DIGEST = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
let server: Server;
let registry = "";

beforeAll(async () => {
    server = createServer((req, res) => {
        if (req.method === "HEAD" && req.url === "/v2/delivery/python-base/manifests/bookworm") {
            res.writeHead(200, { "Docker-Content-Digest": DIGEST, "Content-Type": "application/vnd.oci.image.manifest.v1+json" });
        } else {
            res.writeHead(404, { "Content-Type": "application/json" });
        }
        res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    registry = `127.0.0.1:${address.port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Runs `remote="$(registry_digest <repository> <tag>)"` as start_base does, in scripts/services' shell options. */
async function digestOf(repository: string, tag: string): Promise<{ code: number | null; out: string }> {
    const script = `set -euo pipefail; source "${join("scripts", "services.d", "base.sh")}"; remote="$(registry_digest ${repository} ${tag})"; echo "remote=[$remote]"`;
    // Spawned asynchronously: the registry answering it runs in this process.
    return new Promise((resolve) => {
        // stdin ignored: bash reads ~/.bashrc when stdin is a socket (its check for rshd), and
        // Node's pipes are sockets.
        const child = spawn("bash", ["-c", script], { env: { PATH: process.env.PATH ?? "", REGISTRY: registry }, stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        child.stdout.on("data", (d: Buffer) => (out += d.toString()));
        child.stderr.on("data", (d: Buffer) => (out += d.toString()));
        child.on("close", (code) => resolve({ code, out }));
    });
}

describe("registry_digest", () => {
    it("prints the digest the registry serves for a tag it has", async () => {
        expect(await digestOf("delivery/python-base", "bookworm")).toEqual({ code: 0, out: `remote=[${DIGEST}]\n` });
    });

    it("prints nothing, with status 0, for a tag the registry does not have", async () => {
        expect(await digestOf("delivery/python-base", "trixie")).toEqual({ code: 0, out: "remote=[]\n" });
    });

    it("prints nothing, with status 0, when no registry answers", async () => {
        const saved = registry;
        registry = "127.0.0.1:1";
        try {
            expect(await digestOf("delivery/python-base", "bookworm")).toEqual({ code: 0, out: "remote=[]\n" });
        } finally {
            registry = saved;
        }
    });
});
