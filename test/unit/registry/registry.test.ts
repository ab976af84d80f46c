import { describe, expect, it } from "vitest";
import { Registry, dockerConfigJson } from "../../../components/registry/registry";
import { secretOf, useMocks, valueOf } from "../harness";

describe("Registry", () => {
    useMocks();

    it("joins server and repository into the repository URL", () => {
        const r = new Registry("registry", { server: "127.0.0.1:5000", repository: "/delivery/app/" });
        expect(r.repositoryUrl).toBe("127.0.0.1:5000/delivery/app");
        expect(r.insecure).toBe(false);
    });

    it("keeps credentials secret and pulls with the push credentials by default", async () => {
        const r = new Registry("registry", { server: "r.example.com", repository: "g/p", pushCredentials: { username: "ci", password: "pw-123456" } });
        expect(await secretOf(r.pushCredentials)).toBe(true);
        expect(await secretOf(r.pullCredentials)).toBe(true);
        expect(await secretOf(r.dockerConfigJson)).toBe(true);
        expect(await valueOf(r.pullCredentials)).toEqual({ username: "ci", password: "pw-123456" });
    });

    it("prefers dedicated pull credentials (a deploy token) for the runtime", async () => {
        const r = new Registry("registry", {
            server: "r.example.com",
            repository: "g/p",
            pushCredentials: { username: "ci", password: "job-token" },
            pullCredentials: { username: "gitlab+deploy-token-1", password: "deploy-token" },
        });
        expect(JSON.parse(await valueOf(r.dockerConfigJson)).auths["r.example.com"].username).toBe("gitlab+deploy-token-1");
    });

    it("rejects a server that carries a path", () => {
        expect(() => new Registry("registry", { server: "r.example.com/group", repository: "p" })).toThrow(
            'server "r.example.com/group" must be a host[:port] without a path',
        );
    });
});

describe("dockerConfigJson", () => {
    it("has the auths shape with a base64 user:password", () => {
        const parsed = JSON.parse(dockerConfigJson("r.example.com", { username: "u", password: "p" }));
        expect(parsed).toEqual({ auths: { "r.example.com": { username: "u", password: "p", auth: Buffer.from("u:p").toString("base64") } } });
        expect(JSON.parse(dockerConfigJson("r", undefined))).toEqual({ auths: {} });
    });
});
