import { defineConfig } from "vitest/config";

// One project per test level; each level has its own npm script (see package.json).
// The slow levels run one file at a time: they share one Docker engine, registry and API server.
export default defineConfig({
    test: {
        projects: [
            { test: { name: "unit", include: ["test/unit/**/*.test.ts"], benchmark: { include: ["bench/**/*.bench.ts"] }, testTimeout: 20_000 } },
            {
                test: {
                    name: "gitlab",
                    include: ["test/gitlab/**/*.test.ts"],
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
                    fileParallelism: false,
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
                    testTimeout: 900_000,
                    hookTimeout: 900_000,
                    fileParallelism: false,
                },
            },
        ],
    },
});
