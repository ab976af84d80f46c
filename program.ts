import * as pulumi from "@pulumi/pulumi";
import { AppImage, AppImageArgs } from "./components/image/appImage";
import {
    ConfigError,
    DeliverySettings,
    DockerTargetSettings,
    HerokuTargetSettings,
    KubernetesTargetSettings,
    fixCommand,
    loadSettings,
} from "./components/config";
import { GitlabConfigError, GitlabSettings, readGitlabSettings } from "./components/gitlab/gitlabConfig";
import { GitlabProjectSettings } from "./components/gitlab/gitlabProjectSettings";
import { HerokuTarget, HerokuTargetArgs } from "./components/heroku/herokuTarget";
import { Registry, RegistryArgs } from "./components/registry/registry";
import type { RegistryTag } from "./components/registry/registryTag";
import { PromotedRelease, Promotion, UnknownStackError, readUpstreamRelease } from "./components/release/promotion";
import { releaseActor } from "./components/release/actor";
import { LedgerEntry, newest, origins } from "./components/release/ledger";
import { Release, ReleaseInfo } from "./components/release/release";
import { verificationGate } from "./components/release/verification";
import { VerificationResult } from "./components/release/verificationResult";
import { DockerHostTarget, DockerHostTargetArgs } from "./components/targets/dockerHostTarget";
import { KubernetesTarget, KubernetesTargetArgs } from "./components/targets/kubernetesTarget";
import { ReleaseTargetArgs } from "./components/targets/targetArgs";

/** What a stack exports: the release a downstream stack can promote, and where the app answers. */
export interface StackOutputs {
    /** With the recorded `verification` of the release (absent: not verified). */
    readonly release: pulumi.Output<ReleaseInfo & { verification?: VerificationResult }>;
    /** The newest `delivery:releasesShown` ledger entries, newest first (the state keeps all). */
    readonly releases: pulumi.Output<LedgerEntry[]>;
    /** A string, or the Heroku app's web_url (known once the release ran). */
    readonly url: pulumi.Input<string>;
    /** The heroku target: Heroku's own release number of what runs, to compare `heroku releases` with the ledger. */
    readonly heroku?: pulumi.Output<{ app: string; version: string; imageId: string }>;
}

/**
 * build -> release -> run for one stack. Everything that can be wrong with the settings or
 * the upstream release is found before the first resource is registered.
 */
export async function deliver(): Promise<StackOutputs> {
    const { s, gitlabSettings } = settingsOrFail();
    const upstream = await upstreamOrFail(s);
    const gitlab = gitlabSettings && createGitlab(s, gitlabSettings);
    const registry = new Registry("registry", registryArgs(s, gitlab));
    const source = buildOrPromote(s, registry, upstream);
    const secretEnv = pulumi.secret({ ...s.secretEnv });
    const release = new Release("release", { ...source, env: s.env, secretEnv, stack: s.stack, actor: releaseActor(), registry });
    const from: TargetSources = { s, registry, release, commitSha: source.commitSha, secretEnv };
    const target =
        s.target.kind === "heroku"
            ? new HerokuTarget("app", herokuTargetArgs(s.target, from))
            : s.target.kind === "docker"
              ? new DockerHostTarget("app", dockerTargetArgs(s.target, from))
              : new KubernetesTarget("app", kubernetesTargetArgs(s.target, from));
    // A failed verification is exported with the release and fails the update (verificationGate).
    const verification = verificationGate(release.releaseId, target.verification, target);
    const info = pulumi.all([release.info, verification]).apply(([i, v]) => (v ? { ...i, verification: v } : i));
    return {
        release: info,
        releases: release.entries.apply((entries) => newest(entries, s.releasesShown)),
        url: s.url ?? target.url,
        ...(target instanceof HerokuTarget ? { heroku: target.platformRelease } : {}),
    };
}

/**
 * The GitLab side of the stack (dev leaves it off): its environment, variables and the
 * deploy token the runtime pulls with, since a CI job token dies with its job.
 */
function createGitlab(s: DeliverySettings, gitlabSettings: GitlabSettings): GitlabProjectSettings {
    return new GitlabProjectSettings("gitlab", {
        ...gitlabSettings,
        environment: { ...gitlabSettings.environment, externalUrl: gitlabSettings.environment.externalUrl ?? s.url },
    });
}

