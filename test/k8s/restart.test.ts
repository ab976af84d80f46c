import { execFileSync, spawn } from "node:child_process";
import { readFileSync, readdirSync, readlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "../support/workspace";
import { k8sStart, kubectl, useCluster } from "./cluster";

/**
 * The run directory (pid files, etcd data) lives in the cache, which outlives the machine
 * that wrote it. A start on a new machine finds pid files that name dead processes, or
 * processes that now are something else. CI once failed exactly so:
 * "kube-apiserver exited while waiting for etcd" before anything had been launched.
 */
const COMPONENTS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "containerd", "kubelet", "kube-proxy"];

/** Pids of the processes running binDir/name (not Docker's own containerd, say). */
function processesOf(binDir: string, name: string): number[] {
    return readdirSync("/proc")
        .filter((d) => /^\d+$/.test(d))
        .filter((d) => {
            try {
                return readlinkSync(`/proc/${d}/exe`) === join(binDir, name);
            } catch {
                return false; // gone meanwhile, or a kernel thread
            }
        })
        .map(Number);
}

describe("scripts/k8s start after a restart", () => {
    const cluster = useCluster();
    const k8sDir = join(cluster.runDir, "k8s");
    const pidOf = (name: string) => Number(readFileSync(join(k8sDir, `${name}.pid`), "utf8").trim());
    const bystander = spawn("sleep", ["600"], { stdio: "ignore" });

    afterAll(() => {
        bystander.kill();
        // Leave the control plane running for the next file, whatever happened here.
        execFileSync(join(ROOT, "scripts", "k8s"), ["start"], { stdio: "inherit" });
    });

    it("ignores pid files of dead or unrelated processes and starts every component", async () => {
        execFileSync(join(ROOT, "scripts", "k8s"), ["stop"], { stdio: "inherit" });
        // A pid that no process has, and a live pid that belongs to another program.
        writeFileSync(join(k8sDir, "etcd.pid"), "4194000\n");
        writeFileSync(join(k8sDir, "kube-apiserver.pid"), `${bystander.pid}\n`);
        writeFileSync(join(k8sDir, "kwok.pid"), `${bystander.pid}\n`);
        writeFileSync(join(k8sDir, "kubelet.pid"), `${bystander.pid}\n`);

        const start = await k8sStart();
        const out = start.log; // scripts/k8s logs on stderr
        expect(start.code, out).toBe(0);

        expect(out).toMatch(/kube-apiserver: pid file .* names no running kube-apiserver; removing it/);
        for (const name of COMPONENTS) {
            expect(out).toContain(`starting ${name}`);
            const pid = pidOf(name);
            expect(pid).not.toBe(bystander.pid);
            expect(readFileSync(`/proc/${pid}/comm`, "utf8").trim()).toBe(name.slice(0, 15));
        }
        expect(bystander.exitCode).toBeNull(); // the unrelated process was left alone
        expect(kubectl("get", "--raw", "/readyz")).toBe("ok");
        // The real node came back too: its kubelet reports Ready again.
        expect(kubectl("wait", "--for=condition=Ready", "node/real-node-0", "--timeout=60s")).toContain("condition met");
    });

    // Test files start the cluster two at a time (ensureCluster): two starts on a stopped
    // cluster both launched every component, and the second of each died on the first's ports.
    it("runs one start at a time: two at once launch each component once, and both succeed", async () => {
        execFileSync(join(ROOT, "scripts", "k8s"), ["stop"], { stdio: "inherit" });
        const runs = await Promise.all([k8sStart(), k8sStart()]);
        for (const run of runs) {
            expect(run.code, run.log).toBe(0);
        }
        const log = runs.map((r) => r.log).join("\n");
        expect(log).toMatch(/another scripts\/k8s start holds .*; waiting for it/);
        for (const name of COMPONENTS) {
            expect(log.split(`starting ${name}\n`).length - 1, `"starting ${name}" in:\n${log}`).toBe(1);
            expect(processesOf(dirname(cluster.kubectlPath), name), name).toEqual([pidOf(name)]);
        }
    });
});
