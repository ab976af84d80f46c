import { found, HttpError, type Params, oneOf } from "./http";
import { type DoubleEnvironment, type DoubleProject } from "./model";
import { type GitlabDouble } from "./server";

export function environmentEntity(e: DoubleEnvironment): unknown {
    return { ...e };
}

/** GitLab's `Environment#guess_tier` (app/models/environment.rb), in its order. */
export function guessTier(name: string): string {
    if (/(dev|review|trunk)/i.test(name)) return "development";
    if (/(test|tst|int|ac(ce|)pt|qa|qc|control|quality)/i.test(name)) return "testing";
    if (/(st(a|)g|mod(e|)l|pre|demo|non)/i.test(name)) return "staging";
    if (/(pr(o|)d|live)/i.test(name)) return "production";
    return "other";
}

export function listEnvironments(d: GitlabDouble, project: DoubleProject, params: Params): DoubleEnvironment[] {
    // [envs] `name` and `search` are mutually exclusive; search needs at least 3 characters.
    if (params.name !== undefined && params.search !== undefined) {
        throw new HttpError(400, { error: "name, search are mutually exclusive" });
    }
    if (params.search !== undefined && String(params.search).length < 3) {
        throw new HttpError(400, { message: "400 Bad request - Search query is less than 3 characters" });
    }
    const states = params.states === undefined ? undefined : oneOf(params, "states", ["available", "stopping", "stopped"]);
    return project.environments.filter(
        (e) =>
            (params.name === undefined || e.name === String(params.name)) &&
            (params.search === undefined || e.name.includes(String(params.search))) &&
            (states === undefined || e.state === states),
    );
}

export function findEnvironment(d: GitlabDouble, project: DoubleProject, id: string): DoubleEnvironment {
    return found(/^[0-9]+$/.test(id) ? project.environments.find((e) => e.id === Number(id)) : undefined);
}

export function createEnvironment(d: GitlabDouble, project: DoubleProject, params: Params): DoubleEnvironment {
    if (params.name === undefined) {
        throw new HttpError(400, { error: "name is missing" });
    }
    const name = String(params.name);
    const tier = params.tier === undefined ? guessTier(name) : oneOf(params, "tier", ["production", "staging", "testing", "development", "other"]);
    const errors: Record<string, string[]> = {};
    if (!/^[a-zA-Z0-9_/${}. -]+$/.test(name) || name.startsWith("/") || name.endsWith("/")) {
        errors.name = ["can contain only letters, digits, '-', '_', '/', '$', '{', '}', '.', and spaces, but it cannot start or end with '/'"];
    } else if (project.environments.some((e) => e.name === name)) {
        errors.name = ["has already been taken"];
    }
    const externalUrl = params.external_url === undefined || params.external_url === null ? null : String(params.external_url);
    if (externalUrl !== null && !/^https?:\/\/[^\s]+$/.test(externalUrl)) {
        errors.external_url = ["is blocked: Only allowed schemes are http, https"];
    }
    if (Object.keys(errors).length > 0) {
        throw new HttpError(400, { message: errors });
    }
    const at = d.now();
    const env: DoubleEnvironment = {
        id: d.id(),
        name,
        slug: name
            .toLowerCase()
            .replace(/[^a-z0-9]/g, "-")
            .slice(0, 24),
        external_url: externalUrl,
        state: "available",
        tier,
        created_at: at,
        updated_at: at,
    };
    project.environments.push(env);
    return env;
}

export function updateEnvironment(d: GitlabDouble, env: DoubleEnvironment, params: Params): DoubleEnvironment {
    // [envs] `name` can no longer be changed (removed in 16.0): only external_url and tier.
    if (params.external_url !== undefined) {
        const url = params.external_url === null ? null : String(params.external_url);
        if (url !== null && !/^https?:\/\/[^\s]+$/.test(url)) {
            throw new HttpError(400, { message: { external_url: ["is blocked: Only allowed schemes are http, https"] } });
        }
        env.external_url = url;
    }
    if (params.tier !== undefined) {
        env.tier = oneOf(params, "tier", ["production", "staging", "testing", "development", "other"]);
    }
    env.updated_at = d.now();
    return env;
}
