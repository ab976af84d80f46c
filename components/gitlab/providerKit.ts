import * as pulumi from "@pulumi/pulumi";
import type { ArgsOf as InputsAsArgs } from "../dynamicArgs";
import { createGitlabClient, errorStatus, type GitlabClient, gitlabApiError, isGitlabApiError, normalizeGitlabUrl } from "./client";

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

/**
 * A GitLab dynamic resource's args, from its inputs by the one derivation all dynamic resources
 * use (components/dynamicArgs.ts), so that the docs live once (on the inputs): the connection, the
 * `Required` inputs, and the others optional (the provider's check supplies their defaults).
 */
export type ArgsOf<I extends ConnectionInputs, Required extends keyof I = never> = ConnectionArgs &
    InputsAsArgs<Pick<I, Required>> &
    Partial<InputsAsArgs<Omit<I, keyof ConnectionInputs | Required>>>;

/** Outputs as a resource class shows them (merged into the class as an interface: no field shadows the engine's). */
export type OutputsOf<T> = { readonly [K in keyof T]: pulumi.Output<T[K]> };

/**
 * What a GitLab dynamic resource registers: its args with the token made a secret, and the
 * outputs only the provider sets (`outputs`, and the project as GitLab resolved it) as undefined,
 * so that the engine knows of them before create.
 */
export function resourceProps<A extends ConnectionArgs>(args: A, outputs: readonly string[] = []): Record<string, unknown> {
    const unset = Object.fromEntries([...outputs, "projectId", "projectPath"].map((k) => [k, undefined]));
    return Object.assign({} as Record<string, unknown>, args, { gitlabToken: pulumi.secret(args.gitlabToken) }, unset);
}

/**
 * The project as GitLab resolved it when the resource was created (`GET /projects/:id`): stored in
 * the outputs so that naming the same project by id or by path is no change.
 */
export interface ProjectRef {
    readonly projectId: number;
    readonly projectPath: string;
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
    return isGitlabApiError(e) ? e.status === 404 : (e as { status?: number } | undefined)?.status === 404 || errorStatus(e) === 404;
}

/**
 * `GET /projects/:id`: the project's numeric id and full path. GitLab answers 404 "Project Not
 * Found" both for a project that does not exist and for one the token's user cannot see; either
 * way this throws a message naming the settings to check (never the token).
 */
export async function resolveProject(gl: GitlabClient, project: string, consequence = ""): Promise<ProjectRef> {
    try {
        const json = (await gl.call(`look up project ${project}`, (api) => api.Projects.show(project))) as unknown as {
            id: number;
            path_with_namespace: string;
        };
        return { projectId: json.id, projectPath: json.path_with_namespace };
    } catch (e) {
        if (isNotFound(e)) {
            throw gitlabApiError(
                `GitLab: project ${project} is not visible to the token (GET /api/v4/projects/${encodeURIComponent(project)} answered 404 Project Not Found)${consequence}. ` +
                    `Check ${gl.hints.project}, and ${gl.hints.token}: the token must not be expired or revoked, needs the api scope, ` +
                    "and its user must be a member of the project with the Maintainer role. If the project itself was deleted, remove its resources from the state with pulumi state delete <urn>.",
                404,
                "404 Project Not Found",
                1,
            );
        }
        throw e;
    }
}

/**
 * For a read: the stored project reference, or, for state written before it was stored, the one
 * GitLab gives now (one `GET /projects/:id`), so a refresh stores it.
 */
export async function storedOrResolvedRef(gl: GitlabClient, props: Partial<ProjectRef> | undefined, project: string): Promise<Partial<ProjectRef>> {
    const stored = projectRefOf(props);
    return stored.projectId !== undefined ? stored : resolveProject(gl, project);
}

/** The stored project reference, if the state has one. */
export function projectRefOf(props: Partial<ProjectRef> | undefined): Partial<ProjectRef> {
    return typeof props?.projectId === "number" ? { projectId: props.projectId, projectPath: props.projectPath ?? "" } : {};
}

/**
 * Runs a provider's read; a 404 becomes the empty id that tells the engine the object is gone,
 * but only when the project itself is visible (one `GET /projects/:id`): a token that lost access
 * sees 404 for everything, and dropping the resources from the state would orphan live objects.
 */
export async function readOrGone<T>(
    gl: GitlabClient,
    project: string,
    what: string,
    read: () => Promise<T>,
): Promise<T | { id: string; props: Record<string, never> }> {
    try {
        return await read();
    } catch (e) {
        if (isNotFound(e)) {
            await resolveProject(gl, project, `, so whether ${what} still exists cannot be told; the state keeps it`);
            return { id: "", props: {} };
        }
        throw e;
    }
}

