import { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Project, ensureEnvironment, localConfig, resourceTypes } from "./workspace";

/** Invalid settings stop `pulumi preview` and `pulumi up` with the key named, changing nothing. */
describe("bad configuration on the real engine", () => {
    let project: Project;
    let stack: Stack;

    beforeAll(async () => {
        ensureEnvironment("registry");
        project = new Project();
        stack = await project.stack("e2e-bad", localConfig(project, 18041));
    });

    afterAll(() => project?.cleanup());

    const cases: Array<[Record<string, string>, string]> = [
        [{ "delivery:target": "heroku" }, 'delivery:target: must be docker or kubernetes (got "heroku")'],
        [{ "delivery:replicas": "0", "delivery:target": "kubernetes" }, 'delivery:replicas: must be a whole number from 1 to 50 (got "0")'],
        [{ "delivery:releaseRef": "127.0.0.1:5000/e2e/app:latest", "delivery:releaseCommitSha": "abcdef1" }, "delivery:releaseRef: must be pinned by digest"],
        [{ "delivery:healthPath": "healthz" }, 'delivery:healthPath: must be an absolute HTTP path such as /healthz (got "healthz")'],
        [{ "delivery:replica": "2" }, "delivery:replica: is not a setting of this program (a typo?)"],
        // The engine itself refuses a StackReference to a stack that does not exist.
        [{ "delivery:promoteFrom": "e2e-missing" }, 'unknown stack "organization/delivery/e2e-missing"'],
    ];

    for (const [index, [config, message]] of cases.entries()) {
        it(`rejects ${Object.keys(config).join(" + ")}`, async () => {
            const keys = Object.keys(config);
            await stack.setAllConfig(Object.fromEntries(Object.entries(config).map(([k, v]) => [k, { value: v }])));
            try {
                const error = await stack.preview().then(
                    () => undefined,
                    (e: Error) => e,
                );
                expect(error, "preview should fail").toBeInstanceOf(Error);
                expect(String(error?.message)).toContain(message);
                // `up` runs the same program; one case is enough to show it stops there too.
                if (index === 0) {
                    const upError = await stack.up().then(
                        () => undefined,
                        (e: Error) => e,
                    );
                    expect(String(upError?.message)).toContain(message);
                }
                expect((await resourceTypes(stack)).filter((t) => t !== "pulumi:pulumi:Stack" && t !== "pulumi:providers:pulumi-nodejs")).toEqual([]);
            } finally {
                await stack.removeAllConfig(keys);
            }
        });
    }
});
