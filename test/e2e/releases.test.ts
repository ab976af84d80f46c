import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import type { ReleasesJson } from "../../cli/output";
import type { ChangeJson } from "../../cli/change";
import { LedgerEntry } from "../../components/release/ledger";
import { ReleaseOutput, getApp, localConfig, outputValue, registryDigest, slotContainers, useStacks } from "../support/workspace";
import { PORTS } from "../support/ports";

/**
 * `delivery` (scripts/delivery, as `npx delivery` runs it) on a project copy with two stacks on the
 * Docker host: the ledger a stack keeps of its releases, a rollback to an earlier one, a
 * promotion of an upstream release, and a rollback refused because its image left the registry.
 */
/** The image the slot's one container runs, as Docker reports it. */
function containerImage(slot: string): { id: string; image: string } {
    const [line] = slotContainers(slot);
    const id = line.split(" ")[0];
    return { id, image: execFileSync("docker", ["inspect", "--format", "{{.Config.Image}}", id]).toString().trim() };
}

describe("delivery releases, rollback and promote on the real engine", () => {
    const portA = PORTS.releases.upstream;
    const portB = PORTS.releases.downstream;
    const UP = "e2e-rel-staging";
    const DOWN = "e2e-rel-production";
    const SLOT_A = `e2e-${portA}-${UP}`;
    const fx = useStacks((project) => ({
        upstream: [UP, localConfig(project, portA, { env: '{"APP_ENV":"staging"}' })],
        downstream: [DOWN, localConfig(project, portB, { promoteFrom: UP, env: '{"APP_ENV":"production"}' })],
    }));
    const r: ReleaseOutput[] = [];

    it("lists three releases of one stack as v1..v3, newest first, with their digests and origins", async () => {
        r.push(outputValue<ReleaseOutput>((await fx.upstream.up()).outputs, "release"));
        await fx.upstream.setConfig("delivery:env", { value: '{"APP_ENV":"staging","GREETING":"second"}' });
        r.push(outputValue<ReleaseOutput>((await fx.upstream.up()).outputs, "release"));
        fx.project.changeApp((src) => src.replace("from the delivery sample app", "from the delivery sample app, r3"));
        r.push(outputValue<ReleaseOutput>((await fx.upstream.up()).outputs, "release"));
        expect(r[1].digest).toBe(r[0].digest);
        expect(r[2].digest).not.toBe(r[0].digest);

        const listed = await fx.project.delivery("releases", "--stack", UP, "--json");
        expect(`exit ${listed.code}: ${listed.stderr}`).toMatch(/^exit 0:/);
        const j = JSON.parse(listed.stdout) as ReleasesJson;
        expect(j.running).toBe("v3");
        expect(j.releases.map((e) => [e.version, e.digest, e.releaseId, e.origin])).toEqual([
            ["v3", r[2].digest, r[2].releaseId, "build"],
            ["v2", r[0].digest, r[1].releaseId, "build"],
            ["v1", r[0].digest, r[0].releaseId, "build"],
        ]);

        const table = await fx.project.delivery("releases", "--stack", UP);
        expect(`exit ${table.code}: ${table.stderr}`).toMatch(/^exit 0:/);
        expect(table.stdout).toMatch(/│ \* v3 +│/);
        expect(table.stdout).toContain(`* runs now on ${UP} (3 releases)`);
    });

    it("rolls back to v1 with --yes: the container runs v1's digest and the ledger records v4 `rollback to v1`", async () => {
        const rolled = await fx.project.delivery("rollback", "v1", "--stack", UP, "--yes", "--json");
        expect(rolled.stderr).toContain("settings that differ from v1's (the rollback keeps the current ones): env.GREETING");
        expect(`exit ${rolled.code}: ${rolled.stderr}`).toMatch(/^exit 0:/);
        const change = JSON.parse(rolled.stdout) as ChangeJson;
        expect(change.changed).toBe(true);
        expect(change.previous).toBe("v3");
        expect([change.entry.version, change.entry.origin, change.entry.digest]).toEqual(["v4", "rollback to v1", r[0].digest]);

        expect(containerImage(SLOT_A).image).toContain(r[0].digest);
        const app = await getApp(`http://127.0.0.1:${portA}/`);
        expect(String(app.body.message)).not.toContain("r3");
        expect(app.body.release_id).toBe(change.entry.releaseId);

        const j = JSON.parse((await fx.project.delivery("releases", "--stack", UP, "--json")).stdout) as ReleasesJson;
        expect(j.running).toBe("v4");
        expect(j.releases.map((e) => e.version)).toEqual(["v4", "v3", "v2", "v1"]);
    });

    it("does nothing for a release whose image already runs, and refuses a number the ledger lacks, naming its range", async () => {
        const same = await fx.project.delivery("rollback", "v1", "--stack", UP, "--yes");
        expect(`exit ${same.code}: ${same.stderr}`).toMatch(/^exit 0:/);
        expect(same.stdout).toContain(`v1's image already runs on ${UP} (as v4, rollback to v1); nothing to do`);
        const missing = await fx.project.delivery("rollback", "v9", "--stack", UP, "--yes");
        expect(`exit ${missing.code}: ${missing.stderr}`).toMatch(/^exit 1:/);
        expect(missing.stderr).toContain(`stack ${UP} has no v9: its ledger holds v1..v4`);
    });

    it("promotes the upstream's running release, then a given one, recording `promote <stack> vN` downstream", async () => {
        const first = await fx.project.delivery("promote", "--stack", DOWN, "--yes", "--json");
        expect(`exit ${first.code}: ${first.stderr}`).toMatch(/^exit 0:/);
        const a = JSON.parse(first.stdout) as ChangeJson;
        expect([a.entry.version, a.entry.origin, a.entry.digest]).toEqual(["v1", `promote ${UP} v4`, r[0].digest]);

        // Only the release the upstream runs carries its verification: an older one is held back by the gate, before any change…
        // The command's up refreshes first (outputs read again); what was deployed, and with which inputs, must not change.
        const deployed = async () =>
            ((await fx.downstream.exportStack()).deployment.resources as Array<{ urn: string; id?: string; inputs?: unknown }>).map(({ urn, id, inputs }) => ({
                urn,
                id,
                inputs,
            }));
        const stateBefore = await deployed();
        const held = await fx.project.delivery("promote", "v3", "--stack", DOWN, "--yes", "--json");
        expect(`exit ${held.code}: ${held.stderr}`).toMatch(/^exit 1:/);
        expect(held.stderr).toContain(`${UP} v3 (release id ${r[2].releaseId}) is not verified`);
        expect(await deployed()).toEqual(stateBefore);
        // …and an explicit override promotes it, and says so in the origin.
        const second = await fx.project.deliveryWith({ PROMOTE_UNVERIFIED: "true" }, "promote", "v3", "--stack", DOWN, "--yes", "--json");
        expect(`exit ${second.code}: ${second.stderr}`).toMatch(/^exit 0:/);
        const b = JSON.parse(second.stdout) as ChangeJson;
        expect([b.entry.version, b.entry.origin, b.entry.digest, b.entry.commitSha]).toEqual([
            "v2",
            `promote ${UP} v3 (unverified: not verified)`,
            r[2].digest,
            r[2].commitSha,
        ]);
        const app = await getApp(`http://127.0.0.1:${portB}/`);
        expect(String(app.body.message)).toContain("r3");
        expect(app.body.app_env).toBe("production");
    });

    it("refuses, before any change, a rollback to a release whose image was deleted from the registry", async () => {
        // What a registry cleanup policy does: the manifest of v3's digest goes (with every tag on it).
        const del = await fetch(`http://127.0.0.1:5000/v2/${fx.project.repository}/manifests/${r[2].digest}`, { method: "DELETE" });
        expect(del.status).toBe(202);
        expect(await registryDigest("127.0.0.1:5000", fx.project.repository, r[2].digest)).toBeNull();

        const stateBefore = (await fx.upstream.exportStack()).deployment;
        const containerBefore = containerImage(SLOT_A);
        const refused = await fx.project.delivery("rollback", "v3", "--stack", UP, "--yes");
        expect(`exit ${refused.code}: ${refused.stderr}`).toMatch(/^exit 1:/);
        expect(refused.stderr).toContain(`v3's image is gone from the registry: 127.0.0.1:5000 answers 404 for ${fx.project.repository}@${r[2].digest}`);
        expect(refused.stderr).toContain(`Nothing was changed. Rebuild commit ${r[2].commitSha}`);
        expect(refused.stderr).toContain(`pick another release from: delivery releases --stack ${UP}`);

        expect((await fx.upstream.exportStack()).deployment).toEqual(stateBefore);
        expect(containerImage(SLOT_A)).toEqual(containerBefore);
        const j = JSON.parse((await fx.project.delivery("releases", "--stack", UP, "--json")).stdout) as ReleasesJson;
        expect(j.releases.map((e: LedgerEntry) => e.version)).toEqual(["v4", "v3", "v2", "v1"]);
    });
});
