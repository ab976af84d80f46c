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
 * A resource's options with the token, and `extra` outputs (before it), added to those the
 * caller asked to keep secret.
 */
export function withSecretOutputs(opts: pulumi.CustomResourceOptions | undefined, ...extra: string[]): pulumi.CustomResourceOptions {
    return { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), ...extra, ...CONNECTION_SECRET_OUTPUTS] };
}

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

/** An input the provider's check refuses, as the engine reports it. */
export interface Failure {
    readonly property: string;
    readonly reason: string;
}

/** For create and update: refuses inputs that check would have reported, with every reason. */
export function throwIfProblems(reasons: readonly string[]): void {
    if (reasons.length > 0) {
        throw new Error(reasons.join("; "));
    }
}

/** A provider's diff answer: the object is never deleted before its replacement exists. */
export function diffResult(replaces: string[], updates: string[]): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
    return { changes: replaces.length + updates.length > 0, replaces, deleteBeforeReplace: false };
}

/** Runs a provider's read; a 404 (deleted outside Pulumi) becomes the empty id that tells the engine it is gone. */
export async function readOrGone<T>(read: () => Promise<T>): Promise<T | { id: string; props: Record<string, never> }> {
    try {
        return await read();
    } catch (e) {
        if (isNotFound(e)) {
            return { id: "", props: {} };
        }
        throw e;
    }
}

/** Runs a provider's delete; an object already gone (404) counts as deleted. */
export async function ignoreNotFound(remove: () => Promise<unknown>): Promise<void> {
    try {
        await remove();
    } catch (e) {
        if (!isNotFound(e)) {
            throw e;
        }
    }
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

/** An update that makes no API call: the old state with the new connection (a rotated token). */
export function connectionOnlyUpdate<T extends object>(olds: T, news: Partial<ConnectionInputs>): { outs: T & ConnectionInputs } {
    return { outs: { ...olds, ...connectionOf(news) } };
}
