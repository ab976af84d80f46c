import type { Gitlab as GitlabClass } from "@gitbeaker/rest";
import { HTTP_URL_PATTERN } from "../patterns";

/**
 * A small factory around `@gitbeaker/rest` with ONE retry policy and error messages that say
 * which call failed, where, and how to fix the common causes.
 *
 * gitbeaker's own requester retries 429 and 502 ten times within a quarter of a second and
 * ignores `Retry-After`; the client replaces it (`requesterFn`) with one that sends each request
 * exactly once, so `callWithRetry` is the only place that decides whether and when to try again.
 *
 * The dynamic providers serialize these functions into the stack's state and run them again in
 * the provider process, so nothing here may capture module-level values other than constants and
 * other functions of this module (and the constant patterns of components/patterns.ts); gitbeaker is `require`d inside the functions for that reason,
 * and the retry policy is read from the environment when a client is made, never at load time.
 */

export type GitlabApi = InstanceType<typeof GitlabClass>;

/** Where and as whom to call GitLab. The token never appears in an error message. */
export interface GitlabConnection {
    /** Base URL of the GitLab instance, e.g. `https://gitlab.example.com` (a trailing `/api/v4` is tolerated). */
    readonly url: string;
    /** A personal, project or group access token with the `api` scope and the Maintainer role. */
    readonly token: string;
}

/** The settings an error hint names: each caller names what it reads. */
export interface GitlabHints {
    readonly token: string;
    readonly project: string;
    readonly url: string;
}

/** For the stack's resources (the `gitlab:` config). */
export const STACK_HINTS: GitlabHints = {
    token: "gitlab:token (pulumi config set --secret gitlab:token <token>) or GITLAB_TOKEN",
    project: "gitlab:project (a numeric id or the full path such as group/app)",
    url: "gitlab:url",
};

export interface RetryPolicy {
    /** Total attempts, the first one included. */
    readonly attempts: number;
    /** Backoff for server errors and lost connections: doubled each retry, with jitter (half to all of it). */
    readonly baseDelayMs: number;
    /** The longest single wait; a longer `Retry-After` gives up at once. */
    readonly maxDelayMs: number;
    /** All waits of one call together. */
    readonly budgetMs: number;
    /** For tests: how to wait. */
    readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Six attempts; server errors back off 0.5, 1, 2, 4, 8 s (jittered); a 429 waits what
 * `Retry-After` says, up to 60 s a wait; at most 120 s of waiting in all for one call.
 */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 500, maxDelayMs: 60_000, budgetMs: 120_000 };

/**
 * The default policy with the overrides in `DELIVERY_GITLAB_RETRY` (`attempts=3,baseDelayMs=10,
 * maxDelayMs=5000,budgetMs=20000`; any subset), which tests use to shorten the backoff.
 */
export function retryPolicyFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): RetryPolicy {
    const raw = (env.DELIVERY_GITLAB_RETRY ?? "").trim();
    const policy: Record<string, number> = { ...(DEFAULT_RETRY as unknown as Record<string, number>) };
    if (raw === "") {
        return policy as unknown as RetryPolicy;
    }
    for (const part of raw.split(",")) {
        const m = /^\s*(attempts|baseDelayMs|maxDelayMs|budgetMs)\s*=\s*([0-9]+)\s*$/.exec(part);
        if (!m || (m[1] === "attempts" && Number(m[2]) < 1)) {
            throw new Error(
                `DELIVERY_GITLAB_RETRY ${JSON.stringify(raw)} is not valid: use name=value pairs separated by commas, names attempts (>= 1), baseDelayMs, maxDelayMs, budgetMs, values whole numbers`,
            );
        }
        policy[m[1]] = Number(m[2]);
    }
    return policy as unknown as RetryPolicy;
}

/** How one call may be repeated. */
export interface CallOptions<T> {
    /**
     * For a call that creates something (POST): after an answer that may have come after GitLab
     * saved it (5xx, a lost connection, a timeout), find what the call made. A value is taken as
     * the call's result; undefined means it was not made, and the call is sent again.
     */
    readonly recover?: (api: GitlabApi) => Promise<T | undefined>;
    /** The POST may be repeated as it is (stopping an environment). */
    readonly idempotent?: boolean;
}

export interface GitlabClient {
    readonly api: GitlabApi;
    readonly baseUrl: string;
    readonly hints: GitlabHints;
    /**
     * Runs one API call under the retry policy and turns any failure into a `GitlabApiError`
     * whose message starts with `what`.
     */
    call<T>(what: string, fn: (api: GitlabApi) => Promise<T>, options?: CallOptions<T>): Promise<T>;
}

