import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { ConfigError, DEFAULTS, KEYS, parseSettings, quantityValue } from "../../components/config";
import { SHA } from "./harness";

const ROOT = join(__dirname, "..", "..");
const DIGEST = `sha256:${"c".repeat(64)}`;
const base = { registryServer: "127.0.0.1:5000", commitSha: SHA };

function problemsOf(stack: string, raw: Record<string, string | undefined>, secretKeys?: Set<string>): string[] {
    try {
        parseSettings(stack, raw, {}, secretKeys);
    } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return [...(e as ConfigError).problems];
    }
    throw new Error("expected a ConfigError");
}

describe("parseSettings: valid settings", () => {
    it("gives the dev defaults: build, docker target on 127.0.0.1:8000", () => {
        const s = parseSettings("dev", base);
        expect(s.source).toEqual({ kind: "build" });
        expect(s.target).toEqual({
            kind: "docker",
            host: "unix:///var/run/docker.sock",
            hostPort: 8000,
            bindAddress: "127.0.0.1",
            healthTimeoutSeconds: 60,
            swap: "proxy",
            drainSeconds: 10,
            watchSeconds: 15,
            proxyImage: "127.0.0.1:5000/delivery/proxy:caddy-2.6.2-5",
        });
        expect(s.build).toEqual({
            context: "app",
            dockerfile: "app/Dockerfile",
            baseImage: "127.0.0.1:5000/delivery/python-base:bookworm",
            platform: "linux/amd64",
        });
        expect(s.registry).toEqual({ server: "127.0.0.1:5000", repository: "delivery/app", username: undefined, password: undefined, insecure: false });
        expect(s.containerPort).toBe(8080);
    });

    it("reads maps, numbers and booleans the way the engine hands them over (JSON strings)", () => {
        const s = parseSettings("staging", {
            ...base,
            target: "kubernetes",
            replicas: "3",
            registryInsecure: "true",
            env: JSON.stringify({ GREETING: "hi" }),
            secretEnv: JSON.stringify({ SECRET_KEY: "s3cr3t-value" }),
        });
        expect(s.target).toMatchObject({ kind: "kubernetes", namespace: "staging", replicas: 3, rolloutTimeoutSeconds: 300 });
        expect(s.registry.insecure).toBe(true);
        expect(s.env).toEqual({ GREETING: "hi" });
        expect(s.secretEnv).toEqual({ SECRET_KEY: "s3cr3t-value" });
    });

    it("takes commit, ref, tag and registry from GitLab CI when the stack does not set them", () => {
        const s = parseSettings(
            "staging",
            {},
            {
                commitSha: SHA,
                refName: "main",
                tag: "v1.0.0",
                registryServer: "registry.gitlab.com",
                registryUsername: "gitlab-ci-token",
                registryPassword: "job-token",
            },
        );
        expect(s.commitSha).toBe(SHA);
        expect(s.refName).toBe("main");
        expect(s.promotionTag).toBe("v1.0.0");
        expect(s.registry).toMatchObject({ server: "registry.gitlab.com", username: "gitlab-ci-token", password: "job-token" });
    });

    it("lets stack settings win over CI variables", () => {
        const s = parseSettings("staging", { ...base, commitSha: "abcdef1" }, { commitSha: SHA, registryServer: "registry.gitlab.com" });
        expect(s.commitSha).toBe("abcdef1");
        expect(s.registry.server).toBe("127.0.0.1:5000");
    });

    it("promotes from another stack, and a pinned release takes precedence (rollback)", () => {
        expect(parseSettings("production", { ...base, promoteFrom: "staging" }).source).toEqual({ kind: "promote", fromStack: "staging", version: undefined });
        const pinned = parseSettings("production", {
            ...base,
            promoteFrom: "staging",
            releaseRef: `127.0.0.1:5000/delivery/app@${DIGEST}`,
            releaseCommitSha: "abcdef1",
        });
        expect(pinned.source).toEqual({ kind: "pin", ref: `127.0.0.1:5000/delivery/app@${DIGEST}`, commitSha: "abcdef1" });
    });

    it("takes what `delivery promote` and `delivery rollback` ask for from the environment, over the stack's settings", () => {
        const ref = `127.0.0.1:5000/delivery/app@${DIGEST}`;
        const op = (operation: object, raw = {}) => parseSettings("production", { ...base, promoteFrom: "staging", ...raw }, { operation }).source;
        expect(op({ promoteFrom: "qa", promoteRelease: "v7" })).toEqual({ kind: "promote", fromStack: "qa", version: "v7" });
        expect(op({}, { promoteRelease: "v3" })).toEqual({ kind: "promote", fromStack: "staging", version: "v3" });
        expect(op({ rollbackTo: "v12", rollbackRef: ref, rollbackCommitSha: "abcdef1" }, { releaseRef: ref, releaseCommitSha: "abcdef1" })).toEqual({
            kind: "rollback",
            ref,
            commitSha: "abcdef1",
            of: 12,
        });
        // The pipeline's git tag names the newest release: a rollback does not take it, a promotion does.
        const inTagPipeline = (operation: object) =>
            parseSettings("production", { ...base, promoteFrom: "staging" }, { tag: "v2.0.0", operation }).promotionTag;
        expect(inTagPipeline({ rollbackTo: "v12", rollbackRef: ref, rollbackCommitSha: "abcdef1" })).toBeUndefined();
        expect(inTagPipeline({})).toBe("v2.0.0");
        // A build stack rolled back builds nothing: the rollback is its source.
        expect(parseSettings("dev", base, { operation: { rollbackTo: "v1", rollbackRef: ref, rollbackCommitSha: "abcdef1" } }).source.kind).toBe("rollback");
    });

    it("refuses a half-given rollback, naming each variable, and a promoteRelease without promoteFrom", () => {
        const problems = (operation: object, raw = {}) => {
            try {
                parseSettings("dev", { ...base, ...raw }, { operation });
            } catch (e) {
                return [...(e as ConfigError).problems];
            }
            return [];
        };
        const unset = "they are set together by `delivery rollback vN`; unset all three to deploy the stack's own source";
        expect(problems({ rollbackTo: "12", rollbackRef: "app:v1" })).toEqual([
            `DELIVERY_ROLLBACK_TO: must be a release number such as v12 (got "12"); ${unset}`,
            `DELIVERY_ROLLBACK_REF: must be pinned by digest, repository@sha256:<64 hex> (got "app:v1"); ${unset}`,
            `DELIVERY_ROLLBACK_COMMIT_SHA: must be a git commit SHA (7 to 64 lowercase hex characters) (got ""); ${unset}`,
        ]);
        expect(problems({}, { promoteRelease: "v2" })).toEqual([
            "delivery:promoteRelease: names a release of the upstream stack, but delivery:promoteFrom is not set. Fix: pulumi config set delivery:promoteFrom staging --stack dev",
        ]);
        expect(problems({}, { promoteFrom: "staging", promoteRelease: "7" })[0]).toMatch(
            /^delivery:promoteRelease: must be a release number of the upstream's ledger such as v7/,
        );
    });

    it("reads the promotion gate's soak and override: the setting, else PROMOTE_UNVERIFIED=true from the job's environment", () => {
        const promote = { ...base, promoteFrom: "staging" };
        expect(parseSettings("production", promote)).toMatchObject({ soakSeconds: 0, promoteUnverified: undefined });
        expect(parseSettings("production", { ...promote, soakSeconds: "600" }).soakSeconds).toBe(600);
        expect(parseSettings("production", { ...promote, promoteUnverified: "true" }).promoteUnverified).toBe("delivery:promoteUnverified");
        expect(parseSettings("production", promote, { promoteUnverified: "true" }).promoteUnverified).toBe("PROMOTE_UNVERIFIED");
        expect(parseSettings("production", { ...promote, promoteUnverified: "true" }, { promoteUnverified: "true" }).promoteUnverified).toBe(
            "delivery:promoteUnverified",
        );
        expect(parseSettings("production", promote, { promoteUnverified: "false" }).promoteUnverified).toBeUndefined();
        expect(parseSettings("production", promote, { promoteUnverified: "" }).promoteUnverified).toBeUndefined();
    });

    it("reads the release's commands and their timeout (default 120 s)", () => {
        expect(parseSettings("dev", base).commands).toEqual({ verifyCommand: undefined, releaseCommand: undefined, timeoutSeconds: 120 });
        const s = parseSettings("dev", { ...base, verifyCommand: "python3 -m unittest", releaseCommand: "echo migrate", verifyTimeoutSeconds: "30" });
        expect(s.commands).toEqual({ verifyCommand: "python3 -m unittest", releaseCommand: "echo migrate", timeoutSeconds: 30 });
    });

    it("names a review stack's namespace after the stack", () => {
        const s = parseSettings("review-feature-x", { ...base, target: "kubernetes" });
        expect(s.target).toMatchObject({ namespace: "review-feature-x" });
    });
});

