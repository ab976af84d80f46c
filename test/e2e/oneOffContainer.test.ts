import Docker from "dockerode";
import { describe, expect, it } from "vitest";
import { runOneOff } from "../../components/targets/oneOffContainer";
import { ensureEnvironment } from "../support/workspace";

/**
 * A one-off container (release phase, verify command) keeps its output in the order it was
 * written, stdout and stderr together: Docker logs the two streams through separate pipes, so
 * lines written close together came back out of order before the command's stderr was joined
 * to its stdout (a recorded verification output once began with its stderr line).
 */
describe("a one-off container on the real Docker engine", () => {
    it("keeps stdout and stderr lines in the order the command wrote them", async () => {
        ensureEnvironment("base");
        const docker = new Docker({ socketPath: "/var/run/docker.sock" });
        const command = 'i=0; while [ $i -lt 200 ]; do echo "out $i"; echo "err $i" >&2; i=$((i+1)); done; exit 3';
        const run = await runOneOff(docker, {
            name: "e2e-oneoff",
            image: "127.0.0.1:5000/delivery/python-base:bookworm",
            env: {},
            command,
            timeoutSeconds: 60,
            labels: { "delivery.test": "oneoff" },
        });
        expect(run.exitCode).toBe(3);
        const expected = Array.from({ length: 200 }, (_, i) => [`out ${i}`, `err ${i}`]).flat();
        expect(run.output.trim().split("\n")).toEqual(expected);
    });
});
