import * as pulumi from "@pulumi/pulumi";
import * as kit from "./providerKit";
import { DEFAULT_DEPLOY_TOKEN_SCOPES, deployTokenScopesProblem, type DeployTokenScope, isoDateProblem } from "./gitlabRules";
import { DynamicResource } from "../dynamicResource";

/**
 * A project deploy token (docs: api/deploy_tokens.md), by default with only `read_registry`: the
 * cluster's image pull secret uses it, because CI job tokens expire and pods must be able to pull
 * again later (node replaced, pod rescheduled).
 *
 * GitLab returns the token value only once, on creation, and has no update call: every input
 * change replaces the token (the new one is created before the old one is revoked, so pulls keep
 * working during the switch). The id is `<project id>:<token id>`.
 *
 * A create whose answer was lost (a 502 after GitLab saved it, a dropped connection) made a token
 * whose value nobody will ever see: it is revoked, the create is sent again, and the provider says
 * so on stderr. No run leaves a live token that is not in the state.
 */
export interface DeployTokenInputs extends kit.ConnectionInputs {
    readonly name: string;
    /** Default `["read_registry"]`. */
    readonly scopes: DeployTokenScope[];
    /** Empty (default): GitLab picks `gitlab+deploy-token-<n>`. */
    readonly username: string;
    /** ISO 8601 date; empty (default): never expires. */
    readonly expiresAt: string;
}

export interface DeployTokenOutputs extends DeployTokenInputs, Partial<kit.ProjectRef> {
    readonly tokenId: number;
    /** The secret; only known from creation. */
    readonly token: string;
    readonly revoked: boolean;
    readonly expired: boolean;
}

export type DeployTokenArgs = kit.ArgsOf<DeployTokenInputs, "name">;

interface DeployTokenJson {
    id: number;
    name: string;
    username: string;
    expires_at: string | null;
    token?: string;
    revoked: boolean;
    expired: boolean;
    scopes: DeployTokenScope[];
}

function withDefaults(news: Partial<DeployTokenInputs>): DeployTokenInputs {
    return {
        ...kit.connectionOf(news),
        name: String(news.name ?? ""),
        scopes: news.scopes ?? [...DEFAULT_DEPLOY_TOKEN_SCOPES],
        username: news.username ?? "",
        expiresAt: news.expiresAt ?? "",
    };
}

function problems(t: DeployTokenInputs): kit.Failure[] {
    const out: kit.Failure[] = [];
    if (!kit.isUnknown(t.name) && t.name.trim() === "") out.push({ property: "name", reason: "deploy token name must not be empty" });
    if (!kit.isUnknown(t.scopes) && Array.isArray(t.scopes)) {
        const why = deployTokenScopesProblem(t.scopes, kit.isUnknown);
        if (why) {
            out.push({ property: "scopes", reason: `deploy token scopes ${why.reason}${why.refused.length ? ` (got ${why.refused.join(", ")})` : ""}` });
        }
    }
    if (t.username && !kit.isUnknown(t.username) && !/^[a-zA-Z0-9.+_-]+$/.test(t.username)) {
        out.push({ property: "username", reason: "deploy token username may only contain letters, digits, '_', '-', '+' and '.'" });
    }
    const dateProblem = t.expiresAt && !kit.isUnknown(t.expiresAt) ? isoDateProblem(t.expiresAt) : undefined;
    if (dateProblem) {
        out.push({ property: "expiresAt", reason: `deploy token expiresAt ${dateProblem} (got ${JSON.stringify(t.expiresAt)})` });
    }
    return out;
}

function toOutputs(inputs: DeployTokenInputs, json: DeployTokenJson, token: string): DeployTokenOutputs {
    return {
        ...inputs,
        tokenId: json.id,
        // The resolved username (GitLab's default when none was asked for) is what the pull
        // secret needs, so it is an output; the input stays as given to avoid a diff.
        username: inputs.username || json.username,
        token,
        revoked: Boolean(json.revoked),
        expired: Boolean(json.expired),
    };
}

