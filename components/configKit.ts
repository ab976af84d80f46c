import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { HTTP_URL_PATTERN, HTTP_URL_REASON } from "./patterns";

/**
 * The kit both config readers are built from (components/config.ts for `delivery:`,
 * components/gitlab/gitlabConfig.ts for `gitlab:`): value parsers, key specs, the problem report,
 * the fix command, the unknown-key check and how a refused value is shown. Only the program
 * process uses it (never a dynamic provider), so the error is a class.
 */

/** Raw config strings by key (without the namespace), as the engine hands them over. */
export type Raw = Readonly<Record<string, string | undefined>>;

export const bool = z.enum(["true", "false"], "must be true or false").transform((v) => v === "true");

export const intIn = (min: number, max: number) =>
    z
        .string()
        .regex(/^-?[0-9]+$/, `must be a whole number from ${min} to ${max}`)
        .transform(Number)
        .pipe(z.number().min(min, `must be a whole number from ${min} to ${max}`).max(max, `must be a whole number from ${min} to ${max}`));

export const httpUrl = z.string().regex(HTTP_URL_PATTERN, HTTP_URL_REASON);

/**
 * A string setting checked by a rule written elsewhere: `read` turns the string into the value,
 * `problem` says why the value is refused (undefined when it is fine).
 */
export function checkedBy<T>(read: (s: string) => T, problem: (value: T) => string | undefined): z.ZodType<T, string> {
    return z.string().transform((s, ctx) => {
        const value = read(s);
        const why = problem(value);
        if (why !== undefined) {
            ctx.addIssue({ code: "custom", message: why });
            return z.NEVER;
        }
        return value;
    });
}

export interface KeySpec<T> {
    readonly schema: z.ZodType<T, string>;
    /** An example value for the fix command (for a path key: the path below the key, `NAME`). */
    readonly example: string;
    readonly secret?: boolean;
    /** A map, set entry by entry with `--path`. */
    readonly path?: boolean;
}

export const spec = <T>(schema: z.ZodType<T, string>, example: string, extra: Partial<KeySpec<T>> = {}): KeySpec<T> => ({ schema, example, ...extra });

/** A settings problem report (`what`: "configuration", "GitLab configuration"); every line names a key and the command that fixes it. */
export class SettingsError extends Error {
    constructor(
        what: string,
        readonly stack: string,
        readonly problems: readonly string[],
    ) {
        super(
            `Invalid ${what} for stack "${stack}" (${problems.length} problem${problems.length === 1 ? "" : "s"}); nothing was changed:\n` +
                problems.map((p) => `  - ${p}`).join("\n"),
        );
    }
}

/** The `pulumi config set` command that fixes `namespace:key` in `stack`, with `value` or the key's example. */
export function fixCommandFor(namespace: string, key: string, s: KeySpec<unknown>, stack: string, value?: string): string {
    const secret = s.secret ? " --secret" : "";
    if (s.path) {
        return `pulumi config set${secret} --path '${namespace}:${key}.${s.example}' <value> --stack ${stack}`;
    }
    return `pulumi config set${secret} ${namespace}:${key} ${value ?? s.example} --stack ${stack}`;
}

/** A refused value as the report shows it: never a secret, at most 80 characters. */
export function shownValue(value: string, secret: boolean | undefined): string {
    return secret ? "" : ` (got ${JSON.stringify(value.length > 80 ? value.slice(0, 80) + "…" : value)})`;
}

/** One problem per key in `raw` that `keys` does not have (`what`: "setting", "GitLab setting"). */
export function unknownKeyProblems(namespace: string, keys: object, raw: Raw, stack: string, what: string): string[] {
    const known = new Set(Object.keys(keys));
    return Object.keys(raw)
        .filter((key) => raw[key] !== undefined && !known.has(key))
        .map(
            (key) =>
                `${namespace}:${key}: is not a ${what} of this program (a typo?). Fix: pulumi config rm ${namespace}:${key} --stack ${stack}; the settings are listed in README.md`,
        );
}

/**
 * Parses one key's raw value: the value, or the problem line (`namespace:key[.path]: reason (got
 * …). Fix: …`). `fix` may give a better command for a problem inside a map entry (`path`).
 */
export function parseKey<T>(
    namespace: string,
    key: string,
    s: KeySpec<T>,
    value: string,
    stack: string,
    fix: (path: readonly PropertyKey[]) => string | undefined = () => undefined,
): { ok: true; value: T } | { ok: false; problem: string } {
    const result = s.schema.safeParse(value);
    if (result.success) {
        return { ok: true, value: result.data };
    }
    const issue = result.error.issues[0];
    const path = issue?.path ?? [];
    const where = path.length ? `.${path.join(".")}` : "";
    const command = fix(path) ?? fixCommandFor(namespace, key, s as KeySpec<unknown>, stack);
    return { ok: false, problem: `${namespace}:${key}${where}: ${issue?.message ?? "is invalid"}${shownValue(value, s.secret)}. Fix: ${command}` };
}

// Public at runtime but missing from the SDK's typings: whether the stack stored a key encrypted.
const { isConfigSecret } = require("@pulumi/pulumi/runtime/config") as { isConfigSecret(fullKey: string): boolean };

/**
 * Reads one namespace's keys from the engine's config (keys without the namespace, and which
 * were stored encrypted). The raw strings are read directly (not through `Config.getSecret`)
 * so that they can be validated synchronously; secret values leave the settings readers only
 * wrapped in `pulumi.secret`.
 */
export function readNamespaceConfig(namespace: string): { raw: Record<string, string | undefined>; secretKeys: Set<string> } {
    const raw: Record<string, string | undefined> = {};
    const secretKeys = new Set<string>();
    for (const [fullKey, value] of Object.entries(pulumi.runtime.allConfig())) {
        const [ns, ...rest] = fullKey.split(":");
        if (ns === namespace) {
            const key = rest.join(":");
            raw[key] = value;
            if (isConfigSecret(fullKey)) {
                secretKeys.add(key);
            }
        }
    }
    return { raw, secretKeys };
}
