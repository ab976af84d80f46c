import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { DNS_HOST_PATTERN, DNS_LABEL_PATTERN, TAG_PATTERN, isDigestPinned, refSlug } from "./refs";
import { REGISTRY_SERVER_PATTERN, registryProblems } from "./registry/registry";
import { ENV_NAME_PATTERN, RESERVED_ENV_NAMES } from "./release/runtimeEnv";
import { DEFAULT_DRAIN_SECONDS, DEFAULT_WATCH_SECONDS, DRAIN_RANGE, WATCH_RANGE, dockerHostTargetProblems } from "./targets/dockerHostTarget";
import { DEFAULT_PROXY_IMAGE } from "./targets/proxy";
import { REPLICAS_RANGE, kubernetesTargetProblems, resourcesProblems } from "./targets/kubernetesTarget";
import { COMMAND_TIMEOUT_RANGE, DEFAULT_COMMAND_TIMEOUT_SECONDS, PORT_RANGE } from "./targets/targetArgs";
import {
    bool,
    fixCommandFor,
    httpUrl,
    intIn,
    type KeySpec,
    parseKey,
    type Raw,
    readNamespaceConfig,
    SettingsError,
    spec,
    unknownKeyProblems,
} from "./configKit";
import { gitOutput } from "./git";
import { COMMIT_SHA_PATTERN, COMMIT_SHA_REASON } from "./patterns";
import { VERSION_PATTERN, parseVersion } from "./release/ledger";

/**
 * One typed, validated view of a stack's settings.
 *
 * Everything is checked before the program registers a single resource, and every
 * problem is reported at once, each naming its key and the command that fixes it.
 * Parsing is a pure function of the raw strings (`parseSettings`), so that each bad
 * setting can be unit-tested without an engine.
 */

export const NAMESPACE = "delivery";

/** Where the image of a release comes from. */
export type ImageSource =
    | { readonly kind: "build" }
    | { readonly kind: "promote"; readonly fromStack: string; readonly version?: string }
    | { readonly kind: "pin"; readonly ref: string; readonly commitSha: string }
    /** An entry of the stack's own ledger run again (`delivery rollback vN`); the ledger checks it holds that image. */
    | { readonly kind: "rollback"; readonly ref: string; readonly commitSha: string; readonly of: number };

export interface RegistrySettings {
    readonly server: string;
    readonly repository: string;
    readonly username?: string;
    /** Plain text only inside this process; components wrap it with `pulumi.secret`. */
    readonly password?: string;
    /** Plain HTTP (the local registry). */
    readonly insecure: boolean;
}

export interface BuildSettings {
    readonly context: string;
    readonly dockerfile: string;
    readonly baseImage: string;
    readonly platform: string;
}

export interface DockerTargetSettings {
    readonly kind: "docker";
    readonly host: string;
    readonly hostPort: number;
    readonly bindAddress: string;
    readonly healthTimeoutSeconds: number;
    readonly swap: "proxy" | "recreate";
    readonly drainSeconds: number;
    readonly watchSeconds: number;
    readonly proxyImage: string;
    readonly proxyHost?: string;
}

/** The heroku target: one Heroku app per stack (components/heroku/herokuTarget.ts). */
export interface HerokuTargetSettings {
    readonly kind: "heroku";
    /** The stack's Heroku app. */
    readonly app: string;
    /** Plain text only inside this process; components wrap it with `pulumi.secret`. */
    readonly apiKey: string;
    /** Platform API base URL, without a trailing `/`. */
    readonly apiUrl: string;
    /** Heroku's container registry `host[:port]`. */
    readonly registry: string;
    /** Plain HTTP to the registry: only for a registry on the loopback interface (tests). */
    readonly registryInsecure: boolean;
}

export interface KubernetesTargetSettings {
    readonly kind: "kubernetes";
    readonly namespace: string;
    readonly replicas: number;
    readonly kubeconfig?: string;
    readonly ingressHost?: string;
    readonly ingressClassName?: string;
    readonly rolloutTimeoutSeconds: number;
    /** Extra labels on the pods (not the selector). */
    readonly podLabels: Readonly<Record<string, string>>;
    /** The pods run only on nodes with these labels, and tolerate a NoSchedule taint of the same key=value. */
    readonly nodeSelector: Readonly<Record<string, string>>;
    readonly resources: {
        readonly cpuRequest: string;
        readonly cpuLimit: string;
        readonly memoryRequest: string;
        readonly memoryLimit: string;
    };
}

