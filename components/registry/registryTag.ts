import * as pulumi from "@pulumi/pulumi";
import { ArgsOf } from "../dynamicArgs";
import { DynamicResource } from "../dynamicResource";

/**
 * Adds a tag to an existing manifest in a registry, without pulling or rebuilding:
 * promotion names the exact digest staging ran (a git tag on a release, say).
 *
 * The manifest is copied byte for byte with the media type the registry served:
 * re-serialising the JSON would produce a different digest.
 */

export interface RegistryTagInputs {
    /** Registry `host[:port]`. @example "127.0.0.1:5000" */
    readonly server: string;
    /** Repository path inside the registry. @example "delivery/app" */
    readonly repository: string;
    /** `sha256:<hex>` of the manifest to tag. */
    readonly digest: string;
    /** The tag to add. @example "v1.2.3" */
    readonly tag: string;
    /** Plain HTTP (a loopback registry only). @default false */
    readonly insecure: boolean;
    /**
     * Whether the tag may be moved onto another digest (a moving tag such as `production`).
     * A release tag (the default) that already names another digest is never moved.
     * @default false
     */
    readonly mutable?: boolean;
    /** Push credentials, as `credentials` in the Args. @default undefined (anonymous) */
    readonly username?: string;
    /** Secret. */
    readonly password?: string;
}

/** The Inputs, with the credentials as one secret pair and `insecure` defaulted. */
export type RegistryTagArgs = Omit<ArgsOf<RegistryTagInputs>, "username" | "password" | "insecure"> & {
    readonly insecure?: pulumi.Input<boolean>;
    readonly credentials?: pulumi.Input<{ username: string; password: string } | undefined>;
};

export const MANIFEST_TYPES = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

/**
 * Answers a registry's 401 challenge: Basic for a plain htpasswd registry, or a Bearer
 * token from the realm it names (GitLab's and Docker Hub's token flow). The answer is kept in
 * `session`, so the later requests of one copy send it at once instead of being challenged again.
 */
export async function authorizedFetch(
    url: string,
    init: RequestInit,
    creds: { username?: string; password?: string },
    scope: string,
    session: { authorization?: string },
): Promise<Response> {
    const withAuthorization = (authorization: string | undefined): RequestInit =>
        authorization === undefined ? init : { ...init, headers: { ...(init.headers as Record<string, string>), authorization } };
    const first = await fetch(url, withAuthorization(session.authorization));
    if (first.status !== 401) {
        return first;
    }
    const challenge = first.headers.get("www-authenticate") ?? "";
    await first.arrayBuffer();
    const basic = creds.username !== undefined ? "Basic " + Buffer.from(`${creds.username}:${creds.password ?? ""}`).toString("base64") : undefined;
    let authorization: string | undefined;
    if (/^basic/i.test(challenge)) {
        authorization = basic;
    } else if (/^bearer/i.test(challenge)) {
        const params: Record<string, string> = {};
        for (const m of challenge.matchAll(/(\w+)="([^"]*)"/g)) {
            params[m[1]] = m[2];
        }
        const tokenUrl = new URL(params.realm);
        if (params.service) {
            tokenUrl.searchParams.set("service", params.service);
        }
        // The challenge names the scope of this request (pull on a GET); ask for what the copy needs.
        tokenUrl.searchParams.set("scope", scope);
        const tokenResponse = await fetch(tokenUrl, { headers: basic ? { authorization: basic } : {} });
        if (!tokenResponse.ok) {
            throw new Error(`registry token service ${tokenUrl.origin} refused the credentials (HTTP ${tokenResponse.status})`);
        }
        const body = (await tokenResponse.json()) as { token?: string; access_token?: string };
        authorization = `Bearer ${body.token ?? body.access_token}`;
    }
    if (authorization === undefined) {
        throw new Error(`registry at ${new URL(url).host} requires authentication (${challenge.split(" ")[0] || "401"}); set the registry credentials`);
    }
    session.authorization = authorization;
    return fetch(url, withAuthorization(authorization));
}

/** Where a manifest lives and who may read it: the fields of the Inputs a read needs. */
export type ManifestLocation = Pick<RegistryTagInputs, "server" | "repository" | "digest" | "insecure" | "username" | "password">;

/**
 * Whether the registry still holds the manifest `digest` (a HEAD on it, with the same challenge
 * answer as copyManifest): `true` on 200, `false` on 404 (deleted, e.g. by a cleanup policy).
 * Throws on anything else, naming the status, since then nothing is known.
 */
export async function manifestExists(location: ManifestLocation): Promise<boolean> {
    const base = `${location.insecure ? "http" : "https"}://${location.server}/v2/${location.repository}/manifests`;
    const res = await authorizedFetch(
        `${base}/${location.digest}`,
        { method: "HEAD", headers: { accept: MANIFEST_TYPES } },
        location,
        `repository:${location.repository}:pull`,
        {},
    );
    await res.arrayBuffer();
    if (res.ok) {
        return true;
    }
    if (res.status === 404) {
        return false;
    }
    throw new Error(`cannot check manifest ${location.repository}@${location.digest} on ${location.server}: HTTP ${res.status}`);
}

