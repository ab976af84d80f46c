import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { allPorts } from "../support/ports";

describe("the e2e files' ports", () => {
    it("lists no port twice: the files run side by side", () => {
        const ports = allPorts();
        const twice = ports.filter((p, i) => ports.indexOf(p) !== i);
        expect(twice).toEqual([]);
    });

    it("lists none in the kernel's ephemeral range, where freePort's ports (and other levels' ports) come from", () => {
        const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
        expect(allPorts().filter((p) => p >= low && p <= high)).toEqual([]);
    });
});