export interface DeliverySettings {
    readonly stack: string;
    readonly appName: string;
    readonly commitSha: string;
    readonly refName: string;
    readonly source: ImageSource;
    /** Registry tag added to a promoted digest (the git tag in a tag pipeline). */
    readonly promotionTag?: string;
    /** Whether promotionTag may move to another digest; a release tag (default) never does. */
    readonly promotionTagMutable: boolean;
    /** How many ledger entries the `releases` output shows (the state keeps all). */
    readonly releasesShown: number;
    /** How long (seconds) a promoted release's verification must have passed before it is promoted (the promotion gate, gate.ts). */
    readonly soakSeconds: number;
    /** Who lets a release the gate holds back through anyway: delivery:promoteUnverified, else PROMOTE_UNVERIFIED=true. */
    readonly promoteUnverified?: "delivery:promoteUnverified" | "PROMOTE_UNVERIFIED";
    readonly build: BuildSettings;
    readonly registry: RegistrySettings;
    readonly containerPort: number;
    readonly healthPath: string;
    readonly env: Readonly<Record<string, string>>;
    /** Plain text only inside this process; components wrap it with `pulumi.secret`. */
    readonly secretEnv: Readonly<Record<string, string>>;
    readonly url?: string;
    readonly target: DockerTargetSettings | KubernetesTargetSettings | HerokuTargetSettings;
    /** Verification and release phase of every release (components/release/verification.ts). */
    readonly commands: ReleaseCommands;
}

/** The one-off commands a release runs from its own image with its own config. */
export interface ReleaseCommands {
    /** Run after the release serves; a non-zero exit marks it failed. */
    readonly verifyCommand?: string;
    /** Run once before the release takes traffic (a migration); a non-zero exit fails the update. */
    readonly releaseCommand?: string;
    /** How long each of them may run. */
    readonly timeoutSeconds: number;
}

/** Values that come from the environment (CI variables, git) when the stack does not set them. */
export interface AmbientDefaults {
    readonly commitSha?: string;
    readonly refName?: string;
    readonly tag?: string;
    /** GitLab's predefined CI_REGISTRY, CI_REGISTRY_USER, CI_REGISTRY_PASSWORD. */
    readonly registryServer?: string;
    readonly registryUsername?: string;
    readonly registryPassword?: string;
    /** HEROKU_API_KEY, the heroku target's API key when delivery:herokuApiKey is not set. */
    readonly herokuApiKey?: string;
    /** What `delivery promote` and `delivery rollback` ask of one run (ambientDefaults reads them). */
    readonly operation?: ReleaseOperation;
    /** PROMOTE_UNVERIFIED, the CI job's override of the promotion gate: "true" or "false". */
    readonly promoteUnverified?: string;
}

/**
 * An operation the `delivery` command asks of one `pulumi up`, through the environment rather
 * than the stack file (configuration lives in git; a rollback keeps it): DELIVERY_PROMOTE_FROM and
 * DELIVERY_PROMOTE_RELEASE win over delivery:promoteFrom and delivery:promoteRelease;
 * DELIVERY_ROLLBACK_TO, _REF and _COMMIT_SHA run an entry of the stack's own ledger again.
 */
export interface ReleaseOperation {
    readonly promoteFrom?: string;
    readonly promoteRelease?: string;
    readonly rollbackTo?: string;
    readonly rollbackRef?: string;
    readonly rollbackCommitSha?: string;
}

export class ConfigError extends SettingsError {
    constructor(stack: string, problems: readonly string[]) {
        super("configuration", stack, problems);
        this.name = "ConfigError";
    }
}

const quantity = z.string().regex(/^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|k|M|G)?$/, "must be a Kubernetes quantity such as 100m, 0.5, 128Mi or 1Gi");
const hostPort = z.string().regex(REGISTRY_SERVER_PATTERN, "must be a registry host, optionally with a port, such as registry.gitlab.com or 127.0.0.1:5000");
const repositoryPath = z
    .string()
    .regex(
        /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/,
        "must be a lowercase repository path such as group/project/app",
    );
const dnsLabel = z.string().regex(DNS_LABEL_PATTERN, "must be a DNS label: lowercase letters, digits and '-', at most 63 characters");
const dnsHost = z.string().regex(DNS_HOST_PATTERN, "must be a DNS host name such as staging.example.com");
/**
 * A map setting (set with `--path`), which the engine hands over as JSON. `problem` names
 * what is wrong with one entry, or returns undefined when it is fine.
 */
const jsonMap = (what: string, problem: (key: string, value: unknown) => string | undefined) =>
    z.string().transform((s, ctx): Record<string, string> => {
        let value: unknown;
        try {
            value = JSON.parse(s);
        } catch {
            value = undefined;
        }
        if (typeof value !== "object" || value === null || Array.isArray(value)) {
            ctx.addIssue({ code: "custom", message: `must be a map of ${what} (set it with --path, see below)` });
            return z.NEVER;
        }
        for (const [key, v] of Object.entries(value)) {
            const message = problem(key, v);
            if (message !== undefined) {
                ctx.addIssue({ code: "custom", message });
            }
        }
        return value as Record<string, string>;
    });

