import type { Gitlab as GitlabClass } from "@gitbeaker/rest";

/**
 * A small factory around `@gitbeaker/rest` with bounded retries for server errors and error
 * messages that say which call failed and how to fix the common causes.
 *
 * The dynamic providers serialize these functions into the stack's state and run them again in
 * the provider process, so nothing here may capture module-level values other than constants and
 * other functions of this module; gitbeaker is `require`d inside the function for that reason.
 */

export type GitlabApi = InstanceType<typeof GitlabClass>;

/** Where and as whom to call GitLab. The token never appears in an error message. */
export interface GitlabConnection {
    /** Base URL of the GitLab instance, e.g. `https://gitlab.example.com` (a trailing `/api/v4` is tolerated). */
    readonly url: string;
    /** A personal, project or group access token with the `api` scope and the Maintainer role. */
    readonly token: string;
}

export interface RetryPolicy {
    /** Total attempts, the first one included. */
    readonly attempts: number;
    /** Delay before the first retry; doubled each time, with jitter. */
    readonly baseDelayMs: number;
    readonly maxDelayMs: number;
}

/** Four attempts spaced 0.25 s, 0.5 s, 1 s: long enough to ride out a GitLab deploy's 502s, short enough for a preview. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 250, maxDelayMs: 4000 };

export interface GitlabClient {
    readonly api: GitlabApi;
    readonly baseUrl: string;
    /**
     * Runs one API call, retrying 5xx responses and network errors under the retry policy, and
     * turns any failure into a `GitlabApiError` whose message starts with `what`.
     */
    call<T>(what: string, fn: (api: GitlabApi) => Promise<T>): Promise<T>;
}

/** A failed GitLab call. `status` is undefined when no HTTP response came back at all. */
export class GitlabApiError extends Error {
    constructor(
        message: string,
        readonly status: number | undefined,
        readonly body: string | undefined,
        readonly attempts: number,
    ) {
        super(message);
        this.name = "GitlabApiError";
    }
}

/** `https://gitlab.example.com/` and `https://gitlab.example.com/api/v4` both mean the same instance. */
export function normalizeGitlabUrl(url: string): string {
    return url
        .trim()
        .replace(/\/+$/, "")
        .replace(/\/api\/v4$/, "");
}

export function createGitlabClient(connection: GitlabConnection, retry: RetryPolicy = DEFAULT_RETRY): GitlabClient {
    const { Gitlab } = require("@gitbeaker/rest") as typeof import("@gitbeaker/rest");
    const baseUrl = normalizeGitlabUrl(connection.url);
    if (!/^https?:\/\/[^\s/]+/.test(baseUrl)) {
        throw new Error(`GitLab URL ${JSON.stringify(connection.url)} is not an http(s) URL such as https://gitlab.example.com`);
    }
    if (!connection.token) {
        throw new Error("GitLab token is empty: set gitlab:token (pulumi config set --secret gitlab:token <token>) or GITLAB_TOKEN");
    }
    const api = new Gitlab({ host: baseUrl, token: connection.token, queryTimeout: 30_000 }) as GitlabApi;
    return {
        api,
        baseUrl,
        call: <T>(what: string, fn: (api: GitlabApi) => Promise<T>) => callWithRetry(api, what, fn, retry),
    };
}

/** The HTTP status of a gitbeaker error, or undefined for network-level failures. */
export function errorStatus(e: unknown): number | undefined {
    const cause = (e as { cause?: { response?: { status?: unknown } } } | undefined)?.cause;
    const status = cause?.response?.status;
    if (typeof status === "number") {
        return status;
    }
    // gitbeaker retries 429 and 502 by itself and then throws this, with the status only in its message.
    const err = e as Error | undefined;
    const m = err?.name === "GitbeakerRetryError" ? /last status code: ([0-9]{3})/.exec(err.message) : null;
    return m ? Number(m[1]) : undefined;
}

/**
 * Whether trying again can help: server errors (5xx, including the 502/429 that gitbeaker already
 * retried on its own and gave up on) and failures to get any response. 4xx answers never change
 * on a retry.
 */
export function isRetryable(e: unknown): boolean {
    const status = errorStatus(e);
    if (status !== undefined) {
        return status >= 500 || status === 429;
    }
    const name = (e as Error | undefined)?.name ?? "";
    if (name === "GitbeakerRetryError" || name === "GitbeakerTimeoutError") {
        return true;
    }
    const code = (e as { cause?: { code?: string } } | undefined)?.cause?.code ?? (e as { code?: string } | undefined)?.code ?? "";
    return name === "TypeError" || /^(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN|UND_ERR_)/.test(code);
}

export async function callWithRetry<T>(api: GitlabApi, what: string, fn: (api: GitlabApi) => Promise<T>, retry: RetryPolicy = DEFAULT_RETRY): Promise<T> {
    const attempts = Math.max(1, Math.floor(retry.attempts));
    let last: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
        try {
            return await fn(api);
        } catch (e) {
            last = e;
            if (attempt === attempts || !isRetryable(e)) {
                throw describeGitlabError(what, e, attempt);
            }
            const delay = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
            await new Promise((resolve) => setTimeout(resolve, delay / 2 + Math.random() * (delay / 2)));
        }
    }
    throw describeGitlabError(what, last, attempts);
}

/**
 * `GitLab: <what> failed: HTTP 400 Bad Request from POST /api/v4/projects/1/variables: {...}`,
 * plus a hint for the statuses that have one obvious cause. Request headers (the token) are never
 * included; the response body is GitLab's error message, which never echoes a variable's value.
 */
export function describeGitlabError(what: string, e: unknown, attempts: number): GitlabApiError {
    const status = errorStatus(e);
    const cause = (e as { cause?: { description?: unknown; request?: { method?: string; url?: string }; response?: { statusText?: string } } } | undefined)?.cause;
    let where = "";
    if (cause?.request?.url) {
        try {
            const u = new URL(cause.request.url);
            where = ` from ${cause.request.method ?? "GET"} ${u.pathname}`;
        } catch {
            where = "";
        }
    }
    const description = typeof cause?.description === "string" ? cause.description : (e as Error | undefined)?.message ?? String(e);
    const tries = attempts > 1 ? ` (after ${attempts} attempts)` : "";
    let hint = "";
    if (status === 401) {
        hint = " Hint: the token is missing, expired or revoked; set gitlab:token (pulumi config set --secret gitlab:token <token>) or GITLAB_TOKEN.";
    } else if (status === 403) {
        hint = " Hint: the token needs the api scope and the Maintainer role on the project (protected environments also need GitLab Premium).";
    } else if (status === 404 && /Project Not Found/i.test(description)) {
        hint = " Hint: check gitlab:project (a numeric id or the full path such as group/app) and that the token's user can see the project.";
    } else if (status === undefined) {
        hint = " Hint: GitLab did not answer; check gitlab:url and the network.";
    }
    const head = status !== undefined ? `HTTP ${status}${cause?.response?.statusText ? " " + cause.response.statusText : ""}${where}: ` : "";
    return new GitlabApiError(`GitLab: ${what} failed: ${head}${description}${tries}.${hint}`, status, description, attempts);
}
