import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { deployTokenProvider } from "../../components/gitlab/deployToken";
import { environmentProvider } from "../../components/gitlab/environment";
import { projectVariableProvider } from "../../components/gitlab/projectVariable";

/**
 * The providers against a real GitLab, to catch where the double and GitLab disagree. Runs only
 * when GITLAB_URL, GITLAB_TOKEN and GITLAB_PROJECT are set (a throwaway project: the test creates
 * and removes variables, an environment and a deploy token with unique names, and touches nothing
 * else). Otherwise it reports itself as not run.
 */

const url = process.env.GITLAB_URL;
const token = process.env.GITLAB_TOKEN;
const projectRef = process.env.GITLAB_PROJECT;
const missing = [
    ["GITLAB_URL", url],
    ["GITLAB_TOKEN", token],
    ["GITLAB_PROJECT", projectRef],
]
    .filter(([, v]) => !v)
    .map(([k]) => k);
const enabled = missing.length === 0;
const title = enabled ? `live GitLab at ${url} (project ${projectRef})` : `live GitLab (not run: ${missing.join("/")} unset)`;

describe(title, () => {
    const conn = { gitlabUrl: url ?? "", gitlabToken: token ?? "", project: projectRef ?? "" };
    const suffix = randomBytes(4).toString("hex").toUpperCase();

    it.skipIf(!enabled)(
        "creates, reads, updates and deletes a variable in two scopes",
        async () => {
            const p = projectVariableProvider;
            const key = `DELIVERY_LIVE_${suffix}`;
            const made: { id: string; outs: Record<string, unknown> }[] = [];
            try {
                for (const scope of ["delivery-live-a", "delivery-live-b"]) {
                    const { inputs, failures } = await p.check!({}, { ...conn, key, value: `value-${scope}-${suffix}`, masked: true, environmentScope: scope });
                    expect(failures).toEqual([]);
                    const created = await p.create(inputs);
                    made.push(created as { id: string; outs: Record<string, unknown> });
                }
                const a = made[0];
                expect((await p.read!(a.id, a.outs)).props.value).toBe(`value-delivery-live-a-${suffix}`);
                expect((await p.read!(made[1].id, made[1].outs)).props.value).toBe(`value-delivery-live-b-${suffix}`);
                const updated = await p.update!(a.id, a.outs, { ...a.outs, value: `changed-${suffix}` });
                expect(updated.outs!.value).toBe(`changed-${suffix}`);
                expect((await p.read!(made[1].id, made[1].outs)).props.value).toBe(`value-delivery-live-b-${suffix}`);
                // GitLab itself must refuse what our masking rules refuse.
                await expect(p.create({ ...a.outs, key: `${key}_SHORT`, value: "short", masked: true } as never)).rejects.toThrow("cannot be masked");
            } finally {
                for (const m of made) await p.delete!(m.id, m.outs);
            }
            for (const m of made) expect(await p.read!(m.id, m.outs)).toEqual({ id: "", props: {} });
        },
        120_000,
    );

    it.skipIf(!enabled)(
        "creates, updates, stops and deletes an environment",
        async () => {
            const p = environmentProvider;
            const { inputs } = await p.check!({}, { ...conn, name: `review/delivery-live-${suffix.toLowerCase()}`, externalUrl: "https://live.example.com" });
            const created = await p.create(inputs);
            try {
                expect(created.outs).toMatchObject({ state: "available", tier: "development", externalUrl: "https://live.example.com" });
                const updated = await p.update!(created.id, created.outs, { ...inputs, externalUrl: "https://live-2.example.com" });
                expect(updated.outs!.externalUrl).toBe("https://live-2.example.com");
            } finally {
                await p.delete!(created.id, created.outs);
            }
            expect(await p.read!(created.id, created.outs)).toEqual({ id: "", props: {} });
        },
        120_000,
    );

    it.skipIf(!enabled)(
        "creates and revokes a read_registry deploy token",
        async () => {
            const p = deployTokenProvider;
            const { inputs } = await p.check!({}, { ...conn, name: `delivery-live-${suffix}` });
            const created = await p.create(inputs);
            try {
                expect(String(created.outs.token).length).toBeGreaterThan(10);
                expect(created.outs).toMatchObject({ scopes: ["read_registry"], revoked: false });
            } finally {
                await p.delete!(created.id, created.outs);
            }
            expect(await p.read!(created.id, created.outs)).toEqual({ id: "", props: {} });
        },
        120_000,
    );
});
