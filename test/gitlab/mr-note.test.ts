import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildNoteBody, cut, fenceFor, MASK, markerFor, maskSecrets, resourceSummary, secretsFromEnv, stripAnsi } from "../../scripts/mr-note.js";
import { DOUBLE_TOKEN, type DoubleProject, type GitlabDouble, useDouble } from "../support/gitlab";

const root = resolve(__dirname, "../..");

const PREVIEW = `Previewing update (staging):
     Type                                    Name                 Plan       Info
     pulumi:pulumi:Stack                     delivery-staging
 +   ├─ delivery:gitlab:GitlabProjectSettings gitlab               create
 +   │  └─ pulumi-nodejs:dynamic/gitlab:ProjectVariable gitlab-variable-DB_URL create
 ~   └─ kubernetes:apps/v1:Deployment        app                  update     [diff: ~spec]

    ~ spec: {
        ~ image: "registry.example.com/app@sha256:aaa" => "registry.example.com/app@sha256:bbb"
          env  : [secret]
      }
    DATABASE_URL: "postgres://app:hunter2-Very-Secret@db/app"

Resources:
    + 2 to create
    ~ 1 to update
    4 unchanged
`;

describe("note body (pure)", () => {
    it("starts with the stack's hidden marker and summarises the resources", () => {
        const body = buildNoteBody({
            stack: "staging",
            preview: PREVIEW,
            secrets: [],
            commit: "abc1234",
            pipelineUrl: "https://gitlab.example.com/p/-/pipelines/9",
        });
        expect(body.startsWith("<!-- delivery:preview:staging -->\n")).toBe(true);
        expect(body).toContain("**Resources:** + 2 to create, ~ 1 to update, 4 unchanged");
        expect(body).toContain("<details><summary>Diff (commit `abc1234`, [pipeline](https://gitlab.example.com/p/-/pipelines/9))</summary>");
        expect(body).toContain("```diff\nPreviewing update (staging):");
        expect(body).not.toContain("Output cut");
    });

    it("masks every known secret, including Pulumi's [secret] staying as it is", () => {
        const body = buildNoteBody({ stack: "staging", preview: PREVIEW, secrets: ["hunter2-Very-Secret"] });
        expect(body).not.toContain("hunter2-Very-Secret");
        expect(body).toContain(`postgres://app:${MASK}@db/app`);
        expect(body).toContain("env  : [secret]");
    });

    it("cuts a long diff at a line boundary and points at the job artifact and the job log", () => {
        const long = Array.from({ length: 5000 }, (_, i) => `    + line ${i} ${"x".repeat(40)}`).join("\n");
        const body = buildNoteBody({
            stack: "review-x",
            preview: long,
            secrets: [],
            maxChars: 10_000,
            jobUrl: "https://gitlab.example.com/p/-/jobs/77",
            artifact: "preview-review-x.txt",
        });
        expect(body.length).toBeLessThan(11_000);
        expect(body).toContain(
            "_Preview cut at 9,969 of 283,889 characters; the full preview is in the job artifact [`preview-review-x.txt`](https://gitlab.example.com/p/-/jobs/77/artifacts/file/preview-review-x.txt) and the [job log](https://gitlab.example.com/p/-/jobs/77)._",
        );
        const inside = body.split("```diff\n")[1].split("\n```")[0];
        expect(inside.split("\n").every((l) => /^ {4}\+ line [0-9]+ x{40}$/.test(l))).toBe(true);
    });

    it("starts with the release summary, kept whole, and MR_NOTE_MAX_CHARS cuts only the preview", () => {
        const summary = `**Merging releases into \`staging\`** (against v3, what \`staging\` runs now):\n\n- **Image:** rebuild needed\n${"- a long summary line\n".repeat(400)}- **Policy:** passed\n`;
        const long = Array.from({ length: 5000 }, (_, i) => `    + line ${i}`).join("\n");
        const body = buildNoteBody({
            stack: "staging",
            preview: long,
            summary,
            secrets: [],
            maxChars: 1000,
            jobUrl: "https://gitlab.example.com/p/-/jobs/78",
            artifact: "preview-staging.txt",
        });
        const lines = body.split("\n");
        expect(lines[0]).toBe(markerFor("staging"));
        expect(lines[1]).toBe("#### Release preview for stack `staging`");
        expect(lines[3]).toBe("**Merging releases into `staging`** (against v3, what `staging` runs now):");
        expect(body).toContain(summary.trimEnd());
        expect(body.indexOf(summary.trimEnd())).toBeLessThan(body.indexOf("```diff"));
        expect(body).toContain("<details><summary>`pulumi preview --diff`</summary>");
        const inside = body.split("```diff\n")[1].split("\n```")[0];
        expect(inside.length).toBeLessThanOrEqual(1000);
        expect(body).toMatch(/_Preview cut at [0-9,]+ of [0-9,]+ characters; the full preview is in the job artifact \[`preview-staging\.txt`\]/);
    });

    it("cuts a preview that would pass GitLab's 1,000,000-character note limit, never the summary", () => {
        const summary = "- **Image:** `sha256:aaa` → `sha256:bbb`\n" + "- **Commits:** many\n".repeat(2000);
        const huge = Array.from({ length: 40_000 }, (_, i) => `    ~ resource-${i}: ${"z".repeat(30)}`).join("\n");
        expect(huge.length).toBeGreaterThan(1_000_000);
        const body = buildNoteBody({
            stack: "staging",
            preview: huge,
            summary,
            secrets: [],
            maxChars: 900_000,
            jobUrl: "https://gitlab.example.com/p/-/jobs/79",
            artifact: "preview-staging.txt",
        });
        expect(body.length).toBeLessThanOrEqual(1_000_000);
        expect(body).toContain(summary.trimEnd());
        expect(body).toContain("the full preview is in the job artifact");
        // The small limit a test double can play: the summary stays whole there too.
        const small = buildNoteBody({ stack: "staging", preview: huge, summary, secrets: [], maxChars: 900_000, noteLimit: 60_000 });
        expect(small.length).toBeLessThanOrEqual(60_000 - 4_000);
        expect(small).toContain(summary.trimEnd());
    });

    it("masks secrets in the summary too", () => {
        const body = buildNoteBody({ stack: "staging", preview: PREVIEW, summary: "- commit abc: set hunter2-Very-Secret", secrets: ["hunter2-Very-Secret"] });
        expect(body).toContain(`- commit abc: set ${MASK}`);
        expect(body).not.toContain("hunter2-Very-Secret");
    });

    it("masks before cutting, so a secret across the cut cannot leak a prefix", () => {
        const secret = "S3CRET-ACROSS-THE-CUT";
        const preview = "a".repeat(2990) + secret + "\n" + "b".repeat(3000);
        const body = buildNoteBody({ stack: "s", preview, secrets: [secret], maxChars: 3000 });
        expect(body).not.toContain("S3CRET");
    });

    it("strips colour codes and picks a fence longer than any backticks inside", () => {
        expect(stripAnsi("\u001b[32m+ create\u001b[0m\u001b[1;38;5;3m!")).toBe("+ create!");
        expect(fenceFor("no ticks")).toBe("```");
        expect(fenceFor("has ```` four")).toBe("`````");
        expect(cut("one\ntwo\nthree", 9)).toEqual({ text: "one\ntwo", cut: true });
        expect(resourceSummary("no summary here")).toBeUndefined();
    });

    it("collects secrets from named, well-known and secret-looking variables, not short or ordinary ones", () => {
        const secrets = secretsFromEnv({
            MR_NOTE_MASK_VARIABLES: "DB_URL, SHORT",
            DB_URL: "postgres://u:p@db/x",
            SHORT: "abcd",
            GITLAB_TOKEN: "glpat-abcdefghijkl",
            MY_API_KEY: "k-1234567890",
            STRIPE_SECRET: "tiny",
            CI_COMMIT_REF_NAME: "feature/long-branch-name",
            SSH_PRIVATE_KEY: "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEF\n-----END KEY-----",
        });
        expect(secrets).toEqual(
            expect.arrayContaining([
                "postgres://u:p@db/x",
                "abcd",
                "glpat-abcdefghijkl",
                "k-1234567890",
                "MIIEvQIBADANBgkqhkiG9w0BAQEF",
                "-----BEGIN KEY-----",
            ]),
        );
        expect(secrets).not.toContain("tiny");
        expect(secrets).not.toContain("feature/long-branch-name");
    });

    it("never lets a secret through, whatever surrounds it (property)", () => {
        fc.assert(
            fc.property(
                fc.string({ minLength: 8, maxLength: 40 }).filter((s) => !MASK.includes(s) && !s.includes("MASKED")),
                fc.array(fc.string({ maxLength: 60 }), { maxLength: 8 }),
                (secret, parts) => {
                    const text = parts.join(secret);
                    const masked = maskSecrets(text + secret, [secret]);
                    return !masked.includes(secret);
                },
            ),
        );
    });
});