describe("parseSettings: each bad setting has its own clear error", () => {
    const cases: Array<[string, string, Record<string, string | undefined>, string]> = [
        [
            "verify timeout out of range",
            "dev",
            { ...base, verifyTimeoutSeconds: "1" },
            'delivery:verifyTimeoutSeconds: must be a whole number from 5 to 3600 (got "1"). Fix: pulumi config set delivery:verifyTimeoutSeconds 120 --stack dev',
        ],
        [
            "verify command of blanks",
            "dev",
            { ...base, verifyCommand: "   " },
            "delivery:verifyCommand: must be a shell command line (got \"   \"). Fix: pulumi config set delivery:verifyCommand 'python3 -m unittest discover -s /app/tests' --stack dev",
        ],
        [
            "replicas not a number",
            "dev",
            { ...base, target: "kubernetes", replicas: "two" },
            'delivery:replicas: must be a whole number from 1 to 50 (got "two"). Fix: pulumi config set delivery:replicas 2 --stack dev',
        ],
        ["replicas out of range", "dev", { ...base, target: "kubernetes", replicas: "0" }, 'delivery:replicas: must be a whole number from 1 to 50 (got "0")'],
        [
            "unknown target",
            "dev",
            { ...base, target: "nomad" },
            'delivery:target: must be docker, kubernetes or heroku (got "nomad"). Fix: pulumi config set delivery:target kubernetes --stack dev',
        ],
        [
            "app name not a DNS label",
            "dev",
            { ...base, appName: "My_App" },
            "delivery:appName: must be a DNS label: lowercase letters, digits and '-', at most 63 characters (got \"My_App\")",
        ],
        [
            "registry server with a path",
            "dev",
            { ...base, registryServer: "http://registry/x" },
            "delivery:registryServer: must be a registry host, optionally with a port",
        ],
        [
            "registry missing",
            "dev",
            { commitSha: SHA },
            "delivery:registryServer: is required to know where images are pushed and pulled. Fix: pulumi config set delivery:registryServer 127.0.0.1:5000 --stack dev",
        ],
        [
            "username without password",
            "dev",
            { ...base, registryUsername: "ci" },
            "delivery:registryPassword: is required when registryUsername is set (registry credentials come as a pair). Fix: pulumi config set --secret delivery:registryPassword <password> --stack dev",
        ],
        [
            "commit not a sha",
            "dev",
            { ...base, commitSha: "HEAD" },
            'delivery:commitSha: must be a git commit SHA (7 to 64 lowercase hex characters) (got "HEAD")',
        ],
        [
            "no commit at all",
            "dev",
            { registryServer: "127.0.0.1:5000" },
            "delivery:commitSha: is required and no commit was found (CI_COMMIT_SHA unset and not a git checkout)",
        ],
        [
            "release pinned by tag",
            "production",
            { ...base, releaseRef: "127.0.0.1:5000/delivery/app:v1", releaseCommitSha: "abcdef1" },
            "delivery:releaseRef: must be pinned by digest (repository@sha256:<64 hex>); a tag can move, so it cannot name a release",
        ],
        [
            "pinned release without its commit",
            "production",
            { ...base, releaseRef: `127.0.0.1:5000/delivery/app@${DIGEST}` },
            "delivery:releaseCommitSha: is required with releaseRef",
        ],
        [
            "production that would build",
            "production",
            { ...base },
            "delivery:promoteFrom: the production stack never builds; it must promote a release. Fix: pulumi config set delivery:promoteFrom staging --stack production",
        ],
        ["promotion from itself", "staging", { ...base, promoteFrom: "staging" }, 'delivery:promoteFrom: a stack cannot promote from itself ("staging")'],
        ["env not a map", "dev", { ...base, env: '"GREETING=hi"' }, "delivery:env: must be a map of NAME: value (set it with --path, see below)"],
        ["env with a bad name", "dev", { ...base, env: JSON.stringify({ "my-var": "x" }) }, "delivery:env: has a key that is not an environment variable name"],
        [
            "env with a non-string value",
            "dev",
            { ...base, env: JSON.stringify({ WORKERS: 4 }) },
            "delivery:env: must map each name to a string value (quote numbers and booleans)",
        ],
        [
            "name both plain and secret",
            "dev",
            { ...base, env: JSON.stringify({ K: "a" }), secretEnv: JSON.stringify({ K: "b" }) },
            "delivery:env.K: is also in delivery:secretEnv",
        ],
        ["reserved RELEASE_ID", "dev", { ...base, env: JSON.stringify({ RELEASE_ID: "x" }) }, "delivery:env.RELEASE_ID: is set by the program itself"],
        [
            "request above limit",
            "dev",
            { ...base, target: "kubernetes", cpuRequest: "2", cpuLimit: "500m" },
            "delivery:cpuRequest: 2 is more than delivery:cpuLimit 500m; Kubernetes rejects a request above its limit",
        ],
        [
            "bad memory quantity",
            "dev",
            { ...base, target: "kubernetes", memoryLimit: "lots" },
            'delivery:memoryLimit: must be a Kubernetes quantity such as 100m, 0.5, 128Mi or 1Gi (got "lots")',
        ],
        [
            "ingress class without host",
            "dev",
            { ...base, target: "kubernetes", ingressClassName: "nginx" },
            "delivery:ingressHost: is required when delivery:ingressClassName is set",
        ],
        [
            "namespace on the docker target",
            "dev",
            { ...base, namespace: "x" },
            "delivery:namespace: only applies to the kubernetes target, but delivery:target is docker",
        ],
        ["port out of range", "dev", { ...base, hostPort: "70000" }, 'delivery:hostPort: must be a whole number from 1 to 65535 (got "70000")'],
        ["drain out of range", "dev", { ...base, drainSeconds: "7200" }, 'delivery:drainSeconds: must be a whole number from 0 to 3600 (got "7200")'],
        ["watch not a number", "dev", { ...base, watchSeconds: "soon" }, 'delivery:watchSeconds: must be a whole number from 0 to 3600 (got "soon")'],
        ["unknown swap", "dev", { ...base, swap: "bluegreen" }, "delivery:swap: must be proxy or recreate"],
        ["proxy host not a DNS name", "dev", { ...base, proxyHost: "Not A Host" }, "delivery:proxyHost: must be a DNS host name such as staging.example.com"],
        [
            "proxy host with an empty label",
            "dev",
            { ...base, proxyHost: "a..example.com" },
            "delivery:proxyHost: must be a DNS host name such as staging.example.com",
        ],
        [
            "proxy host label over 63 characters",
            "dev",
            { ...base, proxyHost: `${"a".repeat(64)}.example.com` },
            "delivery:proxyHost: must be a DNS host name such as staging.example.com",
        ],
        [
            "ingress host with an empty label",
            "dev",
            { ...base, target: "kubernetes", ingressHost: "a..b" },
            "delivery:ingressHost: must be a DNS host name such as staging.example.com",
        ],
        [
            "proxy host with the recreate swap",
            "dev",
            { ...base, swap: "recreate", proxyHost: "staging.example.com" },
            "delivery:proxyHost: only applies to the proxy swap, but delivery:swap is recreate. Fix: pulumi config rm delivery:swap --stack dev (the proxy is the default), or pulumi config rm delivery:proxyHost --stack dev",
        ],
        [
            "proxy image on the kubernetes target",
            "dev",
            { ...base, target: "kubernetes", proxyImage: "caddy:2" },
            "delivery:proxyImage: only applies to the docker target's proxy swap, but delivery:target is kubernetes. Fix: pulumi config rm delivery:proxyImage --stack dev",
        ],
        [
            "health path relative",
            "dev",
            { ...base, healthPath: "healthz" },
            'delivery:healthPath: must be an absolute HTTP path such as /healthz (got "healthz")',
        ],
        ["url without scheme", "dev", { ...base, url: "staging.example.com" }, 'delivery:url: must be an http:// or https:// URL (got "staging.example.com")'],
        [
            "bad docker host",
            "dev",
            { ...base, dockerHost: "/var/run/docker.sock" },
            "delivery:dockerHost: must be unix:///path/to/docker.sock or tcp://host:port",
        ],
        [
            "typo in a key",
            "dev",
            { ...base, replica: "2" },
            "delivery:replica: is not a setting of this program (a typo?). Fix: pulumi config rm delivery:replica --stack dev",
        ],
        ["bad promotion tag", "production", { ...base, promoteFrom: "staging", promotionTag: "-v1" }, "delivery:promotionTag: must be a valid image tag"],
        [
            "pod label overriding a standard label",
            "dev",
            { ...base, target: "kubernetes", podLabels: JSON.stringify({ "app.kubernetes.io/name": "x" }) },
            'delivery:podLabels: has "app.kubernetes.io/name", which is not a label key of its own',
        ],
        [
            "pod label value too long",
            "dev",
            { ...base, target: "kubernetes", podLabels: JSON.stringify({ team: "x".repeat(64) }) },
            'delivery:podLabels: has a value for "team" that is not a label value',
        ],
        ["bad platform", "dev", { ...base, platform: "windows/amd64" }, "delivery:platform: must be linux/amd64 or linux/arm64"],
    ];

    for (const [title, stack, raw, message] of cases) {
        it(title, () => {
            const problems = problemsOf(stack, raw);
            expect(
                problems.some((p) => p.includes(message)),
                `problems were:\n${problems.join("\n")}`,
            ).toBe(true);
        });
    }

    it("refuses each bad nodeSelector in the format with its fix, beside the other keys' problems, and a nodeSelector where no pods run", () => {
        const fix = "Fix: pulumi config set --path 'delivery:nodeSelector.pool' <value> --stack dev";
        const bad: [Record<string, unknown> | string, string][] = [
            [{ "bad key!": "x" }, 'has "bad key!", which is not a label key'],
            [{ "Example.com/pool": "real" }, 'has "Example.com/pool", which is not a label key'],
            [{ [`${"a".repeat(64)}`]: "real" }, `has "${"a".repeat(64)}", which is not a label key`],
            [{ pool: "x y" }, 'has a value for "pool" that is not a label value (at most 63 of A-Z a-z 0-9 - _ ., quoted)'],
            [{ pool: "x".repeat(64) }, 'has a value for "pool" that is not a label value (at most 63 of A-Z a-z 0-9 - _ ., quoted)'],
            [{ size: 1 }, 'has a value for "size" that is not a label value (at most 63 of A-Z a-z 0-9 - _ ., quoted)'],
            ['"real"', "must be a map of label: value (set it with --path, see below)"],
            ["[]", "must be a map of label: value (set it with --path, see below)"],
            ["real", "must be a map of label: value (set it with --path, see below)"],
        ];
        for (const [value, problem] of bad) {
            const raw = typeof value === "string" ? value : JSON.stringify(value);
            // One problem per key; the other keys' problems come with it.
            expect(problemsOf("dev", { ...base, target: "kubernetes", replicas: "0", nodeSelector: raw })).toEqual([
                'delivery:replicas: must be a whole number from 1 to 50 (got "0"). Fix: pulumi config set delivery:replicas 2 --stack dev',
                `delivery:nodeSelector: ${problem} (got ${JSON.stringify(raw)}). ${fix}`,
            ]);
        }
        const real = JSON.stringify({ "delivery.dev/pool": "real" });
        for (const target of ["docker", "heroku"]) {
            const problems = problemsOf("dev", { ...base, target, herokuApp: target === "heroku" ? "web-dev" : undefined, nodeSelector: real });
            expect(problems).toContain(
                `delivery:nodeSelector: only applies to the kubernetes target, but delivery:target is ${target}. Fix: pulumi config set delivery:target kubernetes --stack dev, or pulumi config rm delivery:nodeSelector --stack dev`,
            );
        }
        const s = parseSettings("dev", { ...base, target: "kubernetes", nodeSelector: real });
        expect(s.target).toMatchObject({ kind: "kubernetes", nodeSelector: { "delivery.dev/pool": "real" } });
        expect(parseSettings("dev", { ...base, target: "kubernetes" }).target).toMatchObject({ nodeSelector: {} });
    });

    it("checks the promotion gate's settings and PROMOTE_UNVERIFIED", () => {
        const promote = { ...base, promoteFrom: "staging" };
        expect(problemsOf("production", { ...promote, soakSeconds: "10m" })).toEqual([
            'delivery:soakSeconds: must be a whole number from 0 to 604800 (got "10m"). Fix: pulumi config set delivery:soakSeconds 600 --stack production',
        ]);
        expect(problemsOf("production", { ...promote, promoteUnverified: "yes" })).toEqual([
            'delivery:promoteUnverified: must be true or false (got "yes"). Fix: pulumi config set delivery:promoteUnverified true --stack production',
        ]);
        try {
            parseSettings("production", promote, { promoteUnverified: "yes" });
            throw new Error("no error");
        } catch (e) {
            expect((e as ConfigError).problems).toEqual([
                'PROMOTE_UNVERIFIED: must be true or false (got "yes"); it lets a promotion take a release that is not verified',
            ]);
        }
    });

    it("reports every problem at once, and says nothing was changed", () => {
        try {
            parseSettings("dev", { ...base, target: "kubernetes", replicas: "x", memoryLimit: "lots", appName: "A" });
            throw new Error("no error");
        } catch (e) {
            expect((e as ConfigError).problems).toHaveLength(3);
            expect((e as Error).message).toMatch(/^Invalid configuration for stack "dev" \(3 problems\); nothing was changed:\n  - delivery:/);
        }
    });

    it("never echoes a secret value in an error", () => {
        const problems = problemsOf("dev", { ...base, secretEnv: JSON.stringify({ "bad-name": "TOPSECRET-123" }) });
        expect(problems.join("\n")).toContain("delivery:secretEnv: has a key that is not an environment variable name");
        expect(problems.join("\n")).not.toContain("TOPSECRET-123");
    });

    it("rejects a secret setting stored in plain text", () => {
        const problems = problemsOf("dev", { ...base, registryUsername: "ci", registryPassword: "plain-pass" }, new Set(["registryUsername"]));
        expect(problems).toEqual([
            "delivery:registryPassword: is stored in plain text in the stack file; it must be encrypted. Fix: pulumi config set --secret delivery:registryPassword <password> --stack dev",
        ]);
        expect(() => parseSettings("dev", { ...base, registryUsername: "ci", registryPassword: "x" }, {}, new Set(["registryPassword"]))).not.toThrow();
    });
});

