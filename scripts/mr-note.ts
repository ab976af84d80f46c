/**
 * Posts the output of `pulumi preview --diff` as ONE note on the merge request of the running
 * pipeline, and edits that same note on later pipelines (found by a hidden per-stack marker), so
 * an MR shows the current preview instead of a growing pile of them. Only a note written by the
 * token's own user is edited; a marker note by another author (an older bot) is left alone and
 * the new note says it supersedes it.
 *
 * Usage: scripts/mr-note --stack <stack> [--file <preview.txt>] [--summary <summary.md>] [--artifact <path>]
 *   --file      the `pulumi preview --diff` output (default: read stdin)
 *   --summary   the release summary `delivery preview --summary-out` wrote: the note starts with it,
 *               and it is never cut (cli/releaseSummary.ts)
 *   --artifact  the preview's path in the job's artifacts, linked when the preview is cut
 *
 * Environment (GitLab sets the CI_* ones in merge request pipelines):
 *   CI_API_V4_URL, CI_PROJECT_ID, CI_MERGE_REQUEST_IID   required
 *   GITLAB_TOKEN (or MR_NOTE_TOKEN)    a token with the api scope that may comment (CI_JOB_TOKEN cannot)
 *   CI_JOB_URL, CI_PIPELINE_URL, CI_COMMIT_SHORT_SHA   optional, linked from the note
 *   MR_NOTE_MASK_VARIABLES   names of further variables whose values must never appear in the note
 *   MR_NOTE_MAX_CHARS        how much of the preview to include (default 60000; the summary is always kept,
 *                            and the preview is cut further when the note would pass GitLab's 1,000,000)
 */
import { existsSync, readFileSync } from "node:fs";
import { GITLAB_NOTE_LIMIT, composeNote, cutAtLine, fenceFor } from "../cli/releaseSummary";
import { createGitlabClient, type GitlabHints } from "../components/gitlab/client";

/**
 * How much of the preview a note shows by default (MR_NOTE_MAX_CHARS): GitLab's note limit is
 * 1,000,000 characters (cli/releaseSummary.ts), and a note that long is unreadable anyway. The
 * release summary is never counted or cut.
 */
export const DEFAULT_MAX_CHARS = 60_000;
export const MASK = "[MASKED]";

/** Variables whose values are secrets wherever this runs, whatever they are called in a project. */
const KNOWN_SECRET_VARIABLES = [
    "GITLAB_TOKEN",
    "MR_NOTE_TOKEN",
    "CI_JOB_TOKEN",
    "CI_BUILD_TOKEN",
    "CI_REGISTRY_PASSWORD",
    "CI_DEPENDENCY_PROXY_PASSWORD",
    "CI_DEPLOY_PASSWORD",
    "CI_JOB_JWT",
    "CI_JOB_JWT_V2",
    "PULUMI_CONFIG_PASSPHRASE",
    "PULUMI_ACCESS_TOKEN",
    "DOCKER_AUTH_CONFIG",
];
/** Names that look like secrets: masked CI variables usually carry one of these words. */
const SECRET_NAME = /(TOKEN|PASSWORD|PASSWD|SECRET|PASSPHRASE|PRIVATE_KEY|API_KEY|ACCESS_KEY|CREDENTIAL)/i;

export function markerFor(stack: string): string {
    return `<!-- delivery:preview:${stack} -->`;
}

/**
 * The values to mask: every variable named in MR_NOTE_MASK_VARIABLES (comma or space separated),
 * the well-known secret variables, and any variable whose name looks like a secret. Values shorter
 * than 8 characters are skipped unless named explicitly (GitLab itself cannot mask those, and
 * replacing every short word like `true` would wreck the diff). Multi-line values (keys, certs)
 * are also masked line by line.
 */
export function secretsFromEnv(env: Readonly<Record<string, string | undefined>>): string[] {
    const explicit = (env.MR_NOTE_MASK_VARIABLES ?? "").split(/[\s,]+/).filter(Boolean);
    const values = new Set<string>();
    const add = (value: string | undefined, min: number) => {
        if (!value) return;
        if (value.length >= min) values.add(value);
        for (const line of value.split(/\r?\n/)) {
            if (line.trim().length >= Math.max(min, 16)) values.add(line.trim());
        }
    };
    for (const name of explicit) add(env[name], 4);
    for (const name of KNOWN_SECRET_VARIABLES) add(env[name], 8);
    for (const [name, value] of Object.entries(env)) {
        if (SECRET_NAME.test(name)) add(value, 8);
    }
    return [...values];
}