function registryArgs(s: DeliverySettings, gitlab: GitlabProjectSettings | undefined): RegistryArgs {
    return {
        server: s.registry.server,
        repository: s.registry.repository,
        insecure: s.registry.insecure,
        pushCredentials: s.registry.username !== undefined ? pulumi.secret({ username: s.registry.username, password: s.registry.password ?? "" }) : undefined,
        pullCredentials: gitlab?.pullCredentials,
    };
}

/** What a target is made from, whichever it is. */
interface TargetSources {
    readonly s: DeliverySettings;
    readonly registry: Registry;
    readonly release: Release;
    readonly commitSha: string;
    readonly secretEnv: pulumi.Output<Record<string, string>>;
}

/** What either target is told about the app and the release. */
function releaseTargetArgs({ s, release, commitSha }: TargetSources): ReleaseTargetArgs {
    return {
        appName: s.appName,
        stack: s.stack,
        image: release.imageRef,
        releaseId: release.releaseId,
        commitSha,
        env: s.env,
        verifyCommand: s.commands.verifyCommand,
        releaseCommand: s.commands.releaseCommand,
        commandTimeoutSeconds: s.commands.timeoutSeconds,
    };
}

function dockerTargetArgs(t: DockerTargetSettings, from: TargetSources): DockerHostTargetArgs {
    const { s, registry, secretEnv } = from;
    return {
        ...releaseTargetArgs(from),
        secretEnv,
        dockerHost: t.host,
        containerPort: s.containerPort,
        hostPort: t.hostPort,
        bindAddress: t.bindAddress,
        healthPath: s.healthPath,
        healthTimeoutSeconds: t.healthTimeoutSeconds,
        swap: t.swap,
        drainSeconds: t.drainSeconds,
        watchSeconds: t.watchSeconds,
        proxyImage: t.proxyImage,
        proxyHost: t.proxyHost,
        registryServer: registry.server,
        pullCredentials: registry.pullCredentials,
    };
}

/** The heroku target: the app, its API key (secret), and where the image is copied from. */
function herokuTargetArgs(t: HerokuTargetSettings, from: TargetSources): HerokuTargetArgs {
    const { s, registry, secretEnv } = from;
    return {
        ...releaseTargetArgs(from),
        secretEnv,
        app: t.app,
        healthPath: s.healthPath,
        apiKey: pulumi.secret(t.apiKey),
        apiUrl: t.apiUrl,
        registry: t.registry,
        registryInsecure: t.registryInsecure,
        sourceInsecure: registry.insecure,
        sourceCredentials: registry.pullCredentials,
    };
}

function kubernetesTargetArgs(t: KubernetesTargetSettings, from: TargetSources): KubernetesTargetArgs {
    const { s, registry, release, secretEnv } = from;
    return {
        ...releaseTargetArgs(from),
        namespace: t.namespace,
        // None: no data in the config Secret (see KubernetesTargetArgs.secretEnv).
        secretEnv: Object.keys(s.secretEnv).length > 0 ? secretEnv : undefined,
        configHash: release.configHash,
        replicas: t.replicas,
        containerPort: s.containerPort,
        healthPath: s.healthPath,
        resources: t.resources,
        dockerConfigJson: registry.dockerConfigJson,
        registryInsecure: registry.insecure,
        // With gitlab:enabled the pull secret holds the stack's deploy token instead.
        pullCredentialsFix: `pulumi config set delivery:registryUsername <user> --stack ${s.stack}; pulumi config set --secret delivery:registryPassword <password> --stack ${s.stack} (with gitlab:enabled: the stack's read_registry deploy token)`,
        rolloutTimeoutSeconds: t.rolloutTimeoutSeconds,
        podLabels: t.podLabels,
        nodeSelector: t.nodeSelector,
        ingressHost: t.ingressHost,
        ingressClassName: t.ingressClassName,
        url: s.url,
        kubeconfig: t.kubeconfig,
    };
}

/**
 * A failure the user fixes from its message alone. RunError prints just the message; the
 * stack is dropped too, because @pulumi/pulumi's run.js also formats the error with
 * util.inspect({ colors: true }), and Node 22's inspect loops on a source-mapped frame such as
 * `node_modules/@pulumi/resource.ts:1687:22` until "Invalid string length" (~20 s of CPU here;
 * Node 24.21 does not). Measured: a bad-config preview took 27.7 s with the stack.
 */
export function userError(message: string): pulumi.RunError {
    const error = new pulumi.RunError(message);
    error.stack = undefined;
    return error;
}

