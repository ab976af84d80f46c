import { bench, describe } from "vitest";
import { parseSettings } from "../components/config";
import { imageTags, parsePinnedRef } from "../components/refs";
import { configHash } from "../components/release/identity";

/**
 * Start-up cost the program adds before the engine sees its first resource: settings
 * validation and the pure helpers run on every preview. Goal: well under 1 ms each, so a
 * preview's time is the engine's and the providers', not ours. Run: npm run bench.
 */
const SHA = "0123456789abcdef0123456789abcdef01234567";
const raw = {
    registryServer: "127.0.0.1:5000",
    commitSha: SHA,
    target: "kubernetes",
    replicas: "3",
    env: JSON.stringify(Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`SETTING_${i}`, `value-${i}`]))),
    secretEnv: JSON.stringify({ SECRET_KEY: "x".repeat(64) }),
};

describe("settings", () => {
    bench("parseSettings (50 env settings)", () => {
        parseSettings("staging", raw);
    });
});

describe("helpers", () => {
    const env = JSON.parse(raw.env) as Record<string, string>;
    bench("configHash (50 settings)", () => {
        configHash(env, { SECRET_KEY: "s" }, "k".repeat(64));
    });
    bench("imageTags", () => {
        imageTags("registry.gitlab.com/group/project/app", SHA, "feature/some-long-branch-name");
    });
    bench("parsePinnedRef", () => {
        parsePinnedRef(`registry.gitlab.com/group/project/app@sha256:${"a".repeat(64)}`);
    });
});
