import { httpGetVia } from "../../components/targets/proxy";

/**
 * A bounded load loop on loopback, for the swap tests and bench/swap.ts: a few workers GET one
 * URL back to back (a short pause between requests) until stopped or `maxRequests` were sent.
 */

export interface LoadSample {
    readonly startedAt: number;
    readonly endedAt: number;
    readonly status?: number;
    readonly releaseId?: string;
    readonly error?: string;
}

export interface LoadSummary {
    readonly requests: number;
    readonly failed: number;
    /** The longest time without a successful answer (ms), between two successes or from the start. */
    readonly longestGapMs: number;
    readonly p50Ms: number;
    readonly p99Ms: number;
    /** Release ids that answered, in order of first answer. */
    readonly releases: string[];
    /** The first failures, for a test's message. */
    readonly firstFailures: string[];
}

export interface LoadOptions {
    readonly url: string;
    /** Host header, when the proxy routes by host name. */
    readonly host?: string;
    readonly workers?: number;
    readonly pauseMs?: number;
    readonly timeoutMs?: number;
    readonly maxRequests?: number;
}

export class LoadLoop {
    readonly samples: LoadSample[] = [];
    private stopping = false;
    private readonly running: Promise<void>[];
    private readonly started = Date.now();

    constructor(private readonly opts: LoadOptions) {
        this.running = Array.from({ length: opts.workers ?? 2 }, () => this.worker());
    }

    private async worker(): Promise<void> {
        const max = this.opts.maxRequests ?? 3000;
        while (!this.stopping && this.samples.length < max) {
            const startedAt = Date.now();
            const res = await httpGetVia(this.opts.url, this.opts.host, this.opts.timeoutMs ?? 2000);
            let releaseId: string | undefined;
            try {
                releaseId = res.status === 200 ? (JSON.parse(res.body) as { release_id?: string }).release_id : undefined;
            } catch {
                releaseId = undefined;
            }
            this.samples.push({ startedAt, endedAt: Date.now(), status: res.status, releaseId, error: res.error });
            await new Promise((r) => setTimeout(r, this.opts.pauseMs ?? 15));
        }
    }

    /** Keeps going until at least `minRequests` were sent, then stops and summarizes. */
    async stop(minRequests = 0): Promise<LoadSummary> {
        while (this.samples.length < minRequests && this.samples.length < (this.opts.maxRequests ?? 3000)) {
            await new Promise((r) => setTimeout(r, 50));
        }
        this.stopping = true;
        await Promise.all(this.running);
        return summarize(this.samples, this.started);
    }
}

/** Failed requests (no answer, or not 200 with a release id), the longest gap, latency percentiles. */
export function summarize(samples: readonly LoadSample[], startedAt: number): LoadSummary {
    const ok = (s: LoadSample) => s.status === 200 && s.releaseId !== undefined;
    const failed = samples.filter((s) => !ok(s));
    let last = startedAt;
    let gap = 0;
    for (const s of [...samples].filter(ok).sort((a, b) => a.endedAt - b.endedAt)) {
        gap = Math.max(gap, s.endedAt - last);
        last = s.endedAt;
    }
    const latencies = samples.map((s) => s.endedAt - s.startedAt).sort((a, b) => a - b);
    const pct = (p: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] : 0);
    const releases: string[] = [];
    for (const s of samples) {
        if (s.releaseId && !releases.includes(s.releaseId)) {
            releases.push(s.releaseId);
        }
    }
    return {
        requests: samples.length,
        failed: failed.length,
        longestGapMs: gap,
        p50Ms: pct(50),
        p99Ms: pct(99),
        releases,
        firstFailures: failed.slice(0, 5).map((s) => (s.status === undefined ? `no answer: ${s.error}` : `status ${s.status}`)),
    };
}
