import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import type { DoubleProject } from "./model";
import { type GitlabDouble, startDouble } from "./server";

/** A fresh started double (project `group/app`, id 42, merge request !7) for each test, stopped after it. */
export function useDouble(use: (started: { gitlab: GitlabDouble; project: DoubleProject; url: string }) => void): void {
    let gitlab: GitlabDouble | undefined;
    beforeEach(async () => {
        const started = await startDouble();
        gitlab = started.gitlab;
        use(started);
    });
    afterEach(async () => {
        await gitlab?.stop();
    });
}

/**
 * `DELIVERY_GITLAB_RETRY` (the client's retry overrides) set to `policy` for a file's tests and
 * restored after, e.g. `baseDelayMs=5` for a shorter server-error backoff.
 */
export function useRetryPolicy(policy: string): void {
    const saved = process.env.DELIVERY_GITLAB_RETRY;
    beforeAll(() => {
        process.env.DELIVERY_GITLAB_RETRY = policy;
    });
    afterAll(() => {
        if (saved === undefined) delete process.env.DELIVERY_GITLAB_RETRY;
        else process.env.DELIVERY_GITLAB_RETRY = saved;
    });
}
