import type { Stack } from "@pulumi/pulumi/automation";
import { createServer, Server } from "node:http";
import { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { LedgerEntry } from "../../../components/release/ledger";
import { manifestLocation, requireImageInRegistry } from "../../../cli/stacks";
import { ENTRIES } from "./fixture";

/** The check `delivery rollback` and `promote` make before anything changes: is the release's image still in the registry? */
let server: Server | undefined;
afterEach(() => server?.close());

async function registry(status: (auth: string | undefined) => number): Promise<string> {
    server = createServer((req, res) => {
        const code = status(req.headers.authorization);
        res.writeHead(code, code === 401 ? { "www-authenticate": 'Basic realm="r"' } : {}).end();
    });
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    return `127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

/** Just what the check reads of a stack: its name and its settings. */
const fakeStack = (config: Record<string, string>): Stack =>
    ({
        name: "staging",
        getAllConfig: async () => Object.fromEntries(Object.entries(config).map(([k, value]) => [`delivery:${k}`, { value, secret: false }])),
    }) as unknown as Stack;

const at = (host: string): LedgerEntry => ({ ...ENTRIES[0], imageRef: `${host}/delivery/app@${ENTRIES[0].digest}` });

describe("the registry check before a rollback", () => {
    it("reads the image's registry and repository from its ref, and the stack's credentials for that registry", async () => {
        const loc = await manifestLocation(
            fakeStack({ registryServer: "127.0.0.1:5001", registryInsecure: "true", registryUsername: "delivery", registryPassword: "pw" }),
            `127.0.0.1:5001/group/app@${ENTRIES[0].digest}`,
        );
        expect(loc).toEqual({
            server: "127.0.0.1:5001",
            repository: "group/app",
            digest: ENTRIES[0].digest,
            insecure: true,
            username: "delivery",
            password: "pw",
        });
        // Another registry than the stack's: no credentials of the stack are sent there.
        expect(
            await manifestLocation(fakeStack({ registryServer: "127.0.0.1:5001", registryPassword: "pw" }), `registry.example.com/g/app@${ENTRIES[0].digest}`),
        ).toEqual({
            server: "registry.example.com",
            repository: "g/app",
            digest: ENTRIES[0].digest,
            insecure: false,
        });
    });

    it("passes when the registry holds the manifest, answering its challenge with the stack's credentials", async () => {
        const host = await registry((auth) => (auth === "Basic " + Buffer.from("delivery:pw").toString("base64") ? 200 : 401));
        await expect(
            requireImageInRegistry(
                fakeStack({ registryServer: host, registryInsecure: "true", registryUsername: "delivery", registryPassword: "pw" }),
                at(host),
            ),
        ).resolves.toBeUndefined();
    });

    it("refuses a release whose manifest is gone (404), saying what to do instead", async () => {
        const host = await registry(() => 404);
        const refused = await requireImageInRegistry(fakeStack({ registryServer: host, registryInsecure: "true" }), at(host)).catch((e: Error) => e);
        expect((refused as Error).message).toBe(
            `v1's image is gone from the registry: ${host} answers 404 for delivery/app@${ENTRIES[0].digest} (deleted, e.g. by the registry's cleanup policy). ` +
                `Nothing was changed. Rebuild commit ${ENTRIES[0].commitSha} (a pipeline on it, or pulumi up on a stack that builds), ` +
                `or pick another release from: delivery releases --stack staging`,
        );
    });

    it("refuses when the registry cannot be asked, naming the cause", async () => {
        const host = await registry(() => 401);
        await expect(requireImageInRegistry(fakeStack({ registryServer: host, registryInsecure: "true" }), at(host))).rejects.toThrow(
            /cannot check that v1's image .* requires authentication \(Basic\); set the registry credentials; nothing was changed/,
        );
    });
});