/** Replaces every occurrence of every secret, longest first so a secret inside another goes too. */
export function maskSecrets(text: string, secrets: readonly string[]): string {
    let out = text;
    for (const secret of [...secrets].filter((s) => s.length > 0).sort((a, b) => b.length - a.length)) {
        out = out.split(secret).join(MASK);
    }
    return out;
}

/** Pulumi colours its output unless told not to; escape codes are noise in Markdown. */
export function stripAnsi(text: string): string {
    return text.replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, "").replace(/\r(?!\n)/g, "");
}

/** The `Resources:` summary pulumi prints last, as one line (`+ 2 to create, 4 unchanged`). */
export function resourceSummary(preview: string): string | undefined {
    const lines = preview.split(/\r?\n/);
    const at = lines.findIndex((l) => /^Resources:\s*$/.test(l.trim()));
    if (at < 0) return undefined;
    const items: string[] = [];
    // Pulumi prints a handful of counts and a blank line; a few lines at most, so the head of the
    // note (which is never cut) stays small whatever follows.
    for (const line of lines.slice(at + 1, at + 13)) {
        if (line.trim() === "") break;
        items.push(line.trim().slice(0, 200));
    }
    return items.length > 0 ? items.join(", ") : undefined;
}

export { fenceFor };

/** Cuts at a line boundary so that at most `max` characters remain. */
export function cut(text: string, max: number): { text: string; cut: boolean } {
    return cutAtLine(text, max);
}

/** Room kept free under GitLab's limit for the line a new note gets when it supersedes others (upsertNote). */
export const SUPERSEDES_HEADROOM = 4_000;

export interface NoteInput {
    readonly stack: string;
    readonly preview: string;
    readonly secrets: readonly string[];
    /** The release summary (`delivery preview --summary-out`): put first and never cut. */
    readonly summary?: string;
    /** How much of the preview to include (MR_NOTE_MAX_CHARS); the summary does not count. */
    readonly maxChars?: number;
    /** GitLab's note limit (tests make it small). */
    readonly noteLimit?: number;
    readonly jobUrl?: string;
    readonly pipelineUrl?: string;
    readonly commit?: string;
    /** The preview's path in the job's artifacts (`preview-staging.txt`): the cut notice links it. */
    readonly artifact?: string;
}