describe("scripts/mr-note against the GitLab double", () => {
    let gitlab: GitlabDouble;
    let project: DoubleProject;
    let url: string;

    useDouble((started) => ({ gitlab, project, url } = started));

    function mrNote(args: string[], input: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
        return new Promise((done) => {
            const child = execFile(
                resolve(root, "scripts/mr-note"),
                args,
                { cwd: root, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env } },
                (error, stdout, stderr) => done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
            );
            child.stdin!.end(input);
        });
    }

    const ciEnv = () => ({
        CI_API_V4_URL: `${url}/api/v4`,
        CI_PROJECT_ID: "42",
        CI_MERGE_REQUEST_IID: "7",
        GITLAB_TOKEN: DOUBLE_TOKEN,
        CI_JOB_URL: "https://gitlab.example.com/group/app/-/jobs/1001",
        DATABASE_PASSWORD: "hunter2-Very-Secret",
    });

    it("creates one note, then edits that same note on the next run", async () => {
        const first = await mrNote(["--stack", "staging"], PREVIEW, ciEnv());
        expect(first).toMatchObject({ code: 0 });
        const notes = project.mergeRequests.get(7)!.notes;
        expect(notes).toHaveLength(1);
        expect(first.stdout).toBe(`mr-note: created note ${notes[0].id} on merge request !7 for stack staging\n`);
        expect(notes[0].body.startsWith(markerFor("staging"))).toBe(true);
        expect(notes[0].body).not.toContain("hunter2-Very-Secret");
        expect(notes[0].body).not.toContain(DOUBLE_TOKEN);
        const id = notes[0].id;

        const second = await mrNote(["--stack", "staging"], PREVIEW.replace("+ 2 to create", "+ 3 to create"), ciEnv());
        expect(second.stdout).toBe(`mr-note: updated note ${id} on merge request !7 for stack staging\n`);
        expect(notes).toHaveLength(1);
        expect(notes[0].id).toBe(id);
        expect(notes[0].body).toContain("+ 3 to create");

        // Another stack gets its own note; the staging note is left alone.
        await mrNote(["--stack", "review-fix"], "Resources:\n    1 unchanged\n", ciEnv());
        expect(notes.map((n) => n.body.split("\n")[0])).toEqual([markerFor("staging"), markerFor("review-fix")]);
        expect(gitlab.requests.filter((r) => r.method === "PUT")).toHaveLength(1);
    }, 120_000);

    it("finds its note among many (pagination) and ignores notes that only quote the marker", async () => {
        for (let i = 0; i < 130; i++) {
            project.mergeRequests.get(7)!.notes.push({
                id: 5000 + i,
                body: i === 3 ? `> ${markerFor("staging")} quoted` : `comment ${i}`,
                author: gitlab.users.get(DOUBLE_TOKEN)!,
                created_at: `2024-01-01T00:${String(Math.floor(i / 60)).padStart(2, "0")}:${String(i % 60).padStart(2, "0")}Z`,
                updated_at: "2024-01-01T00:00:00Z",
            });
        }
        await mrNote(["--stack", "staging"], PREVIEW, ciEnv());
        const again = await mrNote(["--stack", "staging", "--file", "-"], PREVIEW, ciEnv());
        expect(again.stdout).toContain("updated note");
        const ours = project.mergeRequests.get(7)!.notes.filter((n) => n.body.startsWith(markerFor("staging")));
        expect(ours).toHaveLength(1);
        expect(gitlab.requests.some((r) => r.query.includes("page=2"))).toBe(true);
    }, 120_000);

    it("posts a release summary first and a preview over GitLab's note limit cut to fit, naming the artifact", async () => {
        const dir = mkdtempSync(join(tmpdir(), "mr-note-"));
        try {
            const summary = join(dir, "summary.md");
            const preview = join(dir, "preview-staging.txt");
            writeFileSync(
                summary,
                "**Merging releases into `staging`** (against v2, what `staging` runs now):\n\n- **Image:** rebuild needed\n- **Policy:** passed\n",
            );
            const huge = PREVIEW + Array.from({ length: 45_000 }, (_, i) => `    ~ resource-${i}: ${"z".repeat(30)}`).join("\n");
            writeFileSync(preview, huge);
            const env = { ...ciEnv(), MR_NOTE_MAX_CHARS: "900000" };
            const res = await mrNote(["--stack", "staging", "--file", preview, "--summary", summary, "--artifact", "preview-staging.txt"], "", env);
            expect(res, res.stderr).toMatchObject({ code: 0 });
            const [note] = project.mergeRequests.get(7)!.notes;
            expect(note.body.startsWith(`${markerFor("staging")}\n#### Release preview for stack \`staging\`\n\n**Merging releases into \`staging\`**`)).toBe(
                true,
            );
            expect(note.body).toContain("- **Image:** rebuild needed\n- **Policy:** passed");
            expect(note.body.length).toBeLessThanOrEqual(1_000_000);
            expect(note.body.length).toBeGreaterThan(900_000);
            expect(note.body).toContain(
                "the full preview is in the job artifact [`preview-staging.txt`](https://gitlab.example.com/group/app/-/jobs/1001/artifacts/file/preview-staging.txt) and the [job log](https://gitlab.example.com/group/app/-/jobs/1001)._",
            );
            expect(note.body).not.toContain("hunter2-Very-Secret");
            // A summary file the preview never wrote: the note goes out without one.
            const again = await mrNote(["--stack", "staging", "--file", preview, "--summary", join(dir, "missing.md")], "", ciEnv());
            expect(again.stdout).toContain("updated note");
            expect(project.mergeRequests.get(7)!.notes[0].body).toContain("#### `pulumi preview` for stack `staging`");
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    }, 120_000);

    it("exits 2 naming each missing variable, without calling GitLab", async () => {
        const result = await mrNote(["--stack", "staging"], PREVIEW, { CI_API_V4_URL: `${url}/api/v4` });
        expect(result.code).toBe(2);
        expect(result.stderr).toContain("mr-note: missing CI_PROJECT_ID, CI_MERGE_REQUEST_IID, GITLAB_TOKEN (or MR_NOTE_TOKEN).");
        expect((await mrNote([], PREVIEW, ciEnv())).stderr).toContain("mr-note: no stack given; pass --stack <stack>");
        expect(gitlab.requests).toEqual([]);
    }, 60_000);

    it("exits 1 with GitLab's reason when the merge request does not exist", async () => {
        const result = await mrNote(["--stack", "staging"], PREVIEW, { ...ciEnv(), CI_MERGE_REQUEST_IID: "99" });
        expect(result.code).toBe(1);
        expect(result.stderr).toContain("GitLab: list notes of merge request !99 of project 42 failed: HTTP 404 Not Found");
        expect(result.stderr).toContain("404 Merge Request Not Found");
    }, 60_000);
});
