import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compare, comparisonText } from "../../../cli/compare";
import { commitRange } from "../../../cli/git";
import { ENTRIES } from "./fixture";

/** `delivery diff` and `show`: the commits between two releases from the clone's git history, and the settings keys. */
describe("comparing two releases", () => {
    let dir: string;
    let first: string;
    let second: string;
    const git = (...args: string[]) =>
        execFileSync("git", ["-c", "user.email=t@t", "-c", "user.name=t", ...args], { cwd: dir })
            .toString()
            .trim();

    beforeAll(() => {
        dir = mkdtempSync(join(tmpdir(), "delivery-cli-git-"));
        git("init", "-q");
        git("commit", "-q", "--allow-empty", "-m", "one");
        first = git("rev-parse", "HEAD");
        git("commit", "-q", "--allow-empty", "-m", "two");
        second = git("rev-parse", "HEAD");
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("lists what the later commit adds, and going back what the older one lacks", () => {
        expect(commitRange(dir, first, second)).toEqual({ from: first, to: second, log: [`${second.slice(0, 7)} two`], dropped: [] });
        expect(commitRange(dir, second, first)).toEqual({ from: second, to: first, log: [], dropped: [`${second.slice(0, 7)} two`] });
        expect(commitRange(dir, first, first)).toEqual({ from: first, to: first, log: [], dropped: [] });
    });

    it("says which commit the clone lacks instead of a log", () => {
        const absent = "f".repeat(40);
        const r = commitRange(dir, first, absent);
        expect(r.log).toBeNull();
        expect(r.note).toBe(`commit ${absent} is not in this clone (${dir}); git fetch may bring it`);
    });

    it("prints digest, commits and settings keys, never a secret's value or hash", () => {
        const a = { ...ENTRIES[0], commitSha: first };
        const b = { ...ENTRIES[1], commitSha: second };
        const c = compare(dir, a, b);
        expect(c.settings).toEqual({
            added: ["env.GREETING"],
            removed: [],
            changed: ["secretEnv.SECRET_KEY"],
            text: "secretEnv.SECRET_KEY changed, env.GREETING added",
        });
        const text = comparisonText(c);
        expect(text).toBe(
            [
                "image: 111111111111 → 222222222222",
                `commits v2 adds (git log --oneline ${first.slice(0, 8)}..${second.slice(0, 8)}):`,
                `  ${second.slice(0, 7)} two`,
                "settings: secretEnv.SECRET_KEY changed, env.GREETING added",
                "",
            ].join("\n"),
        );
        expect(text).not.toMatch(/hmac/);
    });
});
