import { afterAll, afterEach } from "vitest";

/**
 * Runs before every unit test file (vitest.config.mts). A program fails its update only by its
 * exit code (components/release/verification.ts's verificationGate sets process.exitCode after
 * logging the error; `pulumi up` then fails): a test whose program did that has seen a failed
 * update, whatever it asserted. Registered first, so it runs after the file's own afterEach hooks
 * (their settle() lets the last applies run). The code is cleared so that it reaches neither the
 * next test, in these shared workers, nor the worker's own exit.
 */
function failedUpdate(): void {
    const code = process.exitCode;
    process.exitCode = undefined;
    if (code !== undefined && code !== 0) {
        throw new Error(
            `the program failed its update (process.exitCode ${code}: an error was logged); a test that expects a failed gate passes verificationGate its own fail()`,
        );
    }
}
afterEach(failedUpdate);
// And after the file's last hooks: an apply that ran after its last test is this file's, not the next's.
afterAll(failedUpdate);

/**
 * The SDK gives every promise it makes a stack (debuggable.js: `_debugStackTrace = new Error().stack`),
 * read only in its report of promises a program leaked. Under vitest each such stack was formatted
 * through vite's source-map interceptor, frame by frame: an eighth of this suite's CPU (measured,
 * three runs each: 14.1-15.0 -> 12.7 CPU-s). Those stacks get Node's plain format (each frame's own text); every other
 * error is still mapped to the TypeScript source, as vitest does.
 */
const mapped = Error.prepareStackTrace;
if (mapped && !(mapped as { plainForSdkPromises?: true }).plainForSdkPromises) {
    Error.prepareStackTrace = Object.assign(
        (error: Error, frames: NodeJS.CallSite[]): string =>
            frames[0]?.getFunctionName() === "debuggablePromise" ? `${String(error)}${frames.map((f) => `\n    at ${f}`).join("")}` : mapped(error, frames),
        { plainForSdkPromises: true as const },
    );
}
