import type { EngineEvent } from "@pulumi/pulumi/automation";
import { afterEach, describe, expect, it } from "vitest";
import { processIo, setIo } from "../../../cli/io";
import { Progress, resourceName } from "../../../cli/progress";
import { recordingIo } from "./fixture";

const pre = (op: string, type: string, name: string): EngineEvent =>
    ({ sequence: 0, timestamp: 0, resourcePreEvent: { metadata: { op, type, urn: `urn:pulumi:dev::delivery::${type}::${name}` } } }) as unknown as EngineEvent;

/** The progress line on stderr while the engine works: never on stdout, which --json keeps for the answer. */
describe("progress", () => {
    afterEach(() => setIo(processIo()));

    it("writes one line per changed resource on stderr without a terminal, leaving out unchanged ones, providers and the stack", () => {
        const io = recordingIo();
        setIo(io);
        const p = new Progress("rollback dev to v1");
        p.onEvent(pre("same", "delivery:registry:Registry", "registry"));
        p.onEvent(pre("create", "pulumi:providers:pulumi-nodejs", "default"));
        p.onEvent(pre("update", "pulumi:pulumi:Stack", "delivery-dev"));
        p.onEvent(pre("update", "pulumi-nodejs:dynamic/release:ReleaseLedger", "release-ledger"));
        p.onEvent({ sequence: 1, timestamp: 0, diagnosticEvent: { severity: "error", message: "the ledger has no v9\n", color: "never" } } as EngineEvent);
        p.stop("failed");
        expect(io.stdout).toBe("");
        expect(io.stderr).toMatch(
            /^\[delivery\] rollback dev to v1: started\n\[delivery\] rollback dev to v1: \d+s update release-ledger\n\[delivery\] rollback dev to v1: failed after \d+s\n$/,
        );
        expect(p.errors).toEqual(["the ledger has no v9"]);
    });

    it("names a resource by the last part of its URN", () => {
        expect(resourceName("urn:pulumi:dev::delivery::delivery:release:Release$pulumi-nodejs:dynamic/release:ReleaseLedger::release-ledger")).toBe(
            "release-ledger",
        );
    });
});