/** Both settings namespaces are checked before anything is registered; all problems are reported together. */
function settingsOrFail(): { s: DeliverySettings; gitlabSettings: GitlabSettings | undefined } {
    const problems: string[] = [];
    const attempt = <T>(read: () => T): T | undefined => {
        try {
            return read();
        } catch (e) {
            if (e instanceof ConfigError || e instanceof GitlabConfigError) {
                problems.push(e.message);
                return undefined;
            }
            throw e;
        }
    };
    const s = attempt(loadSettings);
    const gitlabSettings = attempt(() => readGitlabSettings(pulumi.getStack()));
    if (problems.length > 0 || s === undefined) {
        throw userError(problems.join("\n"));
    }
    return { s, gitlabSettings };
}

async function upstreamOrFail(s: DeliverySettings): Promise<PromotedRelease | undefined> {
    if (s.source.kind !== "promote") {
        return undefined;
    }
    try {
        return await readUpstreamRelease(s.source.fromStack, s.source.version, {
            soakSeconds: s.soakSeconds,
            override: s.promoteUnverified,
            now: Date.now(),
            promotingStack: s.stack,
        });
    } catch (e) {
        if (e instanceof UnknownStackError) {
            throw userError(new ConfigError(s.stack, [unknownUpstreamProblem(s.stack, s.source.fromStack, e)]).message);
        }
        throw userError(`delivery:promoteFrom: cannot promote from "${s.source.fromStack}": ${(e as Error).message}; nothing was changed`);
    }
}

/** The image a release names: a build's digest (known after the build), or a promoted or pinned one (known now). */
interface ReleaseSource {
    readonly imageRef: pulumi.Input<string>;
    readonly commitSha: string;
    readonly origin: string;
    readonly rollbackOf?: number;
    /** For a promotion: the promotion gate's decision, recorded in the ledger entry. */
    readonly gate?: PromotedRelease["gate"];
    /** Registry tags written on the digest before the release's own (a promotion's git tag). */
    readonly tags?: RegistryTag[];
}

function buildOrPromote(s: DeliverySettings, registry: Registry, upstream: PromotedRelease | undefined): ReleaseSource {
    if (s.source.kind === "build") {
        const image = new AppImage("app", appImageArgs(s, registry));
        return { imageRef: image.ref, commitSha: s.commitSha, origin: origins.build };
    }
    const release: PromotedRelease =
        s.source.kind === "pin"
            ? { imageRef: s.source.ref, commitSha: s.source.commitSha, origin: origins.pin }
            : s.source.kind === "rollback"
              ? { imageRef: s.source.ref, commitSha: s.source.commitSha, origin: origins.rollback(s.source.of) }
              : upstream!;
    const promotion = new Promotion("promotion", { release, registry, tag: s.promotionTag, tagMutable: s.promotionTagMutable });
    return {
        imageRef: promotion.imageRef,
        commitSha: promotion.commitSha,
        origin: release.origin,
        ...(s.source.kind === "rollback" ? { rollbackOf: s.source.of } : {}),
        ...(release.gate !== undefined ? { gate: release.gate } : {}),
        tags: promotion.tags,
    };
}

function appImageArgs(s: DeliverySettings, registry: Registry): AppImageArgs {
    return {
        context: s.build.context,
        dockerfile: s.build.dockerfile,
        repositoryUrl: registry.repositoryUrl,
        registryServer: registry.server,
        credentials: registry.pushCredentials,
        insecure: registry.insecure,
        commitSha: s.commitSha,
        refName: s.refName,
        baseImage: s.build.baseImage,
        platform: s.build.platform,
    };
}

/** `delivery:promoteFrom` names a stack the backend does not have: which one, which exist, and the fix. */
export function unknownUpstreamProblem(stack: string, fromStack: string, e: UnknownStackError): string {
    const others = (e.stacks ?? []).filter((name) => name !== stack);
    const existing =
        e.stacks === undefined
            ? `the backend's stacks could not be listed (${e.listError})`
            : others.length > 0
              ? `the stacks there are: ${others.join(", ")}`
              : "it has no other stack of this project yet; deploy the upstream stack first";
    return (
        `delivery:promoteFrom: names stack "${e.qualified}", which does not exist in this backend (PULUMI_BACKEND_URL); ${existing} (got "${fromStack}"). ` +
        `Fix: ${fixCommand(stack, "promoteFrom", others[0])}`
    );
}
