import * as pulumi from "@pulumi/pulumi";
import { RegistryCredentials } from "../registry/registry";
import { ReleaseVerification } from "../release/verification";
import { VerificationResult } from "../release/verificationResult";
import { DEFAULT_COMMAND_TIMEOUT_SECONDS, ReleaseTargetArgs } from "../targets/targetArgs";
import { HerokuConfigVars } from "./herokuConfigVars";
import { HerokuRelease } from "./herokuRelease";

/**
 * The heroku target: one Heroku app per stack runs the release's image, by digest, as its `web`
 * process, with the stack's settings and RELEASE_ID as config vars. Production runs exactly the
 * digest staging ran: the image is copied between the apps' registry repositories byte for byte,
 * never rebuilt (Heroku's own pipeline promotion does not work for container apps).
 *
 * The config vars are set first (their own Heroku release when they change), then the image is
 * released (another one when it changes). Heroku sets PORT; the program does not.
 *
 * Once that release succeeded, the release is verified as on the docker target, by the same
 * ReleaseVerification: `GET <web_url><healthPath>` answers 200 and `GET <web_url>/` names this
 * release's id (Heroku routes the app's web_url to its web dyno, which listens on $PORT:
 * devcenter.heroku.com/articles/container-registry-and-runtime, "Dockerfile commands and
 * runtime"). No verify command: a one-off dyno is not modelled (config.ts refuses verifyCommand
 * with this target). The result is `verification`; a failed one fails the update (program.ts).
 */
export interface HerokuTargetArgs extends ReleaseTargetArgs {
    /** Secret settings, as config vars. */
    readonly secretEnv: pulumi.Input<Readonly<Record<string, string>>>;
    /** The stack's app. @example "my-app-staging" */
    readonly app: string;
    /** Secret. */
    readonly apiKey: pulumi.Input<string>;
    /** @default "https://api.heroku.com" */
    readonly apiUrl?: string;
    /** @default "registry.heroku.com" */
    readonly registry?: string;
    /** @default false */
    readonly registryInsecure?: boolean;
    /** Plain HTTP to the stack's own registry the image is copied from. @default false */
    readonly sourceInsecure?: boolean;
    /** Secret; reads the image from the stack's registry. @default undefined (anonymous) */
    readonly sourceCredentials?: pulumi.Input<RegistryCredentials | undefined>;
    /** How long a Heroku release may stay pending. @default 600 */
    readonly releaseTimeoutSeconds?: number;
    /** The path the verification's health check reads from the app's web_url. @default "/healthz" (delivery:healthPath's default) */
    readonly healthPath?: string;
}

export const HEROKU_PROCESS_TYPE = "web";
const DEFAULT_HEALTH_PATH = "/healthz";

export class HerokuTarget extends pulumi.ComponentResource {
    /** The app's `web_url`. */
    readonly url: pulumi.Output<string>;
    readonly digest: pulumi.Output<string>;
    /**
     * Heroku's own number for the release that runs the image (`heroku releases -a <app>` lists
     * it as `v<N>`, "Deployed web (<image id>)"), beside the ledger's: the two lists compare by it.
     */
    readonly platformRelease: pulumi.Output<{ app: string; version: string; imageId: string }>;
    /** The recorded verification of the release (health and release-id checks against `url`). */
    readonly verification: pulumi.Output<VerificationResult>;

    constructor(name: string, args: HerokuTargetArgs, opts?: pulumi.ComponentResourceOptions) {
        super("delivery:heroku:HerokuTarget", name, {}, opts);
        const apiUrl = args.apiUrl ?? "https://api.heroku.com";
        const apiKey = pulumi.secret(args.apiKey);
        const releaseTimeoutSeconds = args.releaseTimeoutSeconds ?? 600;
        const vars = configVarsOf(args);
        const configVars = new HerokuConfigVars(
            `${name}-config-vars`,
            { apiUrl, apiKey, app: args.app, vars, secretVars: pulumi.output(args.secretEnv).apply((s) => ({ ...s })), releaseTimeoutSeconds },
            { parent: this },
        );
        const creds = pulumi.output(args.sourceCredentials);
        const release = new HerokuRelease(
            `${name}-release`,
            {
                apiUrl,
                apiKey,
                app: args.app,
                processType: HEROKU_PROCESS_TYPE,
                registry: args.registry ?? "registry.heroku.com",
                registryInsecure: args.registryInsecure ?? false,
                imageRef: args.image,
                sourceInsecure: args.sourceInsecure ?? false,
                sourceUsername: creds.apply((c) => c?.username),
                sourcePassword: pulumi.secret(creds.apply((c) => c?.password)),
                releaseTimeoutSeconds,
            },
            { parent: this, dependsOn: [configVars] },
        );
        this.url = release.webUrl;
        this.digest = release.digest;
        this.platformRelease = pulumi
            .all([release.releaseVersion, release.imageId])
            .apply(([version, imageId]) => ({ app: args.app, version: `v${version}`, imageId }));
        const verification = new ReleaseVerification(
            `${name}-verification`,
            {
                releaseId: args.releaseId,
                image: args.image,
                url: release.webUrl,
                healthPath: args.healthPath ?? DEFAULT_HEALTH_PATH,
                env: { ...args.env },
                // Only the verify command would use them, and none runs here: the secrets stay out of this record.
                secretEnv: {},
                timeoutSeconds: args.commandTimeoutSeconds ?? DEFAULT_COMMAND_TIMEOUT_SECONDS,
            },
            { parent: this, dependsOn: [release] },
        );
        this.verification = verification.result;
        this.registerOutputs({ url: this.url, digest: this.digest, verification: this.verification, platformRelease: this.platformRelease });
    }
}

/** The plain config vars: the settings and RELEASE_ID (never PORT: Heroku sets it). */
function configVarsOf(args: HerokuTargetArgs): pulumi.Output<Record<string, string>> {
    return pulumi.output(args.releaseId).apply((id): Record<string, string> => ({ ...args.env, RELEASE_ID: id }));
}