const envMap = jsonMap("NAME: value", (name, v) =>
    !ENV_NAME_PATTERN.test(name)
        ? `has a key that is not an environment variable name (letters, digits, _; not starting with a digit): "${name}"`
        : typeof v !== "string"
          ? `must map each name to a string value (quote numbers and booleans): ${name}`
          : undefined,
);

/** Kubernetes label keys (optional DNS prefix + name) and values. */
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
const labelMap = jsonMap("label: value", (key, v) =>
    !LABEL_KEY.test(key) || key.startsWith("app.kubernetes.io/")
        ? `has "${key}", which is not a label key of its own (app.kubernetes.io/* are set by the program)`
        : typeof v !== "string" || !LABEL_VALUE.test(v)
          ? `has a value for "${key}" that is not a label value (at most 63 of A-Z a-z 0-9 - _ ., quoted)`
          : undefined,
);

/** A node selector: label keys of any prefix (kubernetes.io/arch too), label values. */
const nodeSelectorMap = jsonMap("label: value", (key, v) =>
    !LABEL_KEY.test(key)
        ? `has "${key}", which is not a label key`
        : typeof v !== "string" || !LABEL_VALUE.test(v)
          ? `has a value for "${key}" that is not a label value (at most 63 of A-Z a-z 0-9 - _ ., quoted)`
          : undefined,
);

/** Heroku's app name rule: lowercase letters, digits and dashes, starting with a letter, 3 to 30 characters. */
const HEROKU_APP_PATTERN = /^[a-z][a-z0-9-]{2,29}$/;
const HEROKU_APP_REASON = "must be a Heroku app name: 3 to 30 lowercase letters, digits and dashes, starting with a letter";

