import * as pulumi from "@pulumi/pulumi";

/** A TCP port a target listens on or publishes: 0 would mean "any", which no URL can name. */
export const PORT_RANGE = { min: 1, max: 65535 } as const;

/** How long a release command or verify command may run (delivery:verifyTimeoutSeconds), in seconds: its bounds and default. */
export const COMMAND_TIMEOUT_RANGE = { min: 5, max: 3600 } as const;
export const DEFAULT_COMMAND_TIMEOUT_SECONDS = 120;

/** What every target is given about the app and the release it runs. */
export interface ReleaseTargetArgs {
    /** The app's name: containers, Deployment, Service and the name label; a DNS label. @example "app" */
    readonly appName: string;
    /** The stack the target runs for; part of names and of the instance label. @example "staging" */
    readonly stack: string;
    /** Digest-pinned image ref of the release. @example "127.0.0.1:5000/delivery/app@sha256:…" */
    readonly image: pulumi.Input<string>;
    /** The release's id: the app's `RELEASE_ID`, so that a new release replaces what runs. @example "r-0123456789ab" */
    readonly releaseId: pulumi.Input<string>;
    /** The commit the image was built from: the version label. */
    readonly commitSha: pulumi.Input<string>;
    /** Plain settings, as environment variables (visible in diffs). @default {} when there are none */
    readonly env: Readonly<Record<string, string>>;
    /** Run from the release's image, with its config, after it serves; a non-zero exit marks it failed. @default undefined */
    readonly verifyCommand?: string;
    /** Run once from the new image with the new config before it takes traffic (a migration). @default undefined */
    readonly releaseCommand?: string;
    /** How long each of those commands may run. @default DEFAULT_COMMAND_TIMEOUT_SECONDS (120) */
    readonly commandTimeoutSeconds?: number;
}