describe("Pulumi.yaml", () => {
    const project = parseYaml(readFileSync(join(ROOT, "Pulumi.yaml"), "utf8")) as {
        name: string;
        config: Record<string, { default?: unknown; secret?: boolean; description?: string }>;
    };

    it("declares exactly the keys the program validates, each with a description", () => {
        expect(Object.keys(project.config).sort()).toEqual(Object.keys(KEYS).sort());
        for (const [key, decl] of Object.entries(project.config)) {
            expect(decl.description, key).toMatch(/\w{3,}/);
        }
    });

    it("declares every key as a string, so that the program, not the engine, judges numbers and booleans (all problems at once)", () => {
        for (const [key, decl] of Object.entries(project.config as Record<string, { type?: string; default?: unknown }>)) {
            // Map settings (env, secretEnv, podLabels) declare no type: the engine hands them over as JSON.
            expect(decl.type ?? (typeof decl.default === "object" ? "map" : undefined), key).toMatch(/^(string|map)$/);
            expect(typeof decl.default === "string" || typeof decl.default === "object", key).toBe(true);
        }
    });

    it("states the same defaults as the program; optional keys default to empty (unset)", () => {
        for (const key of Object.keys(KEYS) as Array<keyof typeof KEYS>) {
            const declared = project.config[key].default;
            const asString = typeof declared === "object" ? JSON.stringify(declared) : String(declared);
            if (DEFAULTS[key] === undefined) {
                expect(["", "{}"], key).toContain(asString);
            } else {
                expect(asString, key).toBe(DEFAULTS[key]);
            }
        }
    });

    it("reads the empty defaults as unset", () => {
        const s = parseSettings("dev", {
            ...base,
            promoteFrom: "",
            releaseRef: "",
            url: "",
            env: "{}",
            secretEnv: "{}",
            registryUsername: "",
            registryPassword: "",
        });
        expect(s.source).toEqual({ kind: "build" });
        expect(s.url).toBeUndefined();
        expect(s.registry.username).toBeUndefined();
    });

    it("has valid stack files for dev, staging and production", () => {
        for (const stack of ["dev", "staging", "production"]) {
            const file = parseYaml(readFileSync(join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
            const raw: Record<string, string> = { commitSha: SHA, registryServer: "127.0.0.1:5000" };
            for (const [k, v] of Object.entries(file.config)) {
                if (k.startsWith("delivery:")) {
                    raw[k.slice("delivery:".length)] = typeof v === "string" ? v : JSON.stringify(plainSecure(v));
                }
            }
            expect(() => parseSettings(stack, raw), stack).not.toThrow();
        }
    });
});

/** Stack files hold `{secure: ...}` leaves; the engine hands the program decrypted strings. */
function plainSecure(v: unknown): unknown {
    if (v && typeof v === "object") {
        if ("secure" in (v as object)) {
            return "decrypted";
        }
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainSecure(x)]));
    }
    return v;
}