/** A failed GitLab call. `status` is undefined when no HTTP response came back at all. */
export interface GitlabApiError extends Error {
    readonly name: "GitlabApiError";
    readonly status: number | undefined;
    readonly body: string | undefined;
    readonly attempts: number;
}

/**
 * A plain `Error` with the call's details, made by a function rather than a subclass: closure
 * serialization turns `class … extends Error` into a function whose `super(message)` does not
 * reach the instance, so the provider process reported every failure as "Unknown Error".
 */
export function gitlabApiError(message: string, status: number | undefined, body: string | undefined, attempts: number): GitlabApiError {
    return Object.assign(new Error(message), { name: "GitlabApiError" as const, status, body, attempts });
}

export function isGitlabApiError(e: unknown): e is GitlabApiError {
    return e instanceof Error && e.name === "GitlabApiError";
}

/** `https://gitlab.example.com/` and `https://gitlab.example.com/api/v4` both mean the same instance. */
export function normalizeGitlabUrl(url: string): string {
    return url
        .trim()
        .replace(/\/+$/, "")
        .replace(/\/api\/v4$/, "");
}

export function createGitlabClient(connection: GitlabConnection, options: { retry?: RetryPolicy; hints?: GitlabHints } = {}): GitlabClient {
    const { Gitlab } = require("@gitbeaker/rest") as typeof import("@gitbeaker/rest");
    const hints = options.hints ?? STACK_HINTS;
    const retry = options.retry ?? retryPolicyFromEnv(process.env);
    const baseUrl = normalizeGitlabUrl(connection.url);
    if (!HTTP_URL_PATTERN.test(baseUrl)) {
        throw new Error(`GitLab URL ${JSON.stringify(connection.url)} is not an http(s) URL such as https://gitlab.example.com (check ${hints.url})`);
    }
    if (!connection.token) {
        throw new Error(`GitLab token is empty: set ${hints.token}`);
    }
    const api = new Gitlab({ host: baseUrl, token: connection.token, queryTimeout: 30_000, requesterFn: singleAttemptRequesterFn() } as never) as GitlabApi;
    return {
        api,
        baseUrl,
        hints,
        call: <T>(what: string, fn: (api: GitlabApi) => Promise<T>, callOptions?: CallOptions<T>) => callWithRetry(api, what, fn, retry, callOptions, hints),
    };
}

/**
 * gitbeaker's requester without its retries: each request is sent once; an error answer throws
 * the same `GitbeakerRequestError` shape (with the response, so its headers can be read), a
 * request that got no answer throws a `GitlabNetworkError` with the request and the error code.
 */
export function singleAttemptRequesterFn(): unknown {
    const utilsPath = require.resolve("@gitbeaker/requester-utils", { paths: [require.resolve("@gitbeaker/rest")] });
    const utils = require(utilsPath) as {
        createRequesterFn: (
            o: (s: unknown, r: unknown) => Promise<unknown>,
            h: (endpoint: string, options: Record<string, unknown>) => Promise<unknown>,
        ) => unknown;
        getMatchingRateLimiter: (endpoint: string, limiters: unknown, method: unknown) => () => Promise<unknown>;
    };
    return utils.createRequesterFn(
        (_service, requestOptions) => Promise.resolve(requestOptions),
        async (endpoint, options) => {
            const { rateLimiters, agent, asStream, prefixUrl, searchParams, method, ...rest } = options ?? {};
            const rateLimit = utils.getMatchingRateLimiter(endpoint, rateLimiters, method);
            const prefix = typeof prefixUrl === "string" && prefixUrl !== "" ? (prefixUrl.endsWith("/") ? prefixUrl : `${prefixUrl}/`) : undefined;
            const url = new URL(endpoint, prefix);
            url.search = typeof searchParams === "string" ? searchParams : "";
            const request = new Request(url, { ...(rest as RequestInit), method: String(method ?? "GET") });
            await rateLimit();
            let response: Response;
            try {
                response = await fetch(request, agent ? ({ dispatcher: agent } as RequestInit) : undefined);
            } catch (e) {
                const err = e as Error & { code?: string; cause?: { code?: string; message?: string } };
                const timeout = err.name === "TimeoutError" || err.name === "AbortError";
                const code = timeout ? "ETIMEDOUT" : (err.cause?.code ?? err.code ?? "");
                const description = timeout ? "no answer within the query timeout" : `${err.message}${err.cause?.message ? ` (${err.cause.message})` : ""}`;
                throw Object.assign(new Error(description), { name: "GitlabNetworkError", code, cause: { description, request, code } });
            }
            const headers = Object.fromEntries(response.headers.entries());
            if (response.ok) {
                if (asStream) {
                    return { body: response.body, headers, status: response.status };
                }
                const type = (response.headers.get("content-type") ?? "").split(";")[0].trim();
                let body: unknown = null;
                if (response.status !== 204) {
                    if (type === "application/json") {
                        const text = await response.text();
                        body = text === "" ? {} : (JSON.parse(text) as unknown) || {};
                    } else if (type.startsWith("text/")) {
                        body = await response.text();
                    } else {
                        body = await response.blob();
                    }
                }
                return { body, headers, status: response.status };
            }
            const content = await response.text();
            let description = content;
            if ((response.headers.get("content-type") ?? "").includes("application/json")) {
                try {
                    const parsed = JSON.parse(content) as { error?: unknown; message?: unknown } | null;
                    const c = parsed?.error || parsed?.message || "";
                    description = typeof c === "string" ? c : JSON.stringify(c);
                } catch {
                    description = content;
                }
            }
            throw Object.assign(new Error(description), { name: "GitbeakerRequestError", cause: { description, request, response } });
        },
    );
}

