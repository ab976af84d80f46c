import { AddressInfo } from "node:net";
import { createServer, IncomingMessage, Server, ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { manifestExists } from "../../../components/registry/registryTag";

/** manifestExists (the check `delivery rollback` makes before anything changes) against an in-process registry endpoint. */
const DIGEST = "sha256:" + "ab".repeat(32);

let server: Server | undefined;
afterEach(() => server?.close());

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
    server = createServer(handler);
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    return `127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

const at = (server: string, extra: { username?: string; password?: string } = {}) => ({
    server,
    repository: "group/app",
    digest: DIGEST,
    insecure: true,
    ...extra,
});

describe("manifestExists", () => {
    it("is true when the registry answers 200 to a HEAD on the manifest, asking for every manifest media type", async () => {
        const seen: Array<{ method?: string; url?: string; accept?: string }> = [];
        const host = await listen((req, res) => {
            seen.push({ method: req.method, url: req.url, accept: req.headers.accept });
            res.writeHead(200, { "docker-content-digest": DIGEST }).end();
        });
        expect(await manifestExists(at(host))).toBe(true);
        expect(seen).toHaveLength(1);
        expect(seen[0].method).toBe("HEAD");
        expect(seen[0].url).toBe(`/v2/group/app/manifests/${DIGEST}`);
        for (const type of [
            "application/vnd.oci.image.index.v1+json",
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.docker.distribution.manifest.list.v2+json",
            "application/vnd.docker.distribution.manifest.v2+json",
        ]) {
            expect(seen[0].accept).toContain(type);
        }
    });

    it("is false when the registry answers 404 (the manifest was deleted)", async () => {
        const host = await listen((_req, res) => res.writeHead(404).end());
        expect(await manifestExists(at(host))).toBe(false);
    });

    it("answers a Bearer challenge with a pull-scoped token, then sees the 200", async () => {
        const tokenRequests: string[] = [];
        const host = await listen((req, res) => {
            if (req.url?.startsWith("/token")) {
                tokenRequests.push(req.url);
                expect(req.headers.authorization).toBe("Basic " + Buffer.from("ci:job-token").toString("base64"));
                res.end(JSON.stringify({ token: "T" }));
                return;
            }
            if (req.headers.authorization !== "Bearer T") {
                res.writeHead(401, { "www-authenticate": `Bearer realm="http://${req.headers.host}/token",service="registry"` }).end();
                return;
            }
            res.writeHead(200).end();
        });
        expect(await manifestExists(at(host, { username: "ci", password: "job-token" }))).toBe(true);
        expect(tokenRequests).toHaveLength(1);
        expect(tokenRequests[0]).toContain("scope=repository%3Agroup%2Fapp%3Apull");
        expect(tokenRequests[0]).not.toContain("push");
    });

    it("answers a Basic challenge (htpasswd registry), then sees the 200", async () => {
        const host = await listen((req, res) => {
            if (req.headers.authorization !== "Basic " + Buffer.from("delivery:pw").toString("base64")) {
                res.writeHead(401, { "www-authenticate": 'Basic realm="delivery-registry"' }).end();
                return;
            }
            res.writeHead(200).end();
        });
        expect(await manifestExists(at(host, { username: "delivery", password: "pw" }))).toBe(true);
    });

    it("says to set the credentials when challenged without any", async () => {
        const host = await listen((_req, res) => res.writeHead(401, { "www-authenticate": 'Basic realm="r"' }).end());
        await expect(manifestExists(at(host))).rejects.toThrow("requires authentication (Basic); set the registry credentials");
    });

    it("throws with the status on any other answer: nothing is known then", async () => {
        const host = await listen((_req, res) => res.writeHead(500).end());
        await expect(manifestExists(at(host))).rejects.toThrow(`cannot check manifest group/app@${DIGEST} on ${host}: HTTP 500`);
    });
});
