import * as pulumi from "@pulumi/pulumi";
import { ArgsOf } from "../dynamicArgs";
import { followRelease, herokuRequest, newestRelease } from "./herokuApi";
import { DynamicResource } from "../dynamicResource";

/**
 * The config vars this stack gives one Heroku app: its plain and secret settings and RELEASE_ID
 * ("Config Vars Update", PATCH /apps/{app}/config-vars; a var set to `null` is removed). A var
 * this resource set before and the settings no longer have is sent as `null`, so it is removed
 * on Heroku; vars it never set (an add-on's DATABASE_URL) are left alone. Heroku makes a new
 * release of every config change; it is followed until it succeeds or fails.
 *
 * Heroku sets PORT itself; the settings cannot hold it (config.ts refuses it) and it is not sent.
 * The provider functions are serialized into the state: modules are required inside.
 */

export interface HerokuConfigVarsInputs {
    readonly apiUrl: string;
    /** Secret. */
    readonly apiKey: string;
    readonly app: string;
    /** Plain vars (RELEASE_ID among them). */
    readonly vars: Record<string, string>;
    /** Secret vars. Secret. */
    readonly secretVars: Record<string, string>;
    /** How long the release a change makes may stay pending. */
    readonly releaseTimeoutSeconds: number;
}

export interface HerokuConfigVarsOutputs extends HerokuConfigVarsInputs {
    /** The Heroku release the last change made (its version). */
    readonly releaseVersion?: number;
}

async function applyVars(news: HerokuConfigVarsInputs, olds: HerokuConfigVarsInputs | undefined, remove = false): Promise<number | undefined> {
    const conn = { apiUrl: news.apiUrl, apiKey: news.apiKey };
    const body: Record<string, string | null> = {};
    for (const name of [...Object.keys(olds?.vars ?? {}), ...Object.keys(olds?.secretVars ?? {})]) {
        body[name] = null;
    }
    if (!remove) {
        Object.assign(body, news.vars, news.secretVars);
    }
    await herokuRequest(conn, "PATCH", `/apps/${encodeURIComponent(news.app)}/config-vars`, body);
    const release = await newestRelease(conn, news.app);
    return release ? (await followRelease(conn, news.app, release, news.releaseTimeoutSeconds)).version : undefined;
}

export const herokuConfigVarsProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: HerokuConfigVarsInputs) {
        const releaseVersion = await applyVars(inputs, undefined);
        return { id: `${inputs.app}/config-vars`, outs: { ...inputs, releaseVersion } };
    },
    async diff(_id: string, olds: HerokuConfigVarsOutputs, news: HerokuConfigVarsInputs) {
        const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
        const keys = ["apiUrl", "apiKey", "app", "vars", "secretVars", "releaseTimeoutSeconds"] as const;
        const sorted = (o: Record<string, string> | undefined) => Object.fromEntries(Object.entries(o ?? {}).sort(([a], [b]) => a.localeCompare(b)));
        const changed = keys.filter((k) => (k === "vars" || k === "secretVars" ? !same(sorted(olds[k]), sorted(news[k])) : olds[k] !== news[k]));
        return { changes: changed.length > 0, replaces: olds.app !== news.app ? ["app"] : [], deleteBeforeReplace: false };
    },
    async update(_id: string, olds: HerokuConfigVarsOutputs, news: HerokuConfigVarsInputs) {
        const same = (a: Record<string, string>, b: Record<string, string>) =>
            Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);
        if (same(olds.vars, news.vars) && same(olds.secretVars, news.secretVars)) {
            // Only the key or a timeout changed: nothing to send, no release.
            return { outs: { ...news, releaseVersion: olds.releaseVersion } };
        }
        // Only the names that are gone are sent as null; the rest is overwritten.
        const gone = (o: Record<string, string>) =>
            Object.fromEntries(
                Object.keys(o)
                    .filter((k) => !(k in news.vars) && !(k in news.secretVars))
                    .map((k) => [k, ""]),
            );
        const releaseVersion = await applyVars(news, { ...olds, vars: gone(olds.vars), secretVars: gone(olds.secretVars) });
        return { outs: { ...news, releaseVersion } };
    },
    // The app is not the stack's: on destroy only the vars this stack set are removed.
    async delete(_id: string, props: HerokuConfigVarsOutputs) {
        await applyVars(props, props, true);
    },
};

export type HerokuConfigVarsArgs = ArgsOf<HerokuConfigVarsInputs>;

export class HerokuConfigVars extends DynamicResource {
    declare readonly releaseVersion: pulumi.Output<number | undefined>;

    constructor(name: string, args: HerokuConfigVarsArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            herokuConfigVarsProvider,
            name,
            { ...args, apiKey: pulumi.secret(args.apiKey), secretVars: pulumi.secret(args.secretVars), releaseVersion: undefined },
            { ...opts, additionalSecretOutputs: ["apiKey", "secretVars"] },
            "heroku",
            "HerokuConfigVars",
        );
    }
}
