import { readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { localConfig, useStacks } from "../support/workspace";
import { PORTS } from "../support/ports";

/**
 * The program runs as JavaScript compiled once per source text (entry.js, loader.js), never as a
 * stale build: a developer who edits a components/*.ts file and previews gets the edited code
 * with no build step, here through the Automation API on the real engine in a project copy (as
 * every e2e test runs the program), even when the edit keeps the file's size and mtime.
 */
describe("program loader: an edited component runs on the next preview", () => {
    const fx = useStacks((project) => ({ dev: ["e2e-loader", localConfig(project, PORTS.programLoader)] }));

    const preview = async () => {
        let out = "";
        await fx.dev.preview({ onOutput: (s) => (out += s) });
        return out;
    };

    it("prints what components/config.ts says now, before and after an edit of the same size and mtime", async () => {
        const file = join(fx.project.dir, "components", "config.ts");
        const source = readFileSync(file, "utf8");
        // Whole seconds, so that the edit below can restore exactly this mtime.
        const stamp = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
        writeFileSync(file, `${source}\nconsole.log("loader-check: first");\n`);
        utimesSync(file, stamp, stamp);
        const first = await preview();
        expect(first).toContain("loader-check: first");

        writeFileSync(file, `${source}\nconsole.log("loader-check: other");\n`);
        utimesSync(file, stamp, stamp);
        expect(statSync(file).mtimeMs).toBe(stamp.getTime());
        const second = await preview();
        expect(second).toContain("loader-check: other");
        expect(second).not.toContain("loader-check: first");
    });
});
