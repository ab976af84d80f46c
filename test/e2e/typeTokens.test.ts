import { execFileSync } from "node:child_process";
import { cpSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { proxyName } from "../../components/targets/proxy";
import { Project, ROOT, StackConfig, getApp, localConfig, resourceTypes, slotContainers, useStacks } from "../support/workspace";
import { PORTS } from "../support/ports";

/**
 * Every dynamic resource's type is `pulumi-nodejs:dynamic/<folder>:<Type>` (the GitLab ones
 * always were); ReleaseKey, ReleaseRecord, DockerContainer and RegistryTag were
 * `…dynamic/delivery:<folder>:<Type>:Resource` and carry that type as an alias. This creates
 * two stacks (a build and a promotion with a registry tag, so all four resources exist) with
 * the program as it was before the change, then upgrades them to this program: no resource is
 * replaced or deleted, and the running container stays the same one. Since then ReleaseRecord
 * became the ReleaseLedger (aliased to both of its old types): the upgrade updates it once, its
 * record becoming the ledger's v1, and creates the release's registry tag and its verification;
 * the build's Image moved its commit tag onto the registry export, an update keeping the digest,
 * and its ref slug tag became a resource.
 */
const OLD_TOKENS_COMMIT = "97a57a89ad95875dc37accc400b3a6e48d49cb62";
// Pulumi.yaml too: it declares the keys (with their defaults) of the program it ships with.
const PROGRAM = ["Pulumi.yaml", "index.ts", "program.ts", "components", "policy"];

const OLD_TYPES = [
    "pulumi-nodejs:dynamic/delivery:release:ReleaseKey:Resource",
    "pulumi-nodejs:dynamic/delivery:release:ReleaseRecord:Resource",
    "pulumi-nodejs:dynamic/delivery:targets:DockerContainer:Resource",
];
const NEW_TYPES = ["pulumi-nodejs:dynamic/release:ReleaseKey", "pulumi-nodejs:dynamic/release:ReleaseLedger", "pulumi-nodejs:dynamic/targets:DockerContainer"];

/** Replaces the project copy's program with the tree of `commit` (undefined: this working tree). */
function useProgram(project: Project, commit?: string): void {
    for (const item of PROGRAM) {
        rmSync(join(project.dir, item), { recursive: true, force: true });
    }
    if (commit) {
        try {
            execFileSync("git", ["-C", ROOT, "cat-file", "-e", `${commit}^{commit}`]);
        } catch {
            throw new Error(
                `this test reads the program of commit ${commit} from the clone's history, which this clone lacks (a shallow clone?): run it in a full clone, or git fetch --unshallow`,
            );
        }
        const archive = execFileSync("git", ["-C", ROOT, "archive", "--format=tar", commit, ...PROGRAM], { maxBuffer: 64 * 1024 * 1024 });
        execFileSync("tar", ["-x", "-C", project.dir], { input: archive });
    } else {
        for (const item of PROGRAM) {
            cpSync(join(ROOT, item), join(project.dir, item), { recursive: true });
        }
    }
}

/** The ids and names of the containers of both stacks' slots (not their status, which ages). */
const containers = (...slots: string[]) => slots.flatMap((slot) => slotContainers(slot).map((line) => line.split(" ").slice(0, 2).join(" ")));

// A StackReference is read on every run (`read` counts once the upstream's outputs changed); it changes nothing.
const changes = (summary: Record<string, number> | undefined) =>
    Object.fromEntries(Object.entries(summary ?? {}).filter(([op, n]) => op !== "same" && op !== "read" && n > 0));

describe("type tokens: a stack made by the earlier program upgrades without a replacement", () => {
    const portA = PORTS.typeTokens.a;
    const portB = PORTS.typeTokens.b;
    // The earlier program knows no proxy swap: its settings (localConfig's short watch and drain) would be refused as typos.
    const earlier = (config: StackConfig): StackConfig => {
        const { watchSeconds: _w, drainSeconds: _d, ...rest } = config;
        return rest;
    };
    const fx = useStacks(
        (project) => ({
            upstream: ["e2e-tokens-staging", earlier(localConfig(project, portA))],
            downstream: ["e2e-tokens-production", earlier(localConfig(project, portB, { promoteFrom: "e2e-tokens-staging", promotionTag: "v9.0.0" }))],
        }),
        {
            prepare: (project) => {
                useProgram(project, OLD_TOKENS_COMMIT);
                project.commit("the program with the old type tokens");
            },
        },
    );

    it("the earlier program creates both stacks with the old types", async () => {
        await fx.upstream.up();
        await fx.downstream.up();
        const types = [...(await resourceTypes(fx.upstream)), ...(await resourceTypes(fx.downstream))];
        expect(types).toEqual(expect.arrayContaining([...OLD_TYPES, "pulumi-nodejs:dynamic/delivery:registry:RegistryTag:Resource"]));
    });

    it("this program previews no replace or delete, only the ledger's and the container's updates, the release tag and the verification, and its up keeps the container", async () => {
        const slots = [`e2e-${portA}-e2e-tokens-staging`, `e2e-${portB}-e2e-tokens-production`];
        const before = containers(...slots);
        expect(before).toHaveLength(2);
        const recordCreatedAt = (await fx.upstream.outputs()).release.value.createdAt;
        useProgram(fx.project);
        for (const stack of [fx.upstream, fx.downstream]) {
            // The earlier program's container publishes the port itself (the recreate swap); kept on that swap,
            // the container takes the new settings as an update and stays the same one. (The move onto the
            // proxy starts a new container: test/e2e/proxySwap.test.ts, and scripts/main on an older dev stack.)
            await stack.setConfig("delivery:swap", { value: "recreate" });
            // A build also gets its ref slug tag as a resource of its own, and the Image names the
            // commit tag on its registry export (components/image/appImage.ts commitName): one update
            // that pushes the same digest.
            const built = stack === fx.upstream;
            const expected = built ? { create: 3, update: 3 } : { create: 2, update: 2 };
            const preview = await stack.preview({ diff: true });
            expect(changes(preview.changeSummary), preview.stdout).toEqual(expected);
            if (built) {
                expect(preview.stdout).toMatch(/~ docker-build:index:Image: \(update\)\n(.*\n)?.*::app-image\]/);
                expect(preview.stdout).toMatch(/\+ pulumi-nodejs:dynamic\/registry:RegistryTag: \(create\)\n.*::app-ref-tag\]/);
            }
            expect(preview.stdout).toMatch(/~ pulumi-nodejs:dynamic\/targets:DockerContainer: \(update\)\n(.*\n)?.*::app-container\]/);
            expect(preview.stdout).toMatch(/\+ pulumi-nodejs:dynamic\/registry:RegistryTag: \(create\)\n.*::release-tag\]/);
            expect(preview.stdout).toMatch(/~ pulumi-nodejs:dynamic\/release:ReleaseLedger: \(update\)\n(.*\n)?.*::release-ledger\]/);
            const up = await stack.up();
            expect(changes(up.summary.resourceChanges), up.stdout).toEqual(expected);
        }
        const migrated = (await fx.upstream.outputs()).releases.value;
        expect(migrated).toHaveLength(1);
        expect(migrated[0]).toMatchObject({ version: "v1", origin: "build", at: recordCreatedAt });
        const types = [...(await resourceTypes(fx.upstream)), ...(await resourceTypes(fx.downstream))];
        expect(types).toEqual(expect.arrayContaining([...NEW_TYPES, "pulumi-nodejs:dynamic/registry:RegistryTag"]));
        expect(types.filter((t) => t.includes("dynamic/delivery:"))).toEqual([]);
        expect(containers(...slots)).toEqual(before);
    });

    it("then moves onto the proxy (the default swap): the proxy takes the port, one new container serves behind it", async () => {
        const slot = `e2e-${portA}-e2e-tokens-staging`;
        const [old] = containers(slot);
        await fx.upstream.setConfig("delivery:swap", { value: "proxy" });
        await fx.upstream.up();
        const app = await getApp(`http://127.0.0.1:${portA}/`);
        expect(app.status).toBe(200);
        expect(app.body.release_id).toBe((await fx.upstream.outputs()).release.value.releaseId);
        const now = containers(slot);
        expect(now).toHaveLength(1);
        expect(now[0]).not.toBe(old);
        expect(execFileSync("docker", ["port", proxyName("127.0.0.1", portA), "80/tcp"]).toString()).toContain(`127.0.0.1:${portA}`);
    });
});
