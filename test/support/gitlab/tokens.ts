import { randomBytes } from "node:crypto";
import { found, HttpError, type Params } from "./http";
import { type DoubleDeployToken, type DoubleProject } from "./model";
import { type GitlabDouble } from "./server";

export const DEPLOY_TOKEN_SCOPES = [
    "read_repository",
    "read_registry",
    "write_registry",
    "read_package_registry",
    "write_package_registry",
    "read_virtual_registry",
    "write_virtual_registry",
];

export function deployTokenEntity(t: DoubleDeployToken, withToken: boolean): unknown {
    // [tokens] the token value is returned only by the create call.
    const { token, ...rest } = t;
    return { ...rest, expired: expired(t), ...(withToken ? { token } : {}) };
}

export function expired(t: DoubleDeployToken): boolean {
    return t.expires_at !== null && Date.parse(t.expires_at) < Date.now();
}

export function findDeployToken(d: GitlabDouble, project: DoubleProject, id: string): DoubleDeployToken {
    return found(/^[0-9]+$/.test(id) ? project.deployTokens.find((x) => x.id === Number(id)) : undefined);
}

export function createDeployToken(d: GitlabDouble, project: DoubleProject, params: Params): DoubleDeployToken {
    const missing = ["name", "scopes"].filter((k) => params[k] === undefined);
    if (missing.length > 0) {
        throw new HttpError(400, { error: missing.map((k) => `${k} is missing`).join(", ") });
    }
    const scopes = Array.isArray(params.scopes) ? params.scopes.map(String) : [String(params.scopes)];
    // [tokens] "Must be at least one of read_repository, read_registry, ...".
    if (scopes.length === 0 || scopes.some((s) => !DEPLOY_TOKEN_SCOPES.includes(s))) {
        throw new HttpError(400, { error: "scopes does not have a valid value" });
    }
    let expiresAt: string | null = null;
    if (params.expires_at !== undefined && params.expires_at !== null && params.expires_at !== "") {
        const t = Date.parse(String(params.expires_at));
        if (Number.isNaN(t)) {
            throw new HttpError(400, { error: "expires_at is invalid" });
        }
        expiresAt = new Date(t).toISOString();
    }
    const id = d.id();
    const username = params.username === undefined || params.username === "" ? `gitlab+deploy-token-${id}` : String(params.username);
    if (!/^[a-zA-Z0-9.+_-]+$/.test(username)) {
        throw new HttpError(400, { message: { username: ["can contain only letters, digits, '_', '-', '+', and '.'"] } });
    }
    const token: DoubleDeployToken = {
        id,
        name: String(params.name),
        username,
        expires_at: expiresAt,
        token: `gldt-${randomBytes(15).toString("base64url")}`,
        revoked: false,
        scopes,
    };
    project.deployTokens.push(token);
    return token;
}
