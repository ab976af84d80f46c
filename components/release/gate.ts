/**
 * The promotion gate: a promoting stack (production) takes only an upstream release whose
 * verification passed at least `delivery:soakSeconds` ago, unless an explicit override
 * (`delivery:promoteUnverified`, `PROMOTE_UNVERIFIED=true`) lets it through. A pure function of
 * the upstream's `release.verification`, the clock and the settings, so each decision and its
 * message are unit-tested without an engine (test/unit/release/gate.test.ts).
 */

/** One check of a verification, as the upstream stack exports it. */
export interface VerificationCheck {
    readonly name: string;
    readonly passed: boolean;
    readonly detail: string;
}

/** `release.verification` of the upstream stack; absent means the release was never verified. */
export interface Verification {
    readonly status: "passed" | "failed";
    /** ISO time the verification finished. */
    readonly at: string;
    readonly checks: readonly VerificationCheck[];
    readonly durationMs: number;
    /** The end of the verification's output, when there was some. */
    readonly outputTail?: string;
}

/** Who let an unverified release through. */
export type GateOverride = "delivery:promoteUnverified" | "PROMOTE_UNVERIFIED";

/** The release a gate decides on, named in every message. */
export interface GatedRelease {
    /** The upstream stack's short name, `staging`. */
    readonly stack: string;
    /** Its ledger number, `v7` (absent for an upstream older than the ledger). */
    readonly version?: string;
    readonly releaseId?: string;
    /** The upstream's `release.verification`, unchecked. */
    readonly verification: unknown;
}

export interface GateOptions {
    /** `delivery:soakSeconds`: how long a passed verification must be old. */
    readonly soakSeconds: number;
    /** Set when an override is given; `delivery:promoteUnverified` wins when both are. */
    readonly override?: GateOverride;
    /** The time of the decision (ms since the epoch). */
    readonly now: number;
}

/** Why a release is held back. */
export type Blocked =
    | { readonly decision: "failed"; readonly verification: Verification }
    | { readonly decision: "soaking"; readonly verification: Verification; readonly ageSeconds: number; readonly leftSeconds: number }
    | { readonly decision: "unverified"; readonly why: string };

export type GateDecision =
    | { readonly decision: "verified"; readonly verification: Verification; readonly ageSeconds: number }
    | Blocked
    | { readonly decision: "overridden"; readonly blocked: Blocked; readonly overriddenBy: GateOverride };

/** What the ledger entry of a promoted release records about the gate (LedgerCandidate.gate). */
export interface GateRecord {
    readonly decision: "verified" | "overridden";
    /** For an override: what held the release back. */
    readonly blocked?: Blocked["decision"];
    readonly overriddenBy?: GateOverride;
    /** When the upstream verification finished, when there was one. */
    readonly verifiedAt?: string;
}

/** `4m10s`, `10m`, `1h2m5s`, `0s`: whole seconds, rounded up so that a wait is never short. */
export function durationText(seconds: number): string {
    const total = Math.max(0, Math.ceil(seconds));
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    const text = `${h > 0 ? `${h}h` : ""}${m > 0 ? `${m}m` : ""}${s > 0 ? `${s}s` : ""}`;
    return text || "0s";
}

/** The verification when it is one this program can read, else why not. */
export function readVerification(value: unknown): Verification | string {
    if (value === undefined || value === null) {
        return "it has no verification";
    }
    const v = value as Partial<Verification>;
    if (typeof v !== "object" || (v.status !== "passed" && v.status !== "failed")) {
        return `its verification has status ${JSON.stringify((v as { status?: unknown })?.status ?? null)}, not "passed" or "failed"`;
    }
    if (typeof v.at !== "string" || Number.isNaN(Date.parse(v.at))) {
        return `its verification has no time it finished (at: ${JSON.stringify(v.at ?? null)})`;
    }
    const checks = Array.isArray(v.checks) ? v.checks.filter((c): c is VerificationCheck => !!c && typeof c === "object" && typeof c.name === "string") : [];
    return {
        status: v.status,
        at: v.at,
        checks: checks.map((c) => ({ name: c.name, passed: c.passed === true, detail: String(c.detail ?? "") })),
        durationMs: typeof v.durationMs === "number" ? v.durationMs : 0,
        ...(typeof v.outputTail === "string" ? { outputTail: v.outputTail } : {}),
    };
}

/** The gate's decision on one upstream release. */
export function decideGate(release: GatedRelease, options: GateOptions): GateDecision {
    const blocked = heldBack(release, options);
    if (blocked.decision === "verified" || options.override === undefined) {
        return blocked;
    }
    return { decision: "overridden", blocked, overriddenBy: options.override };
}

