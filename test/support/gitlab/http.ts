import { type GitlabDouble } from "./server";

import type * as http from "node:http";

export class HttpError extends Error {
    constructor(
        readonly status: number,
        readonly body: unknown,
    ) {
        super(typeof body === "string" ? body : JSON.stringify(body));
    }
}

/** [grape] A record that is not there (ActiveRecord::RecordNotFound): 404 {"message": "404 Not found"}. */
export function found<T>(record: T | undefined): T {
    if (record === undefined) {
        throw new HttpError(404, { message: "404 Not found" });
    }
    return record;
}

export type Params = Record<string, unknown>;

/** What a proxy (nginx, a load balancer) sends for a 502: an HTML page, not GitLab's JSON. */
export const BAD_GATEWAY_PAGE =
    "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n<center><h1>502 Bad Gateway</h1></center>\n<hr><center>nginx</center>\n" +
    "<!-- a padding to the error page to disable friendly error page in MSIE -->\n".repeat(6) +
    "</body>\n</html>\n";

export function ok(body: unknown) {
    return { status: 200, body };
}

export function bool(p: Params, key: string, label = key): boolean {
    const v = p[key];
    if (v === true || v === "true" || v === "1" || v === 1 || v === "t" || v === "yes") return true;
    if (v === false || v === "false" || v === "0" || v === 0 || v === "f" || v === "no") return false;
    throw new HttpError(400, { error: `${label} is invalid` });
}

export function int(p: Params, key: string, label = key): number {
    const v = p[key];
    const n = typeof v === "number" ? v : typeof v === "string" && /^-?[0-9]+$/.test(v) ? Number(v) : NaN;
    if (!Number.isInteger(n)) {
        throw new HttpError(400, { error: `${label} is invalid` });
    }
    return n;
}

export function oneOf(p: Params, key: string, values: string[]): string {
    const v = String(p[key]);
    if (!values.includes(v)) {
        throw new HttpError(400, { error: `${key} does not have a valid value` });
    }
    return v;
}

export async function readBody(req: http.IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
        chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString("utf8");
}

export function parseBody(contentType: string | undefined, body: string): Params {
    if (body === "") {
        return {};
    }
    if ((contentType ?? "").includes("application/json")) {
        try {
            const parsed = JSON.parse(body) as unknown;
            return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Params) : {};
        } catch {
            throw new HttpError(400, { error: "The provided content-type 'application/json' is not supported." });
        }
    }
    return parseQuery(body);
}

/** Rack-style nested params: `filter[environment_scope]=x`, `scopes[]=a&scopes[]=b`. */
export function parseQuery(query: string): Params {
    const out: Params = {};
    for (const [rawKey, value] of new URLSearchParams(query)) {
        const keys = rawKey.replace(/\]/g, "").split("[");
        let node: Params = out;
        for (let i = 0; i < keys.length; i++) {
            const k = keys[i];
            if (i === keys.length - 1) {
                node[k] = value;
                break;
            }
            if (keys[i + 1] === "") {
                // `a[]=x`: an array of scalars (nested arrays of hashes are not used by these endpoints).
                node[k] = Array.isArray(node[k]) ? node[k] : [];
                (node[k] as unknown[]).push(value);
                break;
            }
            node[k] = node[k] && typeof node[k] === "object" ? node[k] : {};
            node = node[k] as Params;
        }
    }
    return out;
}

/**
 * [rest] Offset pagination: `page` (default 1), `per_page` (default 20, max 100); headers
 * x-page, x-per-page, x-next-page, x-prev-page, x-total, x-total-pages, and a Link header with
 * rel prev/next/first/last built from the request's own URL.
 */
export function paginate(
    d: GitlabDouble,
    items: unknown[],
    params: Params,
    path: string,
    query: string,
): { status: number; body: unknown; headers: Record<string, string> } {
    const page = Math.max(1, params.page === undefined ? 1 : int(params, "page"));
    const perPage = Math.min(100, Math.max(1, params.per_page === undefined ? 20 : int(params, "per_page")));
    const total = items.length;
    const totalPages = Math.max(1, Math.ceil(total / perPage));
    const body = items.slice((page - 1) * perPage, page * perPage);
    const link = (p: number) => {
        const sp = new URLSearchParams(query);
        sp.set("page", String(p));
        sp.set("per_page", String(perPage));
        return `${d.url}${path}?${sp.toString()}`;
    };
    const links: string[] = [];
    if (page > 1) links.push(`<${link(page - 1)}>; rel="prev"`);
    if (page < totalPages) links.push(`<${link(page + 1)}>; rel="next"`);
    links.push(`<${link(1)}>; rel="first"`, `<${link(totalPages)}>; rel="last"`);
    return {
        status: 200,
        body,
        headers: {
            link: links.join(", "),
            "x-page": String(page),
            "x-per-page": String(perPage),
            "x-next-page": page < totalPages ? String(page + 1) : "",
            "x-prev-page": page > 1 ? String(page - 1) : "",
            "x-total": String(total),
            "x-total-pages": String(totalPages),
        },
    };
}
