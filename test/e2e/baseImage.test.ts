import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ensureEnvironment } from "../support/workspace";

/**
 * The app's image runs as a user that cannot write `__pycache__`, with PYTHONDONTWRITEBYTECODE:
 * a module without bytecode in the base is compiled again at every start of every container and
 * every HEALTHCHECK run (a start cost 0.48 CPU-s with none, 0.14 with Debian's). So the base
 * keeps the bytecode Debian's packages made at install (scripts/services.d/base.sh).
 */
describe("the offline base image", () => {
    it("holds bytecode for every module the app and its health check import", () => {
        ensureEnvironment("base");
        // What app.py and the Dockerfile's HEALTHCHECK import; the modules loaded from source
        // whose bytecode file is missing.
        const script = [
            "import json, os, signal, socket, sys",
            "import flask, werkzeug.serving",
            "cached = [(n, m.__cached__) for n, m in list(sys.modules.items()) if getattr(m, '__cached__', None)]",
            "print(json.dumps({'checked': len(cached), 'missing': sorted(n for n, c in cached if not os.path.exists(c))}))",
        ].join("\n");
        const out = execFileSync("docker", [
            "run",
            "--rm",
            "--user",
            "10001:10001",
            "--env",
            "PYTHONDONTWRITEBYTECODE=1",
            "127.0.0.1:5000/delivery/python-base:bookworm",
            "python3",
            "-c",
            script,
        ]).toString();
        const { checked, missing } = JSON.parse(out) as { checked: number; missing: string[] };
        expect(checked).toBeGreaterThan(50);
        expect(missing).toEqual([]);
    });
});
