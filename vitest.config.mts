import { join } from "node:path";
import { defineConfig } from "vitest/config";

// One project per test level; each level has its own npm script (see package.json).
// The GitLab and pipeline levels run one file at a time (one GitLab double, one pipeline
// sequence); e2e and k8s two at a time. scripts/test-all runs the levels themselves side by side.
const K8S_RESTART = "test/k8s/restart.test.ts";
// What both k8s projects share. Every cached provider text is checked against a fresh
// serialization (components/dynamicResource.ts): this level runs the Kubernetes target's
// providers, in stacks of several kinds.
const K8S_LEVEL = { env: { DELIVERY_PROVIDER_CACHE: "verify" }, testTimeout: 900_000, hookTimeout: 900_000 };
export default defineConfig({
    test: {
        projects: [
            // Unit files share their workers (isolate: false): a fresh fork per file loaded
            // @pulumi/pulumi and the program again for each of ~33 files (measured here: 23 s wall,
            // 20 s CPU -> 6.9 s wall, 9.9 s CPU). Every test installs its own mocks and config
            // (test/unit/harness.ts), so no state carries over. Threads hang the SDK's closure
            // serialization (dynamic providers), so forks. Two of them, one per core: the tests no
            // longer wait on timers (settle() waits for the SDK's RPC queue, polls run on a fake
            // clock), so the suite is CPU-bound, and each worker loads @pulumi/pulumi and the
            // program once: three workers cost ~2 s more CPU for the same work (measured when
            // each also loaded TypeScript and serialized the providers: 12.7 -> 10.3 s CPU, wall
            // median 7.6 -> 6.7 s at load ~5). vitest's default on two cores is one worker.
            {
                test: {
                    name: "unit",
                    include: ["test/unit/**/*.test.ts"],
                    // Fails a test whose program failed its update (its exit code).
                    setupFiles: ["test/unit/setup.ts"],
                    benchmark: { include: ["bench/**/*.bench.ts"] },
                    testTimeout: 20_000,
                    pool: "forks",
                    // The SDK as the program's processes run it (the language host preloads this):
                    // TypeScript, for one, is not loaded until the closure serializer parses, and
                    // here it never does (test/unit/harness.ts) (measured: 10.6-12.5 -> 9.8-11.8 CPU-s).
                    // (vite defines __dirname in its config files, ESM ones too.)
                    execArgv: ["-r", join(__dirname, "defer-sdk.js")],
                    maxWorkers: 2,
                    isolate: false,
                },
            },
            {
                // What runs its subject in processes of its own: loader.js and defer-sdk.js as the
                // language host starts them, serialized providers loaded fresh, a services script
                // racing a reader. Each such process loads the SDK or TypeScript (0.5-1 CPU-s here),
                // so they are kept out of the in-process unit level, whose wall time they were
                // two thirds of (measured: 16.9 s with them, 8.7-9.1 s without).
                test: {
                    name: "process",
                    include: ["test/process/**/*.test.ts"],
                    testTimeout: 60_000,
                    hookTimeout: 60_000,
                    maxWorkers: 2,
                },
            },
            {
                test: {
                    name: "gitlab",
                    include: ["test/gitlab/**/*.test.ts"],
                    // The GitLab providers' cached texts checked against fresh ones (components/dynamicResource.ts).
                    env: { DELIVERY_PROVIDER_CACHE: "verify" },
                    testTimeout: 600_000,
                    hookTimeout: 600_000,
                    fileParallelism: false,
                },
            },
            {
                test: {
                    name: "e2e",
                    include: ["test/e2e/**/*.test.ts"],
                    testTimeout: 900_000,
                    hookTimeout: 900_000,
                    // Two files at a time: a file mostly waits (health checks, drain and watch
                    // windows, Docker), and each names its own ports (test/support/ports.ts), app,
                    // stacks and registry repository, so two never touch the same container.
                    maxWorkers: 2,
                },
            },
            {
                test: {
                    name: "pipeline",
                    include: ["test/pipeline/**/*.test.ts"],
                    testTimeout: 1_200_000,
                    hookTimeout: 1_200_000,
                    fileParallelism: false,
                },
            },
            {
                test: {
                    name: "k8s",
                    include: ["test/k8s/**/*.test.ts"],
                    exclude: [K8S_RESTART],
                    ...K8S_LEVEL,
                    // Two files at a time, as e2e: each has its own namespaces, stacks and registry
                    // repository, and mostly waits on rollouts, pulls and Jobs. One at a time this
                    // level was the last to end by ~110 s, with a core idle (measured in .ci/run).
                    maxWorkers: 2,
                },
            },
            {
                // Stops and starts the control plane's components: alone, after the k8s project.
                test: {
                    name: "k8s-restart",
                    include: [K8S_RESTART],
                    ...K8S_LEVEL,
                },
            },
        ],
    },
});
