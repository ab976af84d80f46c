import { createServer, Server, ServerResponse } from "node:http";
import { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PULL_CHECK_TIMEOUT_MS, pullCheckProvider, pullRefusal } from "../../../components/targets/pullCheck";

const DIGEST = `sha256:${"a".repeat(64)}`;
const GOOD = "Basic " + Buffer.from("delivery:right").toString("base64");

/** A stand-in htpasswd registry: the manifest for the right Basic credentials, 401 otherwise. */
describe("pull check", () => {
    let server: Server;
    let host: string;
    const seen: string[] = [];

    beforeAll(async () => {
        server = createServer((req, res) => {
            seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? "-"}`);
            if (req.headers.authorization !== GOOD) {
                res.writeHead(401, { "www-authenticate": 'Basic realm="registry"' }).end();
                return;
            }
            res.writeHead(req.url === `/v2/delivery/app/manifests/${DIGEST}` ? 200 : 404).end();
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => server.close());

    const inputs = (username: string, password: string) => ({
        imageRef: `${host}/delivery/app@${DIGEST}`,
        dockerConfigJson: JSON.stringify({
            auths: { [host]: { username, password, auth: Buffer.from(`${username}:${password}`).toString("base64") } },
        }),
        insecure: true,
        fix: "pulumi config set --secret delivery:registryPassword <password> --stack staging",
    });

    it("passes with the credentials the registry takes, asking with exactly them", async () => {
        expect(await pullRefusal(inputs("delivery", "right"))).toBeUndefined();
        expect(seen.at(-1)).toBe(`HEAD /v2/delivery/app/manifests/${DIGEST} ${GOOD}`);
    });

    it("names the registry, the user and the status when it refuses them; the provider fails with the fix", async () => {
        const refusal = await pullRefusal(inputs("delivery", "wrong"));
        expect(refusal).toBe(`registry ${host} refused the image pull secret's credentials (user delivery, HTTP 401 on delivery/app@${DIGEST})`);
        await expect(pullCheckProvider.create!(inputs("delivery", "wrong"))).rejects.toThrow(
            /the pods cannot pull the image \(ImagePullBackOff\)\. Fix: pulumi config set --secret delivery:registryPassword <password> --stack staging$/,
        );
    });

    it("without credentials for a registry that wants some, says so", async () => {
        const refusal = await pullRefusal({ ...inputs("x", "y"), dockerConfigJson: JSON.stringify({ auths: {} }) });
        expect(refusal).toMatch(
            new RegExp(`^registry ${host} refused the image pull secret \\(no credentials\\): registry at ${host} requires authentication`),
        );
    });

    it("does not fail what it cannot ask from here (an unreachable registry): the pods' pull decides", async () => {
        expect(await pullRefusal({ ...inputs("delivery", "wrong"), imageRef: `127.0.0.1:1/delivery/app@${DIGEST}` })).toBeUndefined();
    });

    it("gives up on a registry, or its token service, that takes the connection and never answers (an up would hang for minutes): the pods' pull decides", async () => {
        // /v2/hang/... hangs; /v2/token/... answers with a Bearer challenge whose token service hangs.
        const held: ServerResponse[] = [];
        let at = "";
        const silent = createServer((req, res) => {
            held.push(res);
            if (req.url?.startsWith("/v2/token/")) {
                res.writeHead(401, { "www-authenticate": `Bearer realm="http://${at}/auth",service="registry"` }).end();
            }
        });
        await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
        at = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
        try {
            for (const repository of ["hang/app", "token/app"]) {
                const t0 = Date.now();
                const refusal = await pullRefusal({ ...inputs("delivery", "right"), imageRef: `${at}/${repository}@${DIGEST}` }, 300);
                expect(refusal).toBeUndefined();
                expect(Date.now() - t0).toBeLessThan(5_000);
            }
            expect(held.length).toBe(3); // the hung manifest; the challenge and its hung token request
        } finally {
            silent.closeAllConnections();
            silent.close();
        }
        // The default bound is well under the rollout timeout.
        expect(PULL_CHECK_TIMEOUT_MS).toBeLessThanOrEqual(15_000);
    });
});