/** Every key this program reads, with its schema. Pulumi.yaml declares the same keys. */
export const KEYS = {
    appName: spec(dnsLabel, "web"),
    target: spec(z.enum(["docker", "kubernetes", "heroku"], "must be docker, kubernetes or heroku"), "kubernetes"),
    appPath: spec(z.string().min(1, "must not be empty"), "app"),
    dockerfile: spec(z.string().min(1, "must not be empty"), "app/Dockerfile"),
    baseImage: spec(z.string().regex(/^[^\s]+$/, "must be an image reference without spaces"), "127.0.0.1:5000/delivery/python-base:bookworm"),
    platform: spec(z.enum(["linux/amd64", "linux/arm64"], "must be linux/amd64 or linux/arm64"), "linux/amd64"),
    commitSha: spec(z.string().regex(COMMIT_SHA_PATTERN, COMMIT_SHA_REASON), "0123456789abcdef0123456789abcdef01234567"),
    refName: spec(z.string().min(1, "must not be empty").max(255, "must be at most 255 characters"), "main"),
    registryServer: spec(hostPort, "127.0.0.1:5000"),
    registryRepository: spec(repositoryPath, "delivery/app"),
    registryUsername: spec(z.string().min(1, "must not be empty"), "deployer"),
    registryPassword: spec(z.string().min(1, "must not be empty"), "<password>", { secret: true }),
    registryInsecure: spec(bool, "true"),
    promoteFrom: spec(z.string().regex(/^([A-Za-z0-9_.-]+\/){0,2}[A-Za-z0-9_.-]+$/, "must be a stack name such as staging or org/delivery/staging"), "staging"),
    releaseRef: spec(
        z.string().refine(isDigestPinned, "must be pinned by digest (repository@sha256:<64 hex>); a tag can move, so it cannot name a release"),
        "127.0.0.1:5000/delivery/app@sha256:<64 hex>",
    ),
    releaseCommitSha: spec(z.string().regex(COMMIT_SHA_PATTERN, COMMIT_SHA_REASON), "0123456789abcdef0123456789abcdef01234567"),
    promoteRelease: spec(z.string().regex(VERSION_PATTERN, "must be a release number of the upstream's ledger such as v7"), "v7"),
    releasesShown: spec(intIn(1, 1000), "20"),
    promotionTag: spec(z.string().regex(TAG_PATTERN, "must be a valid image tag: letters, digits, _ . -, at most 128, not starting with . or -"), "v1.2.3"),
    promotionTagMutable: spec(bool, "true"),
    soakSeconds: spec(intIn(0, 604800), "600"),
    promoteUnverified: spec(bool, "true"),
    containerPort: spec(intIn(PORT_RANGE.min, PORT_RANGE.max), "8080"),
    healthPath: spec(z.string().regex(/^\/[^\s]*$/, "must be an absolute HTTP path such as /healthz"), "/healthz"),
    env: spec(envMap, "GREETING", { path: true }),
    secretEnv: spec(envMap, "SECRET_KEY", { path: true, secret: true }),
    url: spec(httpUrl, "https://staging.example.com"),
    dockerHost: spec(
        z.string().regex(/^(unix:\/\/\/[^\s]+|tcp:\/\/[^\s]+)$/, "must be unix:///path/to/docker.sock or tcp://host:port"),
        "unix:///var/run/docker.sock",
    ),
    hostPort: spec(intIn(PORT_RANGE.min, PORT_RANGE.max), "8000"),
    bindAddress: spec(z.string().regex(/^[0-9.]+$|^::1?$/, "must be an IP address such as 127.0.0.1"), "127.0.0.1"),
    healthTimeoutSeconds: spec(intIn(5, 3600), "60"),
    swap: spec(z.enum(["proxy", "recreate"], "must be proxy or recreate"), "proxy"),
    drainSeconds: spec(intIn(DRAIN_RANGE.min, DRAIN_RANGE.max), String(DEFAULT_DRAIN_SECONDS)),
    watchSeconds: spec(intIn(WATCH_RANGE.min, WATCH_RANGE.max), String(DEFAULT_WATCH_SECONDS)),
    proxyImage: spec(z.string().regex(/^[^\s]+$/, "must be an image reference without spaces"), "caddy:2.6.2"),
    proxyHost: spec(dnsHost, "staging.example.com"),
    namespace: spec(dnsLabel, "staging"),
    replicas: spec(intIn(REPLICAS_RANGE.min, REPLICAS_RANGE.max), "2"),
    kubeconfig: spec(z.string().min(1, "must not be empty"), "~/.kube/config"),
    ingressHost: spec(dnsHost, "staging.example.com"),
    ingressClassName: spec(dnsLabel, "nginx"),
    rolloutTimeoutSeconds: spec(intIn(10, 3600), "300"),
    podLabels: spec(labelMap, "team", { path: true }),
    nodeSelector: spec(nodeSelectorMap, "pool", { path: true }),
    cpuRequest: spec(quantity, "50m"),
    cpuLimit: spec(quantity, "500m"),
    memoryRequest: spec(quantity, "64Mi"),
    memoryLimit: spec(quantity, "256Mi"),
    verifyCommand: spec(z.string().regex(/\S/, "must be a shell command line"), "'python3 -m unittest discover -s /app/tests'"),
    releaseCommand: spec(z.string().regex(/\S/, "must be a shell command line"), "'python3 migrate.py'"),
    verifyTimeoutSeconds: spec(intIn(COMMAND_TIMEOUT_RANGE.min, COMMAND_TIMEOUT_RANGE.max), String(DEFAULT_COMMAND_TIMEOUT_SECONDS)),
    herokuApp: spec(z.string().regex(HEROKU_APP_PATTERN, HEROKU_APP_REASON), "my-app-staging"),
    herokuApiKey: spec(z.string().min(1, "must not be empty"), '"$(heroku auth:token)"', { secret: true }),
    herokuApiUrl: spec(httpUrl, "https://api.heroku.com"),
    herokuRegistry: spec(hostPort, "registry.heroku.com"),
} as const;

export type Key = keyof typeof KEYS;

type Parsed = { [K in Key]?: z.output<(typeof KEYS)[K]["schema"]> };

/** The defaults that do not depend on other keys. Pulumi.yaml states the same ones. */
export const DEFAULTS: Partial<Record<Key, string>> = {
    appName: "app",
    target: "docker",
    appPath: "app",
    baseImage: "127.0.0.1:5000/delivery/python-base:bookworm",
    platform: "linux/amd64",
    registryRepository: "delivery/app",
    registryInsecure: "false",
    promotionTagMutable: "false",
    releasesShown: "20",
    soakSeconds: "0",
    promoteUnverified: "false",
    containerPort: "8080",
    healthPath: "/healthz",
    dockerHost: "unix:///var/run/docker.sock",
    hostPort: "8000",
    bindAddress: "127.0.0.1",
    healthTimeoutSeconds: "60",
    swap: "proxy",
    drainSeconds: String(DEFAULT_DRAIN_SECONDS),
    watchSeconds: String(DEFAULT_WATCH_SECONDS),
    proxyImage: DEFAULT_PROXY_IMAGE,
    replicas: "2",
    rolloutTimeoutSeconds: "300",
    cpuRequest: "50m",
    cpuLimit: "500m",
    memoryRequest: "64Mi",
    memoryLimit: "256Mi",
    verifyTimeoutSeconds: String(DEFAULT_COMMAND_TIMEOUT_SECONDS),
    herokuApiUrl: "https://api.heroku.com",
    herokuRegistry: "registry.heroku.com",
};