/** Where the full preview is when the note holds only part of it: the job artifact and the job log. */
export function fullPreviewAt(input: Pick<NoteInput, "jobUrl" | "artifact">): string {
    const log = input.jobUrl ? `[job log](${input.jobUrl})` : "job log";
    if (!input.artifact) {
        return `the ${log}`;
    }
    const file = input.artifact.replace(/^\.?\//, "");
    const artifact = input.jobUrl ? `[\`${file}\`](${input.jobUrl}/artifacts/file/${file.split("/").map(encodeURIComponent).join("/")})` : `\`${file}\``;
    return `the job artifact ${artifact} and the ${log}`;
}

/**
 * The whole note body: marker, title, the release summary (kept whole), the resource counts, then
 * the (masked) preview, cut to MR_NOTE_MAX_CHARS and to what GitLab's note limit leaves, with
 * where the rest is.
 */
export function buildNoteBody(input: NoteInput): string {
    const max = input.maxChars ?? DEFAULT_MAX_CHARS;
    // Mask before cutting: a cut through a secret would leave a prefix of it unmasked.
    const clean = maskSecrets(stripAnsi(input.preview), input.secrets).replace(/\s+$/, "");
    const summaryText = input.summary === undefined ? undefined : maskSecrets(stripAnsi(input.summary), input.secrets).replace(/\s+$/, "");
    const resources = resourceSummary(clean);
    const where = [input.commit ? `commit \`${input.commit}\`` : undefined, input.pipelineUrl ? `[pipeline](${input.pipelineUrl})` : undefined]
        .filter(Boolean)
        .join(", ");
    const head = [
        markerFor(input.stack),
        summaryText !== undefined ? `#### Release preview for stack \`${input.stack}\`` : `#### \`pulumi preview\` for stack \`${input.stack}\``,
        "",
        ...(summaryText !== undefined ? [summaryText, ""] : []),
        resources ? `**Resources:** ${resources}` : "_No resource summary found in the output._",
        "",
        `<details><summary>${summaryText !== undefined ? "`pulumi preview --diff`" : "Diff"}${where ? ` (${where})` : ""}</summary>`,
        "",
    ].join("\n");
    const { body } = composeNote({
        head,
        previewOpen: "{fence}diff",
        previewClose: "{fence}\n\n</details>",
        tail: "\n<sub>Updated in place by `scripts/mr-note` on every pipeline of this merge request.</sub>",
        preview: clean,
        maxPreviewChars: max,
        noteLimit: (input.noteLimit ?? GITLAB_NOTE_LIMIT) - SUPERSEDES_HEADROOM,
        cutNotice: (shown, total) =>
            `\n_Preview cut at ${shown.toLocaleString("en-US")} of ${total.toLocaleString("en-US")} characters; the full preview is in ${fullPreviewAt(input)}._`,
    });
    return body;
}

interface NoteJson {
    id: number;
    body: string;
    author?: { id: number; username?: string };
}

/** What mr-note reads, for its error hints (not the stack's gitlab: keys). */
export const MR_NOTE_HINTS: GitlabHints = {
    token: "GITLAB_TOKEN (or MR_NOTE_TOKEN)",
    project: "CI_PROJECT_ID",
    url: "CI_API_V4_URL",
};

/** The line a new note gets when marker notes by other authors exist (they are never edited). */
export function supersedesLine(others: readonly NoteJson[]): string {
    // At most 20 named, so that the line stays within the room buildNoteBody keeps for it.
    const named = others.slice(0, 20).map((n) => `note ${n.id}${n.author?.username ? ` by @${String(n.author.username).slice(0, 64)}` : ""}`);
    const list = [...named, ...(others.length > named.length ? [`${others.length - named.length} more`] : [])].join(", ");
    return `_This note supersedes ${list}, written with another token; only the author's own token edits a note._`;
}

/**
 * Creates the stack's note, or edits the one this token's user wrote on a previous pipeline.
 * At most one new note per stack per author: the user is asked once (`GET /user`), and a create
 * whose answer was lost is looked up (same author, same body) instead of being posted again.
 */
export async function upsertNote(options: {
    apiUrl: string;
    token: string;
    projectId: string;
    mrIid: number;
    stack: string;
    body: string;
}): Promise<{ action: "created" | "updated"; noteId: number }> {
    const gl = createGitlabClient({ url: options.apiUrl, token: options.token }, { hints: MR_NOTE_HINTS });
    const where = `merge request !${options.mrIid} of project ${options.projectId}`;
    const me = (await gl.call("look up the token's user", (api) => api.Users.showCurrentUser())) as unknown as { id: number };
    const list = async () =>
        (await gl.call(`list notes of ${where}`, (api) =>
            api.MergeRequestNotes.all(options.projectId, options.mrIid, { sort: "asc", orderBy: "created_at", perPage: 100 } as never),
        )) as unknown as NoteJson[];
    const marker = markerFor(options.stack);
    // Only a note that starts with the marker: a comment quoting it is not ours.
    const marked = (await list()).filter((n) => n.body.startsWith(marker));
    const own = marked.find((n) => n.author?.id === me.id);
    const others = marked.filter((n) => n.author?.id !== me.id);
    const body = others.length > 0 ? options.body.replace(marker, `${marker}\n${supersedesLine(others)}\n`) : options.body;
    if (own) {
        await gl.call(`edit note ${own.id} on ${where}`, (api) => api.MergeRequestNotes.edit(options.projectId, options.mrIid, own.id, { body }));
        return { action: "updated", noteId: own.id };
    }
    const created = (await gl.call(`create note on ${where}`, (api) => api.MergeRequestNotes.create(options.projectId, options.mrIid, body), {
        // The answer was lost: a note by this user with exactly this body is the one just posted.
        recover: async () => (await list()).find((n) => n.author?.id === me.id && n.body === body) as never,
    })) as unknown as NoteJson;
    return { action: "created", noteId: created.id };
}

class UsageError extends Error {}

const USAGE = "usage: scripts/mr-note --stack <stack> [--file <preview.txt>] [--summary <summary.md>] [--artifact <path>]  (default: stdin)";

interface Args {
    stack: string;
    file?: string;
    summary?: string;
    artifact?: string;
}

function parseArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Args {
    let stack = env.PULUMI_STACK;
    let file: string | undefined;
    let summary: string | undefined;
    let artifact: string | undefined;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--stack" || a === "-s") stack = argv[++i];
        else if (a.startsWith("--stack=")) stack = a.slice("--stack=".length);
        else if (a === "--file" || a === "-f") file = argv[++i];
        else if (a.startsWith("--file=")) file = a.slice("--file=".length);
        else if (a === "--summary") summary = argv[++i];
        else if (a.startsWith("--summary=")) summary = a.slice("--summary=".length);
        else if (a === "--artifact") artifact = argv[++i];
        else if (a.startsWith("--artifact=")) artifact = a.slice("--artifact=".length);
        else if (a === "-h" || a === "--help") throw new UsageError(USAGE);
        else throw new UsageError(`mr-note: unknown argument ${JSON.stringify(a)}; ${USAGE}`);
    }
    if (!stack) {
        throw new UsageError("mr-note: no stack given; pass --stack <stack> (or set PULUMI_STACK)");
    }
    if (!/^[A-Za-z0-9_.\/-]+$/.test(stack)) {
        throw new UsageError(`mr-note: ${JSON.stringify(stack)} is not a stack name`);
    }
    return { stack, file: file === "-" ? undefined : file, summary, artifact };
}