/** Runs a provider's delete; an object already gone (404) counts as deleted when the project is visible. */
export async function ignoreNotFound(gl: GitlabClient, project: string, what: string, remove: () => Promise<unknown>): Promise<void> {
    try {
        await remove();
    } catch (e) {
        if (!isNotFound(e)) {
            throw e;
        }
        await resolveProject(gl, project, `, so ${what} cannot be removed and may still exist; nothing was deleted and the state keeps it`);
    }
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

/**
 * The start of every create: refuse what check would have reported (every reason), then resolve
 * the project; its numeric id (`project`) is what the API is called with and what the id holds.
 */
export async function beginCreate(inputs: ConnectionInputs, reasons: readonly string[]): Promise<{ gl: GitlabClient; ref: ProjectRef; project: string }> {
    throwIfProblems(reasons);
    const gl = clientFor(inputs);
    const ref = await resolveProject(gl, inputs.project);
    return { gl, ref, project: String(ref.projectId) };
}

/** A provider's diff answer: the object is never deleted before its replacement exists. */
export function diffResult(replaces: string[], updates: string[]): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
    return { changes: replaces.length + updates.length > 0, replaces, deleteBeforeReplace: false };
}

/** Whether `v` is the engine's marker for a value not known during preview (the SDK's constant, as the other providers use). */
export function isUnknown(v: unknown): boolean {
    return v === pulumi.runtime.unknownValue;
}

/**
 * Fields whose change means a different GitLab object (another instance, another project):
 * those replace; a rotated token alone is stored by an update that makes no API call. The
 * project is compared by GitLab's numeric id: `1234` and `group/app` naming the same project is
 * no change (the stored id and path decide; GitLab is asked only when they cannot).
 */
export async function connectionReplaces(olds: Partial<ConnectionInputs & ProjectRef>, news: Partial<ConnectionInputs>): Promise<string[]> {
    const replaces: string[] = [];
    if (normalizeGitlabUrl(olds.gitlabUrl ?? "") !== normalizeGitlabUrl(news.gitlabUrl ?? "")) {
        replaces.push("gitlabUrl");
        if (String(olds.project ?? "") !== String(news.project ?? "")) replaces.push("project");
        return replaces;
    }
    if (!(await sameProject(olds, news))) {
        replaces.push("project");
    }
    return replaces;
}

async function sameProject(olds: Partial<ConnectionInputs & ProjectRef>, news: Partial<ConnectionInputs>): Promise<boolean> {
    const a = String(olds.project ?? "");
    const b = String(news.project ?? "");
    if (a === b) return true;
    if (isUnknown(news.project) || isUnknown(news.gitlabToken) || b === "") return false;
    const known = (s: string): number | undefined => {
        if (/^[0-9]+$/.test(s)) return Number(s);
        if (typeof olds.projectId === "number" && olds.projectPath && s.toLowerCase() === olds.projectPath.toLowerCase()) return olds.projectId;
        if (typeof olds.projectId === "number" && s === a) return olds.projectId;
        return undefined;
    };
    const oldId = typeof olds.projectId === "number" ? olds.projectId : known(a);
    const newId = known(b);
    if (oldId !== undefined && newId !== undefined) return oldId === newId;
    const gl = clientFor(news);
    let oldResolved = oldId;
    if (oldResolved === undefined) {
        try {
            oldResolved = (await resolveProject(gl, a)).projectId;
        } catch {
            // The old project is not visible to the new token: it cannot be the same one.
            return false;
        }
    }
    const newResolved = newId ?? (await resolveProject(gl, b)).projectId;
    return oldResolved === newResolved;
}

/** Which of `keys` differ between old and new properties (deep, order-sensitive for arrays). */
/**
 * A provider's diff by keys: a changed connection (another instance or project) or a changed
 * `replaceKeys` field replaces the object; a changed `updateKeys` field updates it in place.
 */
export async function diffByKeys<T extends object>(
    olds: Partial<T & ConnectionInputs & ProjectRef>,
    news: Partial<T & ConnectionInputs>,
    replaceKeys: readonly (keyof T)[],
    updateKeys: readonly (keyof T)[],
): Promise<ReturnType<typeof diffResult>> {
    const replaces = [...(await connectionReplaces(olds, news)), ...changedKeys<T>(olds as Partial<T>, news as Partial<T>, replaceKeys)];
    return diffResult(replaces, changedKeys<T>(olds as Partial<T>, news as Partial<T>, updateKeys));
}

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

/**
 * The project to call the API with for a stored resource: the numeric id when the state has it
 * (or the id's project part), so a project renamed or moved in GitLab is still found.
 */
export function apiProject(idProject: string, props: Partial<ProjectRef> | undefined): string {
    return typeof props?.projectId === "number" ? String(props.projectId) : idProject;
}

/** An update that makes no API call: the old state with the new connection (a rotated token). */
export function connectionOnlyUpdate<T extends object>(olds: T, news: Partial<ConnectionInputs>): { outs: T & ConnectionInputs } {
    return { outs: { ...olds, ...connectionOf(news), ...projectRefOf(olds as Partial<ProjectRef>) } };
}
