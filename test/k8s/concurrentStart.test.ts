import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { k8sStart, useCluster } from "./cluster";

/**
 * Every k8s test file calls `scripts/k8s start` (ensureCluster), two files at a time, while the
 * other file runs kubectl and pulumi against the admin kubeconfig and the node's containerd reads
 * its registry hosts and CNI config for each pull and pod. CI failed so (realPull.test.ts,
 * 2026-12-03): "kubectl get --raw /readyz failed: The connection to the server localhost:8080 was
 * refused" — start rewrote the kubeconfig in place (truncate, then write) and kubectl read it
 * empty in between, so it fell back to its default server.
 */
describe("scripts/k8s start beside running clients", () => {
    const cluster = useCluster();
    const nodeRun = join(cluster.runDir, "k8s", "node");
    // Files a running client reads at any time, that every start writes.
    const watched = [
        cluster.kubeconfig,
        join(nodeRun, "certs.d", "127.0.0.1:5001", "hosts.toml"),
        join(nodeRun, "cni", "10-delivery.conflist"),
        join(nodeRun, "containerd.toml"),
        join(nodeRun, "kubelet.yaml"),
    ];

    it("never shows a reader an empty or partial file while starts run", async () => {
        const before = watched.map((f) => readFileSync(f, "utf8"));
        // The reader runs in its own process, reading in a tight loop until its stdin closes;
        // a read that differs from the content before (a running cluster's files do not change).
        const reader = spawn(
            process.execPath,
            [
                "-e",
                `const fs = require("node:fs");
                 const files = JSON.parse(process.argv[1]), want = JSON.parse(process.argv[2]);
                 let reads = 0, stop = false; const bad = [];
                 // Each start replaces every file (a new inode): proof that reads spanned its writes.
                 const inodes = files.map((f) => new Set([fs.statSync(f).ino]));
                 process.stdin.on("end", () => (stop = true)).resume();
                 (function loop() {
                     for (let i = 0; i < 200; i++) for (let f = 0; f < files.length; f++) {
                         let got; try { got = fs.readFileSync(files[f], "utf8"); } catch (e) { got = "<" + e.code + ">"; }
                         reads++;
                         try { inodes[f].add(fs.statSync(files[f]).ino); } catch {}
                         if (got !== want[f] && bad.length < 20) bad.push(files[f] + ": " + got.length + " chars " + JSON.stringify(got.slice(0, 40)));
                     }
                     if (stop) { process.stdout.write(JSON.stringify({ reads, bad, replaced: files.filter((_, i) => inodes[i].size > 1) })); } else setImmediate(loop);
                 })();`,
                JSON.stringify(watched),
                JSON.stringify(before),
            ],
            { stdio: ["pipe", "pipe", "inherit"] },
        );
        let out = "";
        reader.stdout.on("data", (d: Buffer) => (out += d.toString()));
        const done = new Promise<void>((resolve) => reader.on("close", () => resolve()));

        const starts = [];
        for (let round = 0; round < 2; round++) {
            starts.push(...(await Promise.all([k8sStart(), k8sStart()])));
        }
        reader.stdin.end();
        await done;

        for (const s of starts) {
            expect(s.code, s.log).toBe(0);
        }
        const { reads, bad, replaced } = JSON.parse(out) as { reads: number; bad: string[]; replaced: string[] };
        expect(bad).toEqual([]);
        // The reader read beside the writes: it saw each file replaced.
        expect(replaced).toEqual(watched);
        expect(reads).toBeGreaterThan(1000);
    });
});