/** Copies the manifest `digest` to `tag` and returns the digest the registry reports for the tag. */
export async function copyManifest(inputs: RegistryTagInputs): Promise<string> {
    const { createHash } = require("node:crypto") as typeof import("node:crypto");
    const base = `${inputs.insecure ? "http" : "https"}://${inputs.server}/v2/${inputs.repository}/manifests`;
    const scope = `repository:${inputs.repository}:pull,push`;
    const session = {};
    const got = await authorizedFetch(`${base}/${inputs.digest}`, { headers: { accept: MANIFEST_TYPES } }, inputs, scope, session);
    if (!got.ok) {
        throw new Error(`cannot read manifest ${inputs.repository}@${inputs.digest} from ${inputs.server}: HTTP ${got.status}`);
    }
    const mediaType = got.headers.get("content-type") ?? "application/vnd.oci.image.manifest.v1+json";
    const bytes = Buffer.from(await got.arrayBuffer());
    const actual = "sha256:" + createHash("sha256").update(bytes).digest("hex");
    if (actual !== inputs.digest) {
        throw new Error(`registry served manifest bytes with digest ${actual} for ${inputs.digest}; refusing to tag`);
    }
    // A release tag names one release for good: moving it would make `v1.2.3` mean another
    // build than the one people tested and wrote down.
    const existing = await authorizedFetch(`${base}/${encodeURIComponent(inputs.tag)}`, { headers: { accept: MANIFEST_TYPES } }, inputs, scope, session);
    const heldBytes = Buffer.from(await existing.arrayBuffer());
    if (existing.ok) {
        const held = existing.headers.get("docker-content-digest") ?? "sha256:" + createHash("sha256").update(heldBytes).digest("hex");
        if (held !== inputs.digest && !inputs.mutable) {
            throw new Error(
                `registry tag ${inputs.repository}:${inputs.tag} already names ${held}; a release tag is never moved to another digest (${inputs.digest}). ` +
                    `Promote under a new tag (a new git tag), remove delivery:promotionTag from the stack, or, if ${inputs.tag} is meant to move, ` +
                    `pulumi config set delivery:promotionTagMutable true`,
            );
        }
    } else if (existing.status !== 404) {
        throw new Error(`cannot read tag ${inputs.repository}:${inputs.tag} from ${inputs.server}: HTTP ${existing.status}`);
    }
    const put = await authorizedFetch(
        `${base}/${encodeURIComponent(inputs.tag)}`,
        { method: "PUT", headers: { "content-type": mediaType }, body: bytes },
        inputs,
        scope,
        session,
    );
    if (!put.ok) {
        throw new Error(`cannot tag ${inputs.repository}@${inputs.digest} as ${inputs.tag}: HTTP ${put.status} ${await put.text()}`);
    }
    await put.arrayBuffer();
    const reported = put.headers.get("docker-content-digest") ?? actual;
    if (reported !== inputs.digest) {
        throw new Error(`registry stored tag ${inputs.tag} with digest ${reported}, not ${inputs.digest}`);
    }
    return reported;
}

export const registryTagProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: RegistryTagInputs) {
        const digest = await copyManifest(inputs);
        return { id: `${inputs.server}/${inputs.repository}:${inputs.tag}`, outs: { ...inputs, digest } };
    },
    async diff(_id: string, olds: RegistryTagInputs, news: RegistryTagInputs) {
        const replaces = (["server", "repository", "digest", "tag", "insecure"] as const).filter((k) => olds[k] !== news[k]);
        const changes =
            replaces.length > 0 || olds.username !== news.username || olds.password !== news.password || Boolean(olds.mutable) !== Boolean(news.mutable);
        return { changes, replaces, deleteBeforeReplace: false };
    },
    async update(_id: string, _olds: RegistryTagInputs, news: RegistryTagInputs) {
        return { outs: { ...news } };
    },
    // A tag cannot be deleted by name in the registry API (only the manifest, which would
    // take every other tag of the release with it), so the tag stays; the registry's
    // cleanup policy decides its lifetime.
    async delete() {},
};

/**
 * `value`, resolved only once every one of `tags` is written (a tag's URN resolves when its
 * operation is done, and is known in a preview, so a replaced tag does not make the value unknown). A pull or another
 * tag's PUT of the same manifest while a PUT is under way got a 500 "invalid checksum digest
 * format" from the local registry (distribution's filesystem driver rewrites the manifest's
 * revision link in place on each PUT), so what pulls or tags a digest waits for the tags on it.
 */
export function afterTagged<T>(value: pulumi.Input<T>, tags: readonly RegistryTag[]): pulumi.Output<T> {
    return pulumi.all([value, ...tags.map((t) => t.urn)]).apply(([v]) => v) as pulumi.Output<T>;
}

export class RegistryTag extends DynamicResource {
    declare readonly digest: pulumi.Output<string>;
    declare readonly tag: pulumi.Output<string>;

    constructor(name: string, args: RegistryTagArgs, opts?: pulumi.CustomResourceOptions) {
        const creds = pulumi.output(args.credentials);
        super(
            registryTagProvider,
            name,
            {
                server: args.server,
                repository: args.repository,
                digest: args.digest,
                tag: args.tag,
                insecure: args.insecure ?? false,
                mutable: args.mutable ?? false,
                username: creds.apply((c) => c?.username),
                password: pulumi.secret(creds.apply((c) => c?.password)),
            },
            {
                ...opts,
                additionalSecretOutputs: ["password"],
                aliases: [...(opts?.aliases ?? []), { type: "pulumi-nodejs:dynamic/delivery:registry:RegistryTag:Resource" }],
            },
            "registry",
            "RegistryTag",
        );
    }
}