/** The `pulumi config set` command that fixes `key` in `stack`, with `value` or the key's example. */
export function fixCommand(stack: string, key: Key, value?: string): string {
    return fixCommandFor(NAMESPACE, key, KEYS[key], stack, value);
}

/**
 * Validates raw config strings (as the engine hands them over) into settings.
 * Throws one ConfigError listing every problem.
 */
export function parseSettings(stack: string, raw: Raw, ambient: AmbientDefaults = {}, secretKeys?: ReadonlySet<string>): DeliverySettings {
    const problems: string[] = [];
    // Pulumi.yaml declares optional keys with an empty default (a key without one is required).
    raw = Object.fromEntries(Object.entries(raw).filter(([, value]) => value !== "" && value !== "{}"));
    if (secretKeys !== undefined) {
        for (const key of Object.keys(KEYS) as Key[]) {
            if (KEYS[key].secret && raw[key] !== undefined && !secretKeys.has(key)) {
                problems.push(`${NAMESPACE}:${key}: is stored in plain text in the stack file; it must be encrypted. Fix: ${fixCommand(stack, key)}`);
            }
        }
    }
    // GitLab CI provides the registry and a job token; stack settings still win.
    raw = {
        ...raw,
        registryServer: raw.registryServer ?? ambient.registryServer,
        registryUsername: raw.registryUsername ?? (raw.registryPassword === undefined ? ambient.registryUsername : undefined),
        registryPassword: raw.registryPassword ?? (raw.registryUsername === undefined ? ambient.registryPassword : undefined),
        promoteFrom: ambient.operation?.promoteFrom || raw.promoteFrom,
        promoteRelease: ambient.operation?.promoteRelease || raw.promoteRelease,
        herokuApiKey: raw.herokuApiKey ?? (raw.target === "heroku" ? ambient.herokuApiKey || undefined : undefined),
    };
    const rollback = rollbackOf(ambient.operation, problems);
    const promoteUnverifiedEnv = ambient.promoteUnverified || undefined;
    if (promoteUnverifiedEnv !== undefined && promoteUnverifiedEnv !== "true" && promoteUnverifiedEnv !== "false") {
        problems.push(
            `PROMOTE_UNVERIFIED: must be true or false (got ${JSON.stringify(promoteUnverifiedEnv)}); it lets a promotion take a release that is not verified`,
        );
    }
    problems.push(...unknownKeyProblems(NAMESPACE, KEYS, raw, stack, "setting"));

    const v: Parsed = {};
    for (const key of Object.keys(KEYS) as Key[]) {
        const given = raw[key];
        const value = given ?? DEFAULTS[key];
        if (value === undefined) {
            continue;
        }
        const result = parseKey(NAMESPACE, key, KEYS[key] as KeySpec<unknown>, value, stack);
        if (result.ok) {
            (v as Record<string, unknown>)[key] = result.value;
        } else {
            problems.push(result.problem);
        }
    }

    const need = (key: Key, why: string) => {
        if (v[key] === undefined && raw[key] === undefined) {
            problems.push(`${NAMESPACE}:${key}: is required ${why}. Fix: ${fixCommand(stack, key)}`);
        }
    };

    const commitSha = v.commitSha ?? (ambient.commitSha && COMMIT_SHA_PATTERN.test(ambient.commitSha) ? ambient.commitSha : undefined);
    if (commitSha === undefined && raw.commitSha === undefined) {
        problems.push(
            `${NAMESPACE}:commitSha: is required and no commit was found (CI_COMMIT_SHA unset and not a git checkout). Fix: export CI_COMMIT_SHA=$(git rev-parse HEAD), or ${fixCommand(stack, "commitSha")}`,
        );
    }
    need("registryServer", "to know where images are pushed and pulled");

    if (v.registryUsername !== undefined || v.registryPassword !== undefined) {
        need("registryUsername", "when registryPassword is set (registry credentials come as a pair)");
        need("registryPassword", "when registryUsername is set (registry credentials come as a pair)");
    }
    if (v.promoteFrom !== undefined && v.promoteFrom.split("/").pop() === stack) {
        problems.push(`${NAMESPACE}:promoteFrom: a stack cannot promote from itself ("${v.promoteFrom}"). Fix: ${fixCommand(stack, "promoteFrom")}`);
    }
    if (v.releaseRef !== undefined) {
        need("releaseCommitSha", "with releaseRef (the commit the pinned release was built from)");
    }
    if (v.releaseCommitSha !== undefined && v.releaseRef === undefined) {
        problems.push(
            `${NAMESPACE}:releaseCommitSha: only applies to a pinned release; set ${NAMESPACE}:releaseRef too. Fix: ${fixCommand(stack, "releaseRef")}`,
        );
    }
    if (v.promoteRelease !== undefined && v.promoteFrom === undefined) {
        problems.push(
            `${NAMESPACE}:promoteRelease: names a release of the upstream stack, but ${NAMESPACE}:promoteFrom is not set. Fix: ${fixCommand(stack, "promoteFrom")}`,
        );
    }
    const promotes = v.promoteFrom !== undefined || v.releaseRef !== undefined || rollback !== undefined;
    // Production runs only what another stack built and ran; the policy pack checks the same.
    if (stack === "production" && !promotes) {
        problems.push(
            `${NAMESPACE}:promoteFrom: the production stack never builds; it must promote a release. Fix: ${fixCommand(stack, "promoteFrom")} (or pin an earlier release with ${NAMESPACE}:releaseRef)`,
        );
    }
    if (v.target === "docker" && raw.namespace !== undefined) {
        problems.push(
            `${NAMESPACE}:namespace: only applies to the kubernetes target, but ${NAMESPACE}:target is docker. Fix: pulumi config set ${NAMESPACE}:target kubernetes --stack ${stack}, or pulumi config rm ${NAMESPACE}:namespace --stack ${stack}`,
        );
    }
    // Placement only the kubernetes target has: elsewhere it would be silently ignored.
    if (v.target !== undefined && v.target !== "kubernetes" && raw.nodeSelector !== undefined) {
        problems.push(
            `${NAMESPACE}:nodeSelector: only applies to the kubernetes target, but ${NAMESPACE}:target is ${v.target}. Fix: pulumi config set ${NAMESPACE}:target kubernetes --stack ${stack}, or pulumi config rm ${NAMESPACE}:nodeSelector --stack ${stack}`,
        );
    }
    if (v.target === "heroku") {
        need("herokuApp", "with the heroku target (the stack's Heroku app)");
        for (const key of ["verifyCommand", "releaseCommand"]) {
            if (raw[key] !== undefined) {
                problems.push(
                    `${NAMESPACE}:${key}: is not run by the heroku target (Heroku runs a release command itself, from the app's release phase). Fix: pulumi config rm ${NAMESPACE}:${key} --stack ${stack}`,
                );
            }
        }
        if (v.herokuApiKey === undefined && raw.herokuApiKey === undefined) {
            problems.push(
                `${NAMESPACE}:herokuApiKey: is required with the heroku target and HEROKU_API_KEY is unset. Fix: export HEROKU_API_KEY="$(heroku auth:token)", or ${fixCommand(stack, "herokuApiKey")}`,
            );
        }
    }
    problems.push(...herokuTargetProblems(stack, v, raw));
    problems.push(...proxySwapProblems(stack, v, raw));
    // The components' own invariants (targets, registry), each named by the key it came from.
    const keyOfArg = (arg: string) => (arg === "server" ? "registryServer" : arg.replace(/^resources\./, "")) as Key;
    const named = (arg: string) => `${NAMESPACE}:${keyOfArg(arg)}`;
    const resources = { cpuRequest: v.cpuRequest, cpuLimit: v.cpuLimit, memoryRequest: v.memoryRequest, memoryLimit: v.memoryLimit };
    for (const p of [
        ...registryProblems({ server: v.registryServer }, named),
        ...(v.target === "kubernetes"
            ? kubernetesTargetProblems(
                  { replicas: v.replicas, containerPort: v.containerPort, ingressHost: v.ingressHost, ingressClassName: v.ingressClassName, resources },
                  named,
              )
            : [
                  ...dockerHostTargetProblems(
                      { containerPort: v.containerPort, hostPort: v.hostPort, drainSeconds: v.drainSeconds, watchSeconds: v.watchSeconds },
                      named,
                  ),
                  ...resourcesProblems(resources, named),
              ]),
    ]) {
        problems.push(`${p.message}. Fix: ${fixCommand(stack, keyOfArg(p.arg))}`);
    }
    for (const key of Object.keys(v.env ?? {})) {
        if (v.secretEnv && key in v.secretEnv) {
            problems.push(
                `${NAMESPACE}:env.${key}: is also in ${NAMESPACE}:secretEnv; a name must be either plain or secret. Fix: pulumi config rm --path '${NAMESPACE}:env.${key}' --stack ${stack}`,
            );
        }
    }
    for (const reserved of RESERVED_ENV_NAMES) {
        if ((v.env && reserved in v.env) || (v.secretEnv && reserved in v.secretEnv)) {
            problems.push(
                `${NAMESPACE}:env.${reserved}: is set by the program itself (release id, container port). Fix: pulumi config rm --path '${NAMESPACE}:env.${reserved}' --stack ${stack}`,
            );
        }
    }

    if (problems.length > 0) {
        throw new ConfigError(stack, problems);
    }

    const appPath = v.appPath!;
    const source: ImageSource =
        rollback !== undefined
            ? rollback
            : v.releaseRef !== undefined
              ? { kind: "pin", ref: v.releaseRef, commitSha: v.releaseCommitSha! }
              : v.promoteFrom !== undefined
                ? { kind: "promote", fromStack: v.promoteFrom, version: v.promoteRelease }
                : { kind: "build" };

    const target: DockerTargetSettings | KubernetesTargetSettings | HerokuTargetSettings =
        v.target === "heroku"
            ? {
                  kind: "heroku",
                  app: v.herokuApp!,
                  apiKey: v.herokuApiKey!,
                  apiUrl: v.herokuApiUrl!.replace(/\/+$/, ""),
                  registry: v.herokuRegistry!,
                  registryInsecure: isLoopback(v.herokuRegistry!),
              }
            : v.target === "kubernetes"
              ? {
                    kind: "kubernetes",
                    namespace: v.namespace ?? defaultNamespace(stack),
                    replicas: v.replicas!,
                    kubeconfig: v.kubeconfig,
                    ingressHost: v.ingressHost,
                    ingressClassName: v.ingressClassName,
                    rolloutTimeoutSeconds: v.rolloutTimeoutSeconds!,
                    podLabels: v.podLabels ?? {},
                    nodeSelector: v.nodeSelector ?? {},
                    resources: { cpuRequest: v.cpuRequest!, cpuLimit: v.cpuLimit!, memoryRequest: v.memoryRequest!, memoryLimit: v.memoryLimit! },
                }
              : {
                    kind: "docker",
                    host: v.dockerHost!,
                    hostPort: v.hostPort!,
                    bindAddress: v.bindAddress!,
                    healthTimeoutSeconds: v.healthTimeoutSeconds!,
                    swap: v.swap!,
                    drainSeconds: v.drainSeconds!,
                    watchSeconds: v.watchSeconds!,
                    proxyImage: v.proxyImage!,
                    ...(v.proxyHost ? { proxyHost: v.proxyHost } : {}),
                };

    return {
        stack,
        appName: v.appName!,
        commitSha: commitSha!,
        refName: v.refName ?? ambient.refName ?? "local",
        source,
        // The pipeline's git tag names the newest release: a rollback never takes it (a tag set in the stack file still applies, and is refused if it names another digest).
        promotionTag: v.promotionTag ?? (ambient.tag && TAG_PATTERN.test(ambient.tag) && rollback === undefined ? ambient.tag : undefined),
        promotionTagMutable: v.promotionTagMutable!,
        releasesShown: v.releasesShown!,
        soakSeconds: v.soakSeconds!,
        promoteUnverified: v.promoteUnverified ? "delivery:promoteUnverified" : promoteUnverifiedEnv === "true" ? "PROMOTE_UNVERIFIED" : undefined,
        build: {
            context: appPath,
            dockerfile: v.dockerfile ?? `${appPath.replace(/\/+$/, "")}/Dockerfile`,
            baseImage: v.baseImage!,
            platform: v.platform!,
        },
        registry: {
            server: v.registryServer!,
            repository: v.registryRepository!,
            username: v.registryUsername,
            password: v.registryPassword,
            insecure: v.registryInsecure!,
        },
        containerPort: v.containerPort!,
        healthPath: v.healthPath!,
        env: v.env ?? {},
        secretEnv: v.secretEnv ?? {},
        url: v.url,
        target,
        commands: { verifyCommand: v.verifyCommand, releaseCommand: v.releaseCommand, timeoutSeconds: v.verifyTimeoutSeconds! },
    };
}

