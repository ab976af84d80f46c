/**
 * What a release's verification records, and the pure rules it is decided by. This shape is a
 * contract: a downstream stack's promotion gate reads it from the upstream's `release` output
 * (`release.verification`; absent = not verified). The dynamic providers call these functions,
 * so they capture nothing and require nothing.
 */

export interface VerificationCheck {
    /** @example "health", "release-id", "verify-command" */
    readonly name: string;
    readonly passed: boolean;
    /** What was seen, never a secret value. */
    readonly detail: string;
}

export interface VerificationResult {
    readonly status: "passed" | "failed";
    /** ISO time the verification finished. */
    readonly at: string;
    readonly checks: VerificationCheck[];
    readonly durationMs: number;
    /** The last lines of the verify command's output, every secret setting's value replaced by [MASKED]. */
    readonly outputTail?: string;
}

export const MASK = "[MASKED]";

/** How many lines of a command's output are kept. */
export const TAIL_LINES = 40;

/** `text` with every non-empty secret value replaced by [MASKED], longest first (a value containing another is masked whole). */
export function maskSecrets(text: string, secrets: Readonly<Record<string, string>> | undefined): string {
    const values = Object.values(secrets ?? {})
        .filter((v) => typeof v === "string" && v.length > 0)
        .sort((a, b) => b.length - a.length);
    let out = text;
    for (const v of values) {
        out = out.split(v).join(MASK);
    }
    return out;
}

/** The last `lines` lines of `text`, masked (masking first: a secret split over the cut is still masked), without control characters. */
export function outputTail(text: string, secrets: Readonly<Record<string, string>> | undefined, lines: number = TAIL_LINES): string {
    const masked = maskSecrets(text, secrets).replace(/[\x00-\x08\x0b-\x1f]/g, "");
    const all = masked.replace(/\n+$/, "").split("\n");
    return all.slice(-lines).join("\n");
}

/** The health check's decision: the health path answered 200. */
export function healthCheck(path: string, status: number | undefined, error?: string): VerificationCheck {
    return status === 200
        ? { name: "health", passed: true, detail: `GET ${path} answered 200` }
        : { name: "health", passed: false, detail: error !== undefined ? `GET ${path} failed: ${error}` : `GET ${path} answered ${status}` };
}

/** The release-id check's decision: `GET /` answered 200 with JSON whose release_id is this release's id. */
export function releaseIdCheck(releaseId: string, status: number | undefined, body: string, error?: string): VerificationCheck {
    const name = "release-id";
    if (error !== undefined) {
        return { name, passed: false, detail: `GET / failed: ${error}` };
    }
    if (status !== 200) {
        return { name, passed: false, detail: `GET / answered ${status}` };
    }
    let served: unknown;
    try {
        served = (JSON.parse(body) as { release_id?: unknown }).release_id;
    } catch {
        return { name, passed: false, detail: `GET / answered no JSON (${JSON.stringify(body.slice(0, 60))})` };
    }
    return served === releaseId
        ? { name, passed: true, detail: `GET / serves release ${releaseId}` }
        : { name, passed: false, detail: `GET / serves release ${JSON.stringify(served)}, not ${releaseId}` };
}

/** The verify command's decision from its exit code (undefined: it did not finish in time). */
export function commandCheck(command: string, exitCode: number | undefined, timeoutSeconds: number, error?: string): VerificationCheck {
    const name = "verify-command";
    if (error !== undefined) {
        return { name, passed: false, detail: `${command}: could not run: ${error}` };
    }
    if (exitCode === undefined) {
        return { name, passed: false, detail: `${command}: did not finish within ${timeoutSeconds}s` };
    }
    return { name, passed: exitCode === 0, detail: `${command}: exited ${exitCode}` };
}

/** The result of checks that ran from `started` (ms) to `finished` (ms): passed only when there is a check and all passed. */
export function verificationResult(checks: VerificationCheck[], started: number, finished: number, tail?: string): VerificationResult {
    return {
        status: checks.length > 0 && checks.every((c) => c.passed) ? "passed" : "failed",
        at: new Date(finished).toISOString(),
        checks,
        durationMs: Math.max(0, finished - started),
        ...(tail !== undefined ? { outputTail: tail } : {}),
    };
}

/** The message a failed verification fails `pulumi up` with. */
export function failureMessage(releaseId: string, result: VerificationResult): string {
    const failed = result.checks.filter((c) => !c.passed).map((c) => `  - ${c.name}: ${c.detail}`);
    return (
        `release ${releaseId} failed its verification (recorded at ${result.at}; it keeps running and stays marked failed until a new release):\n` +
        failed.join("\n") +
        (result.outputTail ? `\nlast output lines:\n${result.outputTail}` : "")
    );
}