export const deployTokenProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: DeployTokenInputs, news: Partial<DeployTokenInputs>) {
        const inputs = withDefaults(news);
        return { inputs, failures: problems(inputs) };
    },

    async diff(_id: string, olds: DeployTokenOutputs, news: DeployTokenInputs) {
        // A username chosen by GitLab shows up in the outputs; only an explicit one counts.
        const oldUsername = olds.username;
        const replaces = [
            ...(await kit.connectionReplaces(olds, news)),
            ...kit.changedKeys(olds, news, ["name", "scopes", "expiresAt"]),
            ...(news.username !== "" && news.username !== oldUsername ? ["username"] : []),
        ];
        const updates = kit.changedKeys(olds, news, ["gitlabToken"]);
        return kit.diffResult(replaces, updates);
    },

    async create(inputs: DeployTokenInputs) {
        const { gl, ref, project } = await kit.beginCreate(
            inputs,
            problems(inputs).map((p) => p.reason),
        );
        const where = `deploy token ${inputs.name} in project ${inputs.project}`;
        const list = async () =>
            (await gl.call(`list deploy tokens of project ${inputs.project}`, (api) =>
                api.DeployTokens.all({ projectId: project } as never),
            )) as unknown as DeployTokenJson[];
        // Tokens of this name made by this create are the ones not there before it.
        const before = new Set((await list()).map((t) => t.id));
        let lost = false;
        const revokeExtras = async (keep: number | undefined) => {
            for (const t of await list()) {
                if (t.name === inputs.name && !before.has(t.id) && t.id !== keep && !t.revoked) {
                    await gl.call(`revoke deploy token ${t.id} in project ${inputs.project}`, (api) => api.DeployTokens.remove(t.id, { projectId: project }), {
                        idempotent: true,
                    });
                    console.warn(
                        `GitLab: revoked deploy token ${t.id} ${JSON.stringify(t.name)} in project ${inputs.project}: GitLab made it, but its answer (which alone carries the token's value) was lost; the token in the state is ${keep ?? "the next one created"}.`,
                    );
                }
            }
        };
        const json = (await gl.call(
            `create ${where}`,
            (api) =>
                api.DeployTokens.create(inputs.name, inputs.scopes as never, {
                    projectId: project,
                    username: inputs.username || undefined,
                    expires_at: inputs.expiresAt || undefined,
                }),
            {
                // A token made by the lost attempt is useless (its value is gone): revoke it, then
                // create again.
                recover: async () => {
                    lost = true;
                    await revokeExtras(undefined);
                    return undefined;
                },
            },
        )) as unknown as DeployTokenJson;
        if (lost) {
            // A lost attempt may have been saved only after the look-up: check once more.
            await revokeExtras(json.id);
        }
        return { id: `${project}:${json.id}`, outs: { ...toOutputs(inputs, json, json.token ?? ""), ...ref } };
    },

    async read(id: string, props: Partial<DeployTokenOutputs>) {
        const [idProject, tokenId] = kit.splitId(id, 2, "deploy token (<project>:<token id>)");
        const inputs = withDefaults({ ...props, project: props.project || idProject });
        const gl = kit.clientFor(inputs);
        const project = kit.apiProject(idProject, props);
        return kit.readOrGone(gl, project, `deploy token ${tokenId}`, async () => {
            const json = (await gl.call(`read deploy token ${tokenId} in project ${project}`, (api) =>
                api.DeployTokens.show(Number(tokenId), { projectId: project }),
            )) as unknown as DeployTokenJson;
            if (json.revoked || json.expired) {
                // Useless for pulls: report it gone so the next `up` makes a new one.
                return { id: "", props: {} };
            }
            const state = {
                ...toOutputs({ ...inputs, name: json.name, scopes: json.scopes, expiresAt: props.expiresAt ?? json.expires_at ?? "" }, json, props.token ?? ""),
                ...(await kit.storedOrResolvedRef(gl, props, project)),
            };
            return { id, props: state };
        });
    },

    async update(_id: string, olds: DeployTokenOutputs, news: DeployTokenInputs) {
        // Only the connection can change in place (everything else replaces).
        return kit.connectionOnlyUpdate(olds, news);
    },

    async delete(id: string, props: DeployTokenOutputs) {
        const [idProject, tokenId] = kit.splitId(id, 2, "deploy token (<project>:<token id>)");
        const project = kit.apiProject(idProject, props);
        const gl = kit.clientFor({ ...props, project });
        await kit.ignoreNotFound(gl, project, `deploy token ${tokenId} (a live token)`, () =>
            gl.call(`revoke deploy token ${tokenId} in project ${project}`, (api) => api.DeployTokens.remove(Number(tokenId), { projectId: project })),
        );
    },
};

/** A GitLab project deploy token as a Pulumi resource; `token` is a secret. */
export class DeployToken extends DynamicResource {
    constructor(name: string, args: DeployTokenArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            deployTokenProvider,
            name,
            kit.resourceProps(args, ["tokenId", "token", "revoked", "expired"]),
            kit.withSecretOutputs(opts, "token"),
            "gitlab",
            "DeployToken",
        );
    }
}

/** The outputs the class shows, typed from the provider's outputs (declaration merging: no class fields). */
export interface DeployToken extends kit.OutputsOf<Pick<DeployTokenOutputs, "name" | "scopes" | "username" | "tokenId" | "token">> {}