/**
 * The rollback the environment asks for (DELIVERY_ROLLBACK_*, set by `delivery rollback`): all three
 * variables or none, each checked; a problem names the variable, since no stack setting holds them.
 */
function rollbackOf(op: ReleaseOperation | undefined, problems: string[]): Extract<ImageSource, { kind: "rollback" }> | undefined {
    const { rollbackTo: to, rollbackRef: ref, rollbackCommitSha: sha } = op ?? {};
    if (!to && !ref && !sha) {
        return undefined;
    }
    const unset = "they are set together by `delivery rollback vN`; unset all three to deploy the stack's own source";
    const before = problems.length;
    if (!to || parseVersion(to) === undefined) {
        problems.push(`DELIVERY_ROLLBACK_TO: must be a release number such as v12 (got ${JSON.stringify(to ?? "")}); ${unset}`);
    }
    if (!ref || !isDigestPinned(ref)) {
        problems.push(`DELIVERY_ROLLBACK_REF: must be pinned by digest, repository@sha256:<64 hex> (got ${JSON.stringify(ref ?? "")}); ${unset}`);
    }
    if (!sha || !COMMIT_SHA_PATTERN.test(sha)) {
        problems.push(`DELIVERY_ROLLBACK_COMMIT_SHA: ${COMMIT_SHA_REASON} (got ${JSON.stringify(sha ?? "")}); ${unset}`);
    }
    return problems.length > before ? undefined : { kind: "rollback", ref: ref!, commitSha: sha!, of: parseVersion(to!)! };
}

