/**
 * A small client of Heroku's Platform API, for the heroku target's dynamic providers (which
 * serialize it into the state with them: it requires nothing at module level).
 *
 * What it follows, from the Platform API reference (devcenter.heroku.com/articles/platform-api-reference):
 * - every request sends `Accept: application/vnd.heroku+json; version=3` ("Clients must specify
 *   the version they want"), `Authorization: Bearer <API key>` and JSON bodies;
 * - a failing response has a JSON body `{id, message}` (e.g. `unauthorized`, `not_found`,
 *   `invalid_params`, `rate_limit`); the error names the method, path, status, id and message;
 * - rate limits: each account has a pool of request tokens refilled at about 75 a minute (4,500 an
 *   hour); with none left "further calls will return 429 Too Many Requests until more tokens become
 *   available", and the request is not processed. So a 429 is retried after a wait (a
 *   `Retry-After` header if one is sent, else 1 s, 2 s, 4 s, 8 s, 16 s: a refill of a token takes
 *   under a second), at most five times, then fails naming the limit; nothing else is retried.
 */

export interface HerokuConnection {
    /** Platform API base URL, no trailing `/`. @example "https://api.heroku.com" */
    readonly apiUrl: string;
    /** Secret. */
    readonly apiKey: string;
}

export const HEROKU_ACCEPT = "application/vnd.heroku+json; version=3";

/** Retries of one request answered 429, and the first wait (doubling). */
export const RATE_LIMIT_RETRIES = 5;
const FIRST_WAIT_MS = 1000;

/** A Platform API failure as a plain Error (a subclass loses its message through closure serialization). */
export function herokuError(method: string, path: string, status: number, body: unknown): Error {
    const b = (body && typeof body === "object" ? body : {}) as { id?: string; message?: string };
    const text = typeof body === "string" ? body.slice(0, 300) : (b.message ?? JSON.stringify(body)).slice(0, 500);
    const error = new Error(`Heroku Platform API ${method} ${path}: HTTP ${status}${b.id ? ` ${b.id}` : ""}: ${text}`);
    (error as Error & { status?: number; herokuId?: string }).status = status;
    (error as Error & { status?: number; herokuId?: string }).herokuId = b.id;
    return error;
}

/** One request; the parsed JSON answer of a 2xx. Throws herokuError otherwise. */
export async function herokuRequest<T>(
    conn: HerokuConnection,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
    sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<T> {
    for (let attempt = 0; ; attempt++) {
        const res = await fetch(`${conn.apiUrl}${path}`, {
            method,
            headers: {
                accept: HEROKU_ACCEPT,
                authorization: `Bearer ${conn.apiKey}`,
                ...(body !== undefined ? { "content-type": "application/json" } : {}),
                ...headers,
            },
            body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await res.text();
        let parsed: unknown = text;
        try {
            parsed = text === "" ? undefined : JSON.parse(text);
        } catch {
            parsed = text;
        }
        if (res.ok) {
            return parsed as T;
        }
        if (res.status === 429 && attempt < RATE_LIMIT_RETRIES) {
            const retryAfter = Number(res.headers.get("retry-after"));
            await sleep(
                Number.isFinite(retryAfter) && retryAfter >= 0 && res.headers.has("retry-after")
                    ? Math.min(retryAfter, 60) * 1000
                    : FIRST_WAIT_MS * 2 ** attempt,
            );
            continue;
        }
        throw herokuError(method, path, res.status, parsed);
    }
}

export interface HerokuRelease {
    readonly id: string;
    readonly version: number;
    readonly status: "pending" | "succeeded" | "failed" | string;
    readonly description?: string;
    readonly output_stream_url?: string | null;
    readonly current?: boolean;
}

/**
 * The app's newest release ("Release List" with `Range: version ..; max=1, order=desc`: the
 * list is sorted by the Range header's field, `id` or `version`).
 */
export async function newestRelease(conn: HerokuConnection, app: string): Promise<HerokuRelease | undefined> {
    const list = await herokuRequest<HerokuRelease[]>(conn, "GET", `/apps/${encodeURIComponent(app)}/releases`, undefined, {
        range: "version ..; max=1, order=desc",
    });
    return list[0];
}

/** Lines of a release's output stream (its release phase), the last `count` of them. */
export async function outputTail(url: string | null | undefined, count = 20): Promise<string[]> {
    if (!url) {
        return [];
    }
    try {
        const res = await fetch(url, { signal: AbortSignal.timeout(15_000) });
        const lines = (await res.text()).split(/\r?\n/).filter((l) => l.trim() !== "");
        return lines.slice(-count);
    } catch (e) {
        return [`(the output stream could not be read: ${(e as Error).message})`];
    }
}

/** The first Release Info read after a release is made; the waits double from there up to followRelease's pollMs. */
const FIRST_POLL_MS = 250;

/**
 * Follows a release ("Release Info", GET /apps/{app}/releases/{id}) until its status is no longer
 * `pending`: returns it when `succeeded`; when `failed`, throws with the last lines of its
 * `output_stream_url` (the release phase's output). It reads 250 ms after, then 500 ms, then every
 * `pollMs`: a release without a release phase is done within the first second, which a fixed
 * 1 s wait made cost a second per release (each read is one GET, far under the rate limit).
 */
export async function followRelease(
    conn: HerokuConnection,
    app: string,
    release: HerokuRelease,
    timeoutSeconds: number,
    pollMs = 1000,
): Promise<HerokuRelease> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    let current = release;
    let wait = Math.min(FIRST_POLL_MS, pollMs);
    while (current.status === "pending") {
        if (Date.now() > deadline) {
            throw new Error(`Heroku release v${current.version} of ${app} is still pending after ${timeoutSeconds} s`);
        }
        await new Promise((r) => setTimeout(r, wait));
        wait = Math.min(wait * 2, pollMs);
        current = await herokuRequest<HerokuRelease>(conn, "GET", `/apps/${encodeURIComponent(app)}/releases/${encodeURIComponent(current.id)}`);
    }
    if (current.status !== "succeeded") {
        const tail = await outputTail(current.output_stream_url);
        throw new Error(
            `Heroku release v${current.version} of ${app} ${current.status} (${current.description ?? "no description"})` +
                (tail.length > 0 ? `; last lines of its output:\n${tail.map((l) => `  ${l}`).join("\n")}` : "; it has no output stream"),
        );
    }
    return current;
}
