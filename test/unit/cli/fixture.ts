import { LedgerEntry } from "../../../components/release/ledger";
import { CliIo } from "../../../cli/io";

/** A fixed ledger of three releases on `staging`: a build, a build by CI, a rollback. */
export const D1 = "sha256:" + "1".repeat(64);
export const D2 = "sha256:" + "2".repeat(64);
export const C1 = "a".repeat(40);
export const C2 = "b".repeat(40);

const base = {
    configHash: "c".repeat(64),
    settings: { env: { APP_ENV: "staging" }, secrets: { SECRET_KEY: "hmac-1" } },
};

export const ENTRIES: LedgerEntry[] = [
    {
        ...base,
        number: 1,
        version: "v1",
        releaseId: "r-0001",
        imageRef: `127.0.0.1:5000/delivery/app@${D1}`,
        digest: D1,
        commitSha: C1,
        origin: "build",
        by: "alice",
        at: "2026-12-01T10:00:00.000Z",
    },
    {
        ...base,
        number: 2,
        version: "v2",
        releaseId: "r-0002",
        imageRef: `127.0.0.1:5000/delivery/app@${D2}`,
        digest: D2,
        commitSha: C2,
        origin: "build",
        by: "ci-bot",
        pipelineId: "4711",
        jobName: "deploy:staging",
        at: "2026-12-01T11:00:00.000Z",
        // Other settings, so another config hash (the hash of exactly these settings).
        configHash: "d".repeat(64),
        settings: { env: { APP_ENV: "staging", GREETING: "hi" }, secrets: { SECRET_KEY: "hmac-2" } },
    },
    {
        ...base,
        number: 3,
        version: "v3",
        releaseId: "r-0003",
        imageRef: `127.0.0.1:5000/delivery/app@${D1}`,
        digest: D1,
        commitSha: C1,
        origin: "rollback to v1",
        by: "alice",
        at: "2026-12-01T12:00:00.000Z",
    },
];

/** An io that records what the command wrote, with no terminal unless told. */
export function recordingIo(opts: { tty?: boolean; answer?: string } = {}): CliIo & { stdout: string; stderr: string; asked: string[] } {
    const rec = {
        stdout: "",
        stderr: "",
        asked: [] as string[],
        out(text: string) {
            rec.stdout += text;
        },
        err(text: string) {
            rec.stderr += text;
        },
        stdinIsTTY: opts.tty ?? false,
        stderrIsTTY: false,
        async ask(question: string) {
            rec.asked.push(question);
            return opts.answer ?? "";
        },
    };
    return rec;
}