/** `127.0.0.1[:port]`, `localhost[:port]`, `[::1][:port]`: the only hosts spoken to in plain HTTP. */
export function isLoopback(hostPortOrUrl: string): boolean {
    const host = hostPortOrUrl.replace(/^[a-z]+:\/\//, "").replace(/[/].*$/, "");
    return /^(127\.[0-9.]+|localhost|\[::1\])(:[0-9]+)?$/.test(host);
}

/** The proxy's own keys where no proxy runs: another target, or the docker target's recreate swap. */
function proxySwapProblems(stack: string, v: Parsed, raw: Raw): string[] {
    const problems: string[] = [];
    for (const key of ["proxyHost", "proxyImage"] as const) {
        if (raw[key] === undefined || raw[key] === DEFAULTS[key]) {
            continue;
        }
        if (v.target !== undefined && v.target !== "docker") {
            problems.push(
                `${NAMESPACE}:${key}: only applies to the docker target's proxy swap, but ${NAMESPACE}:target is ${v.target}. Fix: pulumi config rm ${NAMESPACE}:${key} --stack ${stack}`,
            );
        } else if (v.swap === "recreate") {
            problems.push(
                `${NAMESPACE}:${key}: only applies to the proxy swap, but ${NAMESPACE}:swap is recreate. Fix: pulumi config rm ${NAMESPACE}:swap --stack ${stack} (the proxy is the default), or pulumi config rm ${NAMESPACE}:${key} --stack ${stack}`,
            );
        }
    }
    return problems;
}

/** The heroku keys with another target, and a plain-HTTP Platform API off the loopback interface. */
function herokuTargetProblems(stack: string, v: Parsed, raw: Raw): string[] {
    const problems: string[] = [];
    if (v.target !== "heroku") {
        for (const key of ["herokuApp", "herokuApiUrl", "herokuRegistry"] as const) {
            if (raw[key] !== undefined && raw[key] !== DEFAULTS[key]) {
                problems.push(
                    `${NAMESPACE}:${key}: only applies to the heroku target, but ${NAMESPACE}:target is ${v.target ?? raw.target}. Fix: pulumi config set ${NAMESPACE}:target heroku --stack ${stack}, or pulumi config rm ${NAMESPACE}:${key} --stack ${stack}`,
                );
            }
        }
    }
    if (v.herokuApiUrl !== undefined && v.herokuApiUrl.startsWith("http:") && !isLoopback(v.herokuApiUrl)) {
        problems.push(
            `${NAMESPACE}:herokuApiUrl: must be https (plain http only on the loopback interface, for a test double; the API key travels in every request) (got "${v.herokuApiUrl}"). Fix: ${fixCommand(stack, "herokuApiUrl")}`,
        );
    }
    return problems;
}

/** A stack name made into a namespace: review stacks keep their `review-<slug>` name. */
export function defaultNamespace(stack: string): string {
    return refSlug(stack) || "default";
}

export { quantityValue } from "./targets/quantity";

/** CI variables first (the pipeline is the source of truth there), then the local git checkout. */
export function ambientDefaults(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): AmbientDefaults {
    const git = (...args: string[]) => gitOutput(cwd, ...args);
    return {
        commitSha: env.CI_COMMIT_SHA ?? git("rev-parse", "HEAD"),
        refName: env.CI_COMMIT_REF_NAME ?? git("rev-parse", "--abbrev-ref", "HEAD"),
        tag: env.CI_COMMIT_TAG,
        registryServer: env.CI_REGISTRY,
        registryUsername: env.CI_REGISTRY_USER,
        registryPassword: env.CI_REGISTRY_PASSWORD,
        herokuApiKey: env.HEROKU_API_KEY,
        promoteUnverified: env.PROMOTE_UNVERIFIED,
        operation: {
            promoteFrom: env.DELIVERY_PROMOTE_FROM,
            promoteRelease: env.DELIVERY_PROMOTE_RELEASE,
            rollbackTo: env.DELIVERY_ROLLBACK_TO,
            rollbackRef: env.DELIVERY_ROLLBACK_REF,
            rollbackCommitSha: env.DELIVERY_ROLLBACK_COMMIT_SHA,
        },
    };
}

/** The program's entry point into configuration. Throws ConfigError before any resource exists. */
export function loadSettings(): DeliverySettings {
    const { raw, secretKeys } = readNamespaceConfig(NAMESPACE);
    return parseSettings(pulumi.getStack(), raw, ambientDefaults(), secretKeys);
}