/** The HTTP status of a gitbeaker error, or undefined for network-level failures. */
export function errorStatus(e: unknown): number | undefined {
    const cause = (e as { cause?: { response?: { status?: unknown } } } | undefined)?.cause;
    const status = cause?.response?.status;
    if (typeof status === "number") {
        return status;
    }
    // gitbeaker's own requester (not used by createGitlabClient) reports its give-up this way.
    const err = e as Error | undefined;
    const m = err?.name === "GitbeakerRetryError" ? /last status code: ([0-9]{3})/.exec(err.message) : null;
    return m ? Number(m[1]) : undefined;
}

function networkCode(e: unknown): string {
    const err = e as { code?: unknown; cause?: { code?: unknown } } | undefined;
    return String(err?.cause?.code ?? err?.code ?? "");
}

/**
 * Whether trying again can help: server errors (5xx), rate limits (429) and failures to get any
 * response. Other 4xx answers never change on a retry.
 */
export function isRetryable(e: unknown): boolean {
    if (isGitlabApiError(e)) {
        return false;
    }
    const status = errorStatus(e);
    if (status !== undefined) {
        return status >= 500 || status === 429;
    }
    const name = (e as Error | undefined)?.name ?? "";
    if (name === "GitbeakerRetryError" || name === "GitbeakerTimeoutError" || name === "GitlabNetworkError") {
        return true;
    }
    return name === "TypeError" || /^(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN|UND_ERR_)/.test(networkCode(e));
}

/**
 * Whether GitLab may have applied a failed request: it answered 5xx (a proxy's 502 can come
 * after GitLab committed), or the connection was lost after the request went out. A 429 was
 * refused before it was processed; a refused connection or an unknown host never reached GitLab.
 */
export function outcomeUnknown(e: unknown): boolean {
    const status = errorStatus(e);
    if (status !== undefined) {
        return status >= 500;
    }
    return !/^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN)$/.test(networkCode(e));
}

