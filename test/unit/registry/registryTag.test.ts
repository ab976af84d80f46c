import { createHash } from "node:crypto";
import { AddressInfo } from "node:net";
import { createServer, IncomingMessage, Server, ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { copyManifest } from "../../../components/registry/registryTag";

/**
 * copyManifest against a minimal HTTP endpoint that speaks the distribution API's
 * manifest GET/PUT and a Bearer token challenge (GitLab's registry flow, which the local
 * Debian registry with htpasswd does not use). The e2e tests cover a real registry.
 */
const MANIFEST = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{}}\n');
const DIGEST = "sha256:" + createHash("sha256").update(MANIFEST).digest("hex");

let server: Server | undefined;
afterEach(() => server?.close());

async function listen(handler: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void): Promise<string> {
    server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c) => chunks.push(c));
        req.on("end", () => handler(req, res, Buffer.concat(chunks)));
    });
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    return `127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

describe("copyManifest", () => {
    it("puts the exact bytes and media type under the new tag, via a Bearer token", async () => {
        const puts: Array<{ url: string; type: string; body: Buffer }> = [];
        let tokens = 0;
        let challenges = 0;
        const host = await listen((req, res, body) => {
            if (req.url?.startsWith("/token")) {
                tokens++;
                expect(req.headers.authorization).toBe("Basic " + Buffer.from("ci:job-token").toString("base64"));
                expect(req.url).toContain("scope=repository%3Agroup%2Fapp%3Apull%2Cpush");
                res.end(JSON.stringify({ token: "T" }));
                return;
            }
            if (req.headers.authorization !== "Bearer T") {
                challenges++;
                res.writeHead(401, {
                    "www-authenticate": `Bearer realm="http://${req.headers.host}/token",service="registry",scope="repository:group/app:pull"`,
                }).end();
                return;
            }
            if (req.method === "GET") {
                res.writeHead(200, { "content-type": "application/vnd.oci.image.manifest.v1+json", "docker-content-digest": DIGEST }).end(MANIFEST);
            } else {
                puts.push({ url: req.url!, type: String(req.headers["content-type"]), body });
                res.writeHead(201, { "docker-content-digest": "sha256:" + createHash("sha256").update(body).digest("hex") }).end();
            }
        });
        const digest = await copyManifest({
            server: host,
            repository: "group/app",
            digest: DIGEST,
            tag: "v1.0.0",
            insecure: true,
            username: "ci",
            password: "job-token",
        });
        expect(digest).toBe(DIGEST);
        expect(puts).toHaveLength(1);
        expect(puts[0].url).toBe("/v2/group/app/manifests/v1.0.0");
        expect(puts[0].type).toBe("application/vnd.oci.image.manifest.v1+json");
        expect(puts[0].body.equals(MANIFEST)).toBe(true);
        // One challenge and one token for the whole copy: the later requests send it at once.
        expect(challenges).toBe(1);
        expect(tokens).toBe(1);
    });

    it("refuses bytes that do not hash to the digest asked for", async () => {
        const host = await listen((_req, res) => {
            res.writeHead(200, { "content-type": "application/vnd.oci.image.manifest.v1+json" }).end(Buffer.concat([MANIFEST, Buffer.from(" ")]));
        });
        await expect(copyManifest({ server: host, repository: "group/app", digest: DIGEST, tag: "v1", insecure: true })).rejects.toThrow(
            `for ${DIGEST}; refusing to tag`,
        );
    });

    it("says credentials are needed when the registry asks for them and none are set", async () => {
        const host = await listen((_req, res) => {
            res.writeHead(401, { "www-authenticate": 'Basic realm="registry"' }).end();
        });
        await expect(copyManifest({ server: host, repository: "group/app", digest: DIGEST, tag: "v1", insecure: true })).rejects.toThrow(
            `registry at ${host} requires authentication (Basic); set the registry credentials`,
        );
    });

    describe("a release tag is never moved", () => {
        const OTHER = "sha256:" + "e".repeat(64);
        /** A registry where `v1` already names `held`; records the PUTs. */
        const registry = async (held: string | undefined, puts: string[]) =>
            listen((req, res) => {
                if (req.method === "PUT") {
                    puts.push(req.url!);
                    res.writeHead(201, { "docker-content-digest": DIGEST }).end();
                } else if (req.url?.endsWith(`/${DIGEST}`)) {
                    res.writeHead(200, { "content-type": "application/vnd.oci.image.manifest.v1+json", "docker-content-digest": DIGEST }).end(MANIFEST);
                } else if (held !== undefined) {
                    res.writeHead(200, { "content-type": "application/vnd.oci.image.manifest.v1+json", "docker-content-digest": held }).end("{}");
                } else {
                    res.writeHead(404, { "content-type": "application/json" }).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
                }
            });

        it("refuses a tag that names another digest, and says how to go on", async () => {
            const puts: string[] = [];
            const host = await registry(OTHER, puts);
            await expect(copyManifest({ server: host, repository: "group/app", digest: DIGEST, tag: "v1", insecure: true })).rejects.toThrow(
                `registry tag group/app:v1 already names ${OTHER}; a release tag is never moved to another digest (${DIGEST}). ` +
                    "Promote under a new tag (a new git tag), remove delivery:promotionTag from the stack, or, if v1 is meant to move, pulumi config set delivery:promotionTagMutable true",
            );
            expect(puts).toEqual([]);
        });

        it("moves a tag the settings call mutable", async () => {
            const puts: string[] = [];
            const host = await registry(OTHER, puts);
            expect(await copyManifest({ server: host, repository: "group/app", digest: DIGEST, tag: "v1", insecure: true, mutable: true })).toBe(DIGEST);
            expect(puts).toEqual(["/v2/group/app/manifests/v1"]);
        });

        it("writes a new tag, and a tag that already names this digest again (a re-run)", async () => {
            for (const held of [undefined, DIGEST]) {
                const puts: string[] = [];
                const host = await registry(held, puts);
                expect(await copyManifest({ server: host, repository: "group/app", digest: DIGEST, tag: "v1", insecure: true })).toBe(DIGEST);
                expect(puts).toHaveLength(1);
                server?.close();
            }
        });
    });
});