function heldBack(release: GatedRelease, { soakSeconds, now }: GateOptions): Exclude<GateDecision, { decision: "overridden" }> {
    const verification = readVerification(release.verification);
    if (typeof verification === "string") {
        return { decision: "unverified", why: verification };
    }
    if (verification.status === "failed") {
        return { decision: "failed", verification };
    }
    const ageSeconds = Math.max(0, Math.floor((now - Date.parse(verification.at)) / 1000));
    if (ageSeconds < soakSeconds) {
        return { decision: "soaking", verification, ageSeconds, leftSeconds: soakSeconds - ageSeconds };
    }
    return { decision: "verified", verification, ageSeconds };
}

/** `staging v7 (release id r-1)`: the release as every message names it. */
export function releaseName(release: GatedRelease): string {
    const version = release.version ? ` ${release.version}` : "";
    const id = release.releaseId ? ` (release id ${release.releaseId})` : "";
    return `${release.stack}${version}${id}`;
}

/** How to let it through anyway. */
export function overrideHint(stack: string): string {
    return `override with \`pulumi config set delivery:promoteUnverified true --stack ${stack}\` or PROMOTE_UNVERIFIED=true in the job's environment`;
}

/** The last non-empty line of an output tail. */
function lastLine(tail: string): string | undefined {
    return tail
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l.length > 0)
        .pop();
}

/** What held the release back, in a few words: `verification failed`, `soaking 4m10s of 10m`, `not verified`. */
export function blockedText(blocked: Blocked): string {
    switch (blocked.decision) {
        case "failed":
            return "verification failed";
        case "soaking":
            return `soaking ${durationText(blocked.ageSeconds)} of ${durationText(blocked.ageSeconds + blocked.leftSeconds)}`;
        case "unverified":
            return "not verified";
    }
}

/**
 * The refusal for a release the gate holds back, naming the release, what failed or how long
 * to wait, and the override; `stack` is the promoting stack (for the fix command).
 */
export function refusalMessage(release: GatedRelease, blocked: Blocked, soakSeconds: number, stack: string): string {
    const name = releaseName(release);
    switch (blocked.decision) {
        case "failed": {
            const failedChecks = blocked.verification.checks.filter((c) => !c.passed);
            const checks = failedChecks.length > 0 ? failedChecks.map((c) => `${c.name}: ${c.detail}`).join("; ") : "no check is named as failed";
            const last = blocked.verification.outputTail !== undefined ? lastLine(blocked.verification.outputTail) : undefined;
            const tail = last !== undefined ? `; its output ended with: ${last}` : "";
            return `${name} failed its verification at ${blocked.verification.at} (${checks})${tail}; fix it and release again upstream, or ${overrideHint(stack)}`;
        }
        case "soaking":
            return (
                `${name} is soaking: verified ${durationText(blocked.ageSeconds)} ago, delivery:soakSeconds is ${soakSeconds}; ` +
                `promote in ${durationText(blocked.leftSeconds)}, or ${overrideHint(stack)}`
            );
        case "unverified":
            return `${name} is not verified (${blocked.why}); verify it upstream (pulumi up on ${release.stack}) first, or ${overrideHint(stack)}`;
    }
}

/** What the ledger records of a decision that lets the release through; undefined for one that does not. */
export function gateRecord(decision: GateDecision): GateRecord | undefined {
    if (decision.decision === "verified") {
        return { decision: "verified", verifiedAt: decision.verification.at };
    }
    if (decision.decision === "overridden") {
        const at = decision.blocked.decision === "unverified" ? undefined : decision.blocked.verification.at;
        return { decision: "overridden", blocked: decision.blocked.decision, overriddenBy: decision.overriddenBy, ...(at ? { verifiedAt: at } : {}) };
    }
    return undefined;
}

/** Thrown for a release the gate holds back; the program reports its message before anything changes. */
export class GateRefusal extends Error {
    constructor(
        message: string,
        readonly decision: Blocked,
    ) {
        super(message);
        this.name = "GateRefusal";
    }
}

/**
 * The gate at the stack boundary: the decision and its ledger record for a release let
 * through; a GateRefusal for one held back. `stack` is the promoting stack.
 */
export function gate(release: GatedRelease, options: GateOptions, stack: string): { decision: GateDecision; record: GateRecord } {
    const decision = decideGate(release, options);
    const record = gateRecord(decision);
    if (record === undefined) {
        const blocked = decision as Blocked;
        throw new GateRefusal(refusalMessage(release, blocked, options.soakSeconds, stack), blocked);
    }
    return { decision, record };
}
