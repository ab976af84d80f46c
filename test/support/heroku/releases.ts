import { HerokuHttpError } from "./http";
import { type DoubleApp, type DoubleRelease } from "./model";

/**
 * [releases] "Release Info", GET /apps/{app_id_or_name}/releases/{release_id_or_version}, and
 * "Release List", GET /apps/{app_id_or_name}/releases: `id`, `version`, `status` ("current status
 * of the release": the double uses pending, succeeded and failed), `description`, `current`,
 * `output_stream_url` ("Release command output will be available from this URL as a stream. The
 * stream is available as either `text/plain` or `text/event-stream`"; null without a release command).
 * [ranges] Platform API reference, "Ranges": lists are sorted and paged by the `Range` header,
 * e.g. `Range: version ..; max=10, order=desc`; the default is `id ..` ascending with max 200;
 * a partial list answers 206 with `Next-Range`.
 */
export function releaseEntity(app: DoubleApp, r: DoubleRelease): unknown {
    const current = app.releases.filter((x) => x.status === "succeeded").at(-1) === r;
    return {
        id: r.id,
        version: r.version,
        status: r.status,
        description: r.description,
        current,
        output_stream_url: r.output_stream_url,
        created_at: r.created_at,
        updated_at: r.updated_at,
        app: { id: app.id, name: app.name },
    };
}

/** One Release Info read: a pending release moves on once its reads are spent (the release phase ran). */
export function readRelease(app: DoubleApp, idOrVersion: string): DoubleRelease {
    const r = app.releases.find((x) => x.id === idOrVersion || String(x.version) === idOrVersion);
    if (!r) {
        throw new HerokuHttpError(404, "not_found", "Couldn't find that release.");
    }
    if (r.status === "pending") {
        if (r.pendingReads <= 0) {
            r.status = r.outcome;
            r.updated_at = new Date().toISOString();
        } else {
            r.pendingReads--;
        }
    }
    return r;
}

export function listReleases(app: DoubleApp, range: string | undefined): { status: number; items: DoubleRelease[]; headers: Record<string, string> } {
    const m = /^\s*(id|version)\s*(?:([^.;\s]*)\s*)?\.\.\s*(?:[^;]*)?(?:;\s*(.*))?$/.exec(range ?? "id ..");
    if (!m) {
        throw new HerokuHttpError(400, "bad_request", "Invalid Range header.");
    }
    const field = m[1] as "id" | "version";
    const opts = Object.fromEntries(
        (m[3] ?? "")
            .split(",")
            .map((kv) => kv.trim().split("=") as [string, string])
            .filter(([k]) => k),
    );
    const max = Math.min(1000, Number(opts.max ?? 200));
    const sorted = [...app.releases].sort((a, b) => (field === "version" ? a.version - b.version : a.id.localeCompare(b.id)));
    if (opts.order === "desc") {
        sorted.reverse();
    }
    const items = sorted.slice(0, max);
    const partial = sorted.length > max;
    return { status: partial ? 206 : 200, items, headers: partial ? { "next-range": `]${String(items.at(-1)![field])}..; max=${max}` } : {} };
}
