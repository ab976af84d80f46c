import { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Project, ensureEnvironment, localConfig, resourceTypes } from "../support/workspace";
import { PORTS } from "../support/ports";

/** Invalid settings stop `pulumi preview` and `pulumi up` with the key named, changing nothing. */
describe("bad configuration on the real engine", () => {
    let project: Project;
    let stack: Stack;

    beforeAll(async () => {
        ensureEnvironment("registry");
        project = new Project();
        stack = await project.stack("e2e-bad", localConfig(project, PORTS.badConfig));
    });

    afterAll(() => project?.cleanup());

    // Each string must appear in the error; the engine indents the lines of a multi-line message.
    const cases: Array<[Record<string, string>, string | string[]]> = [
        [{ "delivery:target": "nomad" }, 'delivery:target: must be docker, kubernetes or heroku (got "nomad")'],
        [{ "delivery:replicas": "0", "delivery:target": "kubernetes" }, 'delivery:replicas: must be a whole number from 1 to 50 (got "0")'],
        [{ "delivery:releaseRef": "127.0.0.1:5000/e2e/app:latest", "delivery:releaseCommitSha": "abcdef1" }, "delivery:releaseRef: must be pinned by digest"],
        [{ "delivery:healthPath": "healthz" }, 'delivery:healthPath: must be an absolute HTTP path such as /healthz (got "healthz")'],
        [{ "delivery:replica": "2" }, "delivery:replica: is not a setting of this program (a typo?)"],
        // Found before the StackReference, which the engine would fail with only "unknown stack".
        [
            { "delivery:promoteFrom": "e2e-missing" },
            [
                'Invalid configuration for stack "e2e-bad" (1 problem); nothing was changed:',
                '- delivery:promoteFrom: names stack "organization/delivery/e2e-missing", which does not exist in this backend (PULUMI_BACKEND_URL); ' +
                    'it has no other stack of this project yet; deploy the upstream stack first (got "e2e-missing"). Fix: pulumi config set delivery:promoteFrom staging --stack e2e-bad',
            ],
        ],
        // Values the engine would refuse by the declared type alone, without the key's namespace,
        // a fix, or the stack's other problems.
        [
            {
                "delivery:replicas": "two",
                "delivery:containerPort": "8080.5",
                "delivery:registryInsecure": "yes",
                "delivery:healthPath": "healthz",
                "delivery:target": "kubernetes",
            },
            [
                'Invalid configuration for stack "e2e-bad" (4 problems); nothing was changed:',
                '- delivery:registryInsecure: must be true or false (got "yes"). Fix: pulumi config set delivery:registryInsecure true --stack e2e-bad',
                '- delivery:containerPort: must be a whole number from 1 to 65535 (got "8080.5"). Fix: pulumi config set delivery:containerPort 8080 --stack e2e-bad',
                '- delivery:healthPath: must be an absolute HTTP path such as /healthz (got "healthz"). Fix: pulumi config set delivery:healthPath /healthz --stack e2e-bad',
                '- delivery:replicas: must be a whole number from 1 to 50 (got "two"). Fix: pulumi config set delivery:replicas 2 --stack e2e-bad',
            ],
        ],
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
                for (const part of [message].flat()) {
                    expect(String(error?.message)).toContain(part);
                }
                // `up` runs the same program; one case is enough to show it stops there too.
                if (index === 0) {
                    const upError = await stack.up().then(
                        () => undefined,
                        (e: Error) => e,
                    );
                    expect(String(upError?.message)).toContain([message].flat()[0]);
                }
                expect((await resourceTypes(stack)).filter((t) => t !== "pulumi:pulumi:Stack" && t !== "pulumi:providers:pulumi-nodejs")).toEqual([]);
            } finally {
                await stack.removeAllConfig(keys);
            }
        });
    }
});
