import { execFileSync } from "node:child_process";

/** One line of `git <args>` in `cwd`, or undefined outside a checkout (or without git). */
export function gitOutput(cwd: string, ...args: string[]): string | undefined {
    try {
        return (
            execFileSync("git", args, { cwd, stdio: ["ignore", "pipe", "ignore"] })
                .toString()
                .trim() || undefined
        );
    } catch {
        return undefined;
    }
}
