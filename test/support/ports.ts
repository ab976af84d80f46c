/**
 * The host ports of the e2e files and benchmarks, in one table: the e2e files run two at a time
 * (vitest.config.ts), beside the other levels, so no two may share a port. A stack's app is named
 * after its port (`e2e-<port>`, localConfig), so a shared port would also be a shared container
 * and proxy. test/unit/ports.test.ts fails on a port listed twice. Files that need no fixed port
 * take one from the kernel (freePort).
 */
export const PORTS = {
    devLifecycle: 18011,
    promotion: { upstream: 18021, downstream: 18022 },
    healthGate: 18031,
    gate: { upstream: 18033, downstream: 18034 },
    typeTokens: { a: 18041, b: 18042 },
    badConfig: 18043,
    secrets: { stack: 18051, twin: 18052 },
    policy: 18053,
    interrupted: { build: 18061, create: 18062, swap: 18063, switched: 18064, destroy: 18065 },
    releases: { upstream: 18066, downstream: 18067 },
    heroku: { staging: 18068, production: 18069 },
    stackLock: 18071,
    verification: 18081,
    releasePhase: 18082,
    programLoader: 18091,
    benchLedger: 18093,
    benchHotpath: { upstream: 18095, downstream: 18096 },
    providerCache: 18101,
} as const;

/** Every port in the table, once per use. */
export function allPorts(): number[] {
    return Object.values(PORTS).flatMap((v) => (typeof v === "number" ? [v] : Object.values(v)));
}
