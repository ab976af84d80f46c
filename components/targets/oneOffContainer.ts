/**
 * One-off containers on the Docker host (`docker run --rm` semantics through dockerode): the
 * release phase (`delivery:releaseCommand`, before a release takes traffic) and the verify command
 * (`delivery:verifyCommand`, after it serves) both run from the release's own image, with its
 * config. The dynamic providers call these functions, so they require their modules inside.
 */

export interface OneOffSpec {
    /** Container name prefix; a nonce is added. @example "app-dev-r-0123-release" */
    readonly name: string;
    /** Digest-pinned image of the release (already pulled). */
    readonly image: string;
    /** The whole environment: plain and secret settings, RELEASE_ID, PORT. */
    readonly env: Readonly<Record<string, string>>;
    /** A shell command line, run with `/bin/sh -c`. */
    readonly command: string;
    readonly timeoutSeconds: number;
    readonly labels: Readonly<Record<string, string>>;
}

export interface OneOffResult {
    /** Undefined when it did not finish within the timeout (it is killed). */
    readonly exitCode: number | undefined;
    /** stdout and stderr as they came, unmasked (the caller masks). */
    readonly output: string;
    readonly startedAt: string;
    readonly finishedAt: string;
}

/** Docker's multiplexed log stream (8-byte frame headers) as text. */
export function demuxLogs(buf: Buffer): string {
    const parts: Buffer[] = [];
    let i = 0;
    while (i + 8 <= buf.length && (buf[i] === 1 || buf[i] === 2 || buf[i] === 0) && buf[i + 1] === 0 && buf[i + 2] === 0 && buf[i + 3] === 0) {
        const size = buf.readUInt32BE(i + 4);
        parts.push(buf.subarray(i + 8, i + 8 + size));
        i += 8 + size;
    }
    return (i === buf.length ? Buffer.concat(parts) : buf).toString("utf8");
}

/** Runs `spec.command` in a fresh container of the image, waits for it (or kills it at the timeout), keeps its output and removes it. */
export async function runOneOff(docker: import("dockerode"), spec: OneOffSpec): Promise<OneOffResult> {
    const crypto = require("node:crypto") as typeof import("node:crypto");
    const container = await docker.createContainer({
        name: `${spec.name}-${crypto.randomBytes(3).toString("hex")}`,
        Image: spec.image,
        Entrypoint: ["/bin/sh", "-c"],
        // One stream: Docker logs stdout and stderr through separate pipes, so lines written close
        // together could come back out of order (seen once under load); `exec 2>&1` keeps the order.
        Cmd: [`exec 2>&1\n${spec.command}`],
        Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
        Labels: { ...spec.labels },
        HostConfig: { RestartPolicy: { Name: "no" }, NetworkMode: "bridge" },
    });
    const startedAt = new Date().toISOString();
    try {
        await container.start();
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<undefined>((resolve) => {
            timer = setTimeout(() => resolve(undefined), spec.timeoutSeconds * 1000);
        });
        const waited = await Promise.race([container.wait().then((r: { StatusCode: number }) => r.StatusCode), timedOut]);
        clearTimeout(timer);
        if (waited === undefined) {
            await container.kill().catch(() => undefined);
        }
        const logs = await container.logs({ stdout: true, stderr: true, follow: false }).catch(() => Buffer.from(""));
        return {
            exitCode: waited,
            output: demuxLogs(Buffer.isBuffer(logs) ? logs : Buffer.from(String(logs))),
            startedAt,
            finishedAt: new Date().toISOString(),
        };
    } finally {
        await container.remove({ force: true }).catch(() => undefined);
    }
}