describe("quantityValue", () => {
    it("orders CPU and memory quantities", () => {
        expect(quantityValue("500m")).toBeLessThan(quantityValue("1"));
        expect(quantityValue("128Mi")).toBe(128 * 1024 * 1024);
        expect(quantityValue("1Gi")).toBeGreaterThan(quantityValue("512Mi"));
        expect(quantityValue("bad")).toBeNaN();
    });
});

describe("parseSettings: the heroku target", () => {
    const heroku = { ...base, target: "heroku", herokuApp: "app-staging", herokuApiKey: "k-123" };

    it("reads the app, the key and the defaults (api.heroku.com, registry.heroku.com over HTTPS)", () => {
        const s = parseSettings("staging", heroku, {}, new Set(["herokuApiKey"]));
        expect(s.target).toEqual({
            kind: "heroku",
            app: "app-staging",
            apiKey: "k-123",
            apiUrl: "https://api.heroku.com",
            registry: "registry.heroku.com",
            registryInsecure: false,
        });
    });

    it("takes HEROKU_API_KEY when the stack sets no key, and plain HTTP only for a loopback double", () => {
        const s = parseSettings(
            "staging",
            { ...heroku, herokuApiKey: undefined, herokuApiUrl: "http://127.0.0.1:4010/", herokuRegistry: "127.0.0.1:5002" },
            {
                herokuApiKey: "from-env",
            },
        );
        expect(s.target).toMatchObject({ apiKey: "from-env", apiUrl: "http://127.0.0.1:4010", registryInsecure: true });
    });

    it("lists every problem at once, each with its fix, and never prints the key", () => {
        const problems = problemsOf(
            "staging",
            {
                ...base,
                target: "heroku",
                herokuApp: "App_Staging",
                herokuApiKey: "plain-key-456",
                herokuApiUrl: "http://api.example.com",
                verifyCommand: "true",
            },
            new Set(),
        );
        expect(problems).toEqual([
            `delivery:herokuApiKey: is stored in plain text in the stack file; it must be encrypted. Fix: pulumi config set --secret delivery:herokuApiKey "$(heroku auth:token)" --stack staging`,
            expect.stringMatching(
                /^delivery:herokuApp: must be a Heroku app name: 3 to 30 lowercase letters, digits and dashes, starting with a letter \(got "App_Staging"\)\. Fix: pulumi config set delivery:herokuApp my-app-staging --stack staging$/,
            ),
            "delivery:verifyCommand: is not run by the heroku target (Heroku runs a release command itself, from the app's release phase). Fix: pulumi config rm delivery:verifyCommand --stack staging",
            'delivery:herokuApiUrl: must be https (plain http only on the loopback interface, for a test double; the API key travels in every request) (got "http://api.example.com"). Fix: pulumi config set delivery:herokuApiUrl https://api.heroku.com --stack staging',
        ]);
        expect(problems.join("\n")).not.toContain("plain-key-456");
    });

    it("requires the app and a key, and refuses heroku keys with another target", () => {
        expect(problemsOf("staging", { ...base, target: "heroku" })).toEqual([
            "delivery:herokuApp: is required with the heroku target (the stack's Heroku app). Fix: pulumi config set delivery:herokuApp my-app-staging --stack staging",
            `delivery:herokuApiKey: is required with the heroku target and HEROKU_API_KEY is unset. Fix: export HEROKU_API_KEY="$(heroku auth:token)", or pulumi config set --secret delivery:herokuApiKey "$(heroku auth:token)" --stack staging`,
        ]);
        expect(problemsOf("dev", { ...base, herokuApp: "app-dev", herokuApiUrl: "https://api.heroku.com" })).toEqual([
            "delivery:herokuApp: only applies to the heroku target, but delivery:target is docker. Fix: pulumi config set delivery:target heroku --stack dev, or pulumi config rm delivery:herokuApp --stack dev",
        ]);
    });
});