/** `Retry-After` as milliseconds from `now`: delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
    const v = (value ?? "").trim();
    if (v === "") {
        return undefined;
    }
    if (/^[0-9]+$/.test(v)) {
        return Number(v) * 1000;
    }
    if (!/[A-Za-z]/.test(v)) {
        return undefined;
    }
    const at = Date.parse(v);
    return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function retryAfterOf(e: unknown): string | undefined {
    const headers = (e as { cause?: { response?: { headers?: unknown } } } | undefined)?.cause?.response?.headers;
    if (headers && typeof (headers as Headers).get === "function") {
        return (headers as Headers).get("retry-after") ?? undefined;
    }
    const plain = headers as Record<string, string> | undefined;
    return plain?.["retry-after"] ?? plain?.["Retry-After"];
}

function requestMethod(e: unknown): string {
    return String((e as { cause?: { request?: { method?: string } } } | undefined)?.cause?.request?.method ?? "GET").toUpperCase();
}

function seconds(ms: number): string {
    return `${Math.round(ms / 100) / 10}`;
}

export async function callWithRetry<T>(
    api: GitlabApi,
    what: string,
    fn: (api: GitlabApi) => Promise<T>,
    retry: RetryPolicy = DEFAULT_RETRY,
    options: CallOptions<T> = {},
    hints: GitlabHints = STACK_HINTS,
): Promise<T> {
    const attempts = Math.max(1, Math.floor(retry.attempts));
    const sleep = retry.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    let waited = 0;
    let lookUp = false;
    for (let attempt = 1; ; attempt++) {
        try {
            if (lookUp && options.recover) {
                const found = await options.recover(api);
                if (found !== undefined) {
                    return found;
                }
                lookUp = false;
            }
            return await fn(api);
        } catch (e) {
            if (isGitlabApiError(e)) {
                throw e;
            }
            if (!isRetryable(e)) {
                throw describeGitlabError(what, e, attempt, attempt > 1 ? `attempt ${attempt}` : undefined, hints);
            }
            const unsafe = ["POST", "PATCH"].includes(requestMethod(e)) && !options.idempotent && outcomeUnknown(e);
            if (unsafe && !options.recover) {
                throw describeGitlabError(what, e, attempt, `attempt ${attempt}; not repeated: GitLab may have saved it, check before running again`, hints);
            }
            const header = retryAfterOf(e);
            const asked = parseRetryAfter(header, Date.now());
            let wait: number;
            if (asked !== undefined) {
                if (asked > retry.maxDelayMs) {
                    throw describeGitlabError(
                        what,
                        e,
                        attempt,
                        `gave up after attempt ${attempt}: GitLab asked to wait ${seconds(asked)} s (Retry-After), more than the ${seconds(retry.maxDelayMs)} s limit per wait`,
                        hints,
                    );
                }
                wait = asked;
            } else {
                const full = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
                wait = Math.round(full / 2 + Math.random() * (full / 2));
            }
            if (attempt >= attempts) {
                throw describeGitlabError(what, e, attempt, `gave up after attempt ${attempt}`, hints);
            }
            if (waited + wait > retry.budgetMs) {
                throw describeGitlabError(
                    what,
                    e,
                    attempt,
                    `gave up after attempt ${attempt}: waiting ${seconds(wait)} s more would exceed the ${seconds(retry.budgetMs)} s budget`,
                    hints,
                );
            }
            await sleep(wait);
            waited += wait;
            if (unsafe) {
                lookUp = true;
            }
        }
    }
}

/** One line of at most 200 characters: an HTML page (a proxy's error) becomes its title or text. */
export function bodyExcerpt(body: string): string {
    let text = body;
    if (/<[a-zA-Z!/][^>]*>/.test(text)) {
        const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(text)?.[1];
        text = title ?? text.replace(/<!--[\s\S]*?-->/g, " ").replace(/<[^>]*>/g, " ");
    }
    text = text.replace(/\s+/g, " ").trim();
    return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

/**
 * `GitLab: <what> failed: HTTP 400 Bad Request from POST /api/v4/projects/1/variables: {...}`,
 * with `(note)` after the request (the attempt count, why it gave up) and a hint for the
 * statuses that have one obvious cause. Request headers (the token) are never included; the
 * response body is GitLab's error message, which never echoes a variable's value, cut short.
 */
export function describeGitlabError(what: string, e: unknown, attempts: number, note?: string, hints: GitlabHints = STACK_HINTS): GitlabApiError {
    const status = errorStatus(e);
    const cause = (e as { cause?: { description?: unknown; request?: { method?: string; url?: string }; response?: { statusText?: string } } } | undefined)
        ?.cause;
    let where = "";
    if (cause?.request?.url) {
        try {
            const u = new URL(cause.request.url);
            where = `${cause.request.method ?? "GET"} ${u.pathname}`;
        } catch {
            where = "";
        }
    }
    const description = bodyExcerpt(typeof cause?.description === "string" ? cause.description : ((e as Error | undefined)?.message ?? String(e)));
    const said = note ?? (attempts > 1 ? `after ${attempts} attempts` : undefined);
    let hint = "";
    if (status === 401) {
        hint = ` Hint: the token is missing, expired or revoked; set ${hints.token}.`;
    } else if (status === 403) {
        hint = " Hint: the token needs the api scope and the Maintainer role on the project (protected environments also need GitLab Premium).";
    } else if (status === 404 && /Project Not Found/i.test(description)) {
        hint = ` Hint: check ${hints.project}, and that the user of the token (${hints.token}) can see the project.`;
    } else if (status === 429) {
        hint = " Hint: GitLab is rate limiting this token or address; wait, or ask the GitLab administrator about the limits.";
    } else if (status === undefined) {
        hint = ` Hint: GitLab did not answer; check ${hints.url} and the network.`;
    }
    const head =
        status !== undefined ? `HTTP ${status}${cause?.response?.statusText ? " " + cause.response.statusText : ""}${where ? ` from ${where}` : ""}` : where;
    const message = head
        ? `GitLab: ${what} failed: ${head}${said ? ` (${said})` : ""}: ${description}.${hint}`
        : `GitLab: ${what} failed: ${description}${said ? ` (${said})` : ""}.${hint}`;
    return gitlabApiError(message.replace(/\.\.(\s|$)/g, ".$1"), status, description, attempts);
}