async function readInput(file: string | undefined): Promise<string> {
    if (file !== undefined) {
        return readFileSync(file, "utf8");
    }
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
}

/** Exit status: 0 posted, 1 GitLab refused or failed, 2 usage or missing environment. */
export async function main(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<number> {
    try {
        const { stack, file, summary, artifact } = parseArgs(argv, env);
        const token = env.GITLAB_TOKEN || env.MR_NOTE_TOKEN;
        const missing = [
            ["CI_API_V4_URL", env.CI_API_V4_URL],
            ["CI_PROJECT_ID", env.CI_PROJECT_ID],
            ["CI_MERGE_REQUEST_IID", env.CI_MERGE_REQUEST_IID],
            ["GITLAB_TOKEN (or MR_NOTE_TOKEN)", token],
        ]
            .filter(([, v]) => !v)
            .map(([k]) => k);
        if (missing.length > 0) {
            throw new UsageError(
                `mr-note: missing ${missing.join(", ")}. The CI_* variables exist only in merge request pipelines (rules: if: $CI_PIPELINE_SOURCE == "merge_request_event"); the token is a project access token with the api scope, stored as a masked CI/CD variable (CI_JOB_TOKEN cannot write notes).`,
            );
        }
        if (!/^[0-9]+$/.test(env.CI_MERGE_REQUEST_IID!)) {
            throw new UsageError(`mr-note: CI_MERGE_REQUEST_IID must be a number (got ${JSON.stringify(env.CI_MERGE_REQUEST_IID)})`);
        }
        const maxChars = env.MR_NOTE_MAX_CHARS ? Number(env.MR_NOTE_MAX_CHARS) : DEFAULT_MAX_CHARS;
        if (!Number.isInteger(maxChars) || maxChars < 1000 || maxChars > 900_000) {
            throw new UsageError(`mr-note: MR_NOTE_MAX_CHARS must be a whole number from 1000 to 900000 (got ${JSON.stringify(env.MR_NOTE_MAX_CHARS)})`);
        }
        const preview = await readInput(file);
        // A summary file that was not written (the preview stopped before it) leaves the note without one.
        const summaryText = summary !== undefined && existsSync(summary) ? readFileSync(summary, "utf8") : undefined;
        const body = buildNoteBody({
            stack,
            preview,
            summary: summaryText,
            artifact,
            secrets: secretsFromEnv(env),
            maxChars,
            jobUrl: env.CI_JOB_URL,
            pipelineUrl: env.CI_PIPELINE_URL,
            commit: env.CI_COMMIT_SHORT_SHA,
        });
        const result = await upsertNote({
            apiUrl: env.CI_API_V4_URL!,
            token: token!,
            projectId: env.CI_PROJECT_ID!,
            mrIid: Number(env.CI_MERGE_REQUEST_IID),
            stack,
            body,
        });
        process.stdout.write(`mr-note: ${result.action} note ${result.noteId} on merge request !${env.CI_MERGE_REQUEST_IID} for stack ${stack}\n`);
        return 0;
    } catch (e) {
        process.stderr.write(`${(e as Error).message}\n`);
        return e instanceof UsageError ? 2 : 1;
    }
}

if (require.main === module) {
    void main(process.argv.slice(2), process.env).then((code) => process.exit(code));
}
