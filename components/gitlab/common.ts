import * as pulumi from "@pulumi/pulumi";
import { createGitlabClient, type GitlabClient, GitlabApiError } from "./client";

/**
 * What every GitLab dynamic resource takes as inputs, so that the connection is part of the
 * resource's state (the token as a secret) rather than captured in the serialized provider:
 * a changed URL or rotated token then reaches every later create/update/delete.
 */
export interface ConnectionInputs {
    /** Base URL of the GitLab instance, e.g. `https://gitlab.example.com`. */
    readonly gitlabUrl: string;
    /** API token; stored in state only as a secret. */
    readonly gitlabToken: string;
    /** Numeric project id or full path (`group/app`). */
    readonly project: string;
}

/** The same, as resource args. */
export interface ConnectionArgs {
    readonly gitlabUrl: pulumi.Input<string>;
    readonly gitlabToken: pulumi.Input<string>;
    readonly project: pulumi.Input<string>;
}

/** Output properties that must be encrypted in state whatever the engine infers. */
export const CONNECTION_SECRET_OUTPUTS = ["gitlabToken"];

/**
 * The client for a resource's stored properties. `pulumi import` and `pulumi refresh` of a
 * resource whose state lacks the connection (imported by id alone) fall back to GITLAB_URL and
 * GITLAB_TOKEN.
 */
export function clientFor(props: Partial<ConnectionInputs>): GitlabClient {
    const url = props.gitlabUrl || process.env.GITLAB_URL || process.env.CI_SERVER_URL;
    const token = props.gitlabToken || process.env.GITLAB_TOKEN;
    if (!url) {
        throw new Error("GitLab URL unknown: the resource has no gitlabUrl input and GITLAB_URL is unset");
    }
    if (!token) {
        throw new Error("GitLab token unknown: the resource has no gitlabToken input and GITLAB_TOKEN is unset");
    }
    return createGitlabClient({ url, token });
}

export function isNotFound(e: unknown): boolean {
    return e instanceof GitlabApiError ? e.status === 404 : (e as { status?: number } | undefined)?.status === 404;
}

/** The engine's marker for a value that is not known during preview. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export function isUnknown(v: unknown): boolean {
    return v === UNKNOWN;
}

/**
 * Fields whose change means a different GitLab object (another instance, another project):
 * those replace; a rotated token alone is stored by an update that makes no API call.
 */
export function connectionReplaces(olds: Partial<ConnectionInputs>, news: Partial<ConnectionInputs>): string[] {
    const replaces: string[] = [];
    if (normalizeUrl(olds.gitlabUrl) !== normalizeUrl(news.gitlabUrl)) {
        replaces.push("gitlabUrl");
    }
    if (String(olds.project ?? "") !== String(news.project ?? "")) {
        replaces.push("project");
    }
    return replaces;
}

function normalizeUrl(url: string | undefined): string {
    return (url ?? "")
        .trim()
        .replace(/\/+$/, "")
        .replace(/\/api\/v4$/, "");
}

/** Which of `keys` differ between old and new properties (deep, order-sensitive for arrays). */
export function changedKeys<T extends object>(olds: Partial<T>, news: Partial<T>, keys: readonly (keyof T)[]): string[] {
    return keys.filter((k) => JSON.stringify(olds[k] ?? null) !== JSON.stringify(news[k] ?? null)).map(String);
}

/** `project:rest`: the project part is an id or a path; neither contains `:`. */
export function splitId(id: string, parts: number, what: string): string[] {
    const segments = id.split(":");
    if (segments.length < parts || segments.slice(0, parts).some((s, i) => s === "" && i < parts - 1)) {
        throw new Error(`"${id}" is not a valid ${what} id`);
    }
    return [...segments.slice(0, parts - 1), segments.slice(parts - 1).join(":")];
}

/** Only the connection fields, to copy into outputs. */
export function connectionOf(props: Partial<ConnectionInputs>): ConnectionInputs {
    return { gitlabUrl: props.gitlabUrl ?? "", gitlabToken: props.gitlabToken ?? "", project: String(props.project ?? "") };
}
