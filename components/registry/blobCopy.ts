import { MANIFEST_TYPES, authorizedFetch } from "./registryTag";

/**
 * Copies one image, named by digest, from a repository of one registry to a repository of
 * another (or the same) registry, byte for byte, without pulling it into an engine or
 * rebuilding it: the blobs the manifest names (config and layers) first, then the manifest's
 * exact bytes with the media type the source served, so the target holds the same digest.
 *
 * Each blob already in the target repository is left alone (HEAD); within one registry it is
 * mounted from the source repository (`POST …/blobs/uploads/?mount=<digest>&from=<repo>`,
 * distribution spec "Mounting a blob from another repository"); otherwise it is read (GET)
 * and uploaded in one piece (POST then `PUT <location>?digest=`, "Pushing a blob monolithically").
 * Every blob's bytes are hashed on the way and must match their digest; the manifest's digest
 * is checked before the copy (as served) and after (as the target reports it), as copyManifest does.
 *
 * Serialized into the state with the providers that call it: requires modules inside.
 */

/** One side of a copy: a repository in a registry and who may use it. */
export interface RepositoryEndpoint {
    /** Registry `host[:port]`. @example "registry.heroku.com" */
    readonly server: string;
    /** Repository path inside it. @example "my-app/web" */
    readonly repository: string;
    /** Plain HTTP (a loopback registry only). */
    readonly insecure: boolean;
    readonly username?: string;
    /** Secret. */
    readonly password?: string;
}

export interface ImageCopy {
    readonly source: RepositoryEndpoint;
    readonly target: RepositoryEndpoint;
    /** `sha256:<hex>` of the manifest. */
    readonly digest: string;
    /** Also name the copy by this tag in the target (Heroku releases `<app>/<process>:latest`). @default the digest only */
    readonly tag?: string;
    /** Media types the target accepts; another one is refused before anything is copied. @default any */
    readonly acceptedMediaTypes?: readonly string[];
}

export interface CopiedImage {
    readonly digest: string;
    readonly mediaType: string;
    /** The digest of the image's config blob: what `docker inspect --format={{.Id}}` prints, the image id. */
    readonly configDigest: string;
    /** How each blob got there. */
    readonly blobs: { readonly present: number; readonly mounted: number; readonly uploaded: number };
}

interface Descriptor {
    readonly digest: string;
    readonly size: number;
    readonly mediaType?: string;
}

function copyError(message: string): Error {
    return new Error(message);
}

/** Copies `digest` and returns what the target then holds. */
export async function copyImage(copy: ImageCopy): Promise<CopiedImage> {
    const { createHash } = require("node:crypto") as typeof import("node:crypto");
    const sha = (bytes: Buffer) => "sha256:" + createHash("sha256").update(bytes).digest("hex");
    const base = (e: RepositoryEndpoint) => `${e.insecure ? "http" : "https"}://${e.server}/v2/${e.repository}`;
    const sameRegistry = copy.source.server === copy.target.server;
    const sourceSession = {};
    const targetSession = {};
    const sourceScope = `repository:${copy.source.repository}:pull`;
    // A mount needs pull on the source repository in the same token.
    const targetScope = `repository:${copy.target.repository}:pull,push` + (sameRegistry ? ` repository:${copy.source.repository}:pull` : "");
    const fromSource = (url: string, init: RequestInit = {}) => authorizedFetch(url, init, copy.source, sourceScope, sourceSession);
    const toTarget = (url: string, init: RequestInit = {}) => authorizedFetch(url, init, copy.target, targetScope, targetSession);
    const where = (e: RepositoryEndpoint) => `${e.server}/${e.repository}`;

    const got = await fromSource(`${base(copy.source)}/manifests/${copy.digest}`, { headers: { accept: MANIFEST_TYPES } });
    if (!got.ok) {
        throw copyError(`cannot read manifest ${where(copy.source)}@${copy.digest}: HTTP ${got.status}`);
    }
    const mediaType = (got.headers.get("content-type") ?? "").split(";")[0].trim();
    const bytes = Buffer.from(await got.arrayBuffer());
    if (sha(bytes) !== copy.digest) {
        throw copyError(`registry served manifest bytes with digest ${sha(bytes)} for ${where(copy.source)}@${copy.digest}; refusing to copy`);
    }
    if (copy.acceptedMediaTypes && !copy.acceptedMediaTypes.includes(mediaType)) {
        throw copyError(
            `${where(copy.source)}@${copy.digest} is a ${mediaType || "manifest without a media type"}, which ${copy.target.server} does not accept ` +
                `(it takes ${copy.acceptedMediaTypes.join(", ")}); converting it would change the digest, so nothing was copied`,
        );
    }
    const manifest = JSON.parse(bytes.toString("utf8")) as { config?: Descriptor; layers?: Descriptor[]; manifests?: Descriptor[] };
    if (manifest.manifests !== undefined || manifest.config === undefined) {
        throw copyError(`${where(copy.source)}@${copy.digest} is an image index; only a single-platform image manifest is copied`);
    }
    const counts = { present: 0, mounted: 0, uploaded: 0 };
    for (const blob of [manifest.config, ...(manifest.layers ?? [])]) {
        const head = await toTarget(`${base(copy.target)}/blobs/${blob.digest}`, { method: "HEAD" });
        await head.arrayBuffer();
        if (head.ok) {
            counts.present++;
            continue;
        }
        if (head.status !== 404) {
            throw copyError(`cannot check blob ${blob.digest} in ${where(copy.target)}: HTTP ${head.status}`);
        }
        let location: string | undefined;
        if (sameRegistry) {
            const mount = await toTarget(
                `${base(copy.target)}/blobs/uploads/?mount=${encodeURIComponent(blob.digest)}&from=${encodeURIComponent(copy.source.repository)}`,
                { method: "POST", headers: { "content-length": "0" } },
            );
            await mount.arrayBuffer();
            if (mount.status === 201) {
                counts.mounted++;
                continue;
            }
            // 202: the registry opened an upload session instead (it could not mount).
            location = mount.status === 202 ? (mount.headers.get("location") ?? undefined) : undefined;
        }
        const blobRes = await fromSource(`${base(copy.source)}/blobs/${blob.digest}`);
        if (!blobRes.ok) {
            throw copyError(`cannot read blob ${blob.digest} from ${where(copy.source)}: HTTP ${blobRes.status}`);
        }
        const data = Buffer.from(await blobRes.arrayBuffer());
        if (sha(data) !== blob.digest || data.length !== blob.size) {
            throw copyError(`blob ${blob.digest} read from ${where(copy.source)} has digest ${sha(data)} and ${data.length} bytes; refusing to copy`);
        }
        if (location === undefined) {
            const start = await toTarget(`${base(copy.target)}/blobs/uploads/`, { method: "POST", headers: { "content-length": "0" } });
            await start.arrayBuffer();
            location = start.headers.get("location") ?? undefined;
            if (start.status !== 202 || location === undefined) {
                throw copyError(`cannot start a blob upload in ${where(copy.target)}: HTTP ${start.status}`);
            }
        }
        const url = new URL(location, `${copy.target.insecure ? "http" : "https"}://${copy.target.server}`);
        url.searchParams.set("digest", blob.digest);
        const put = await toTarget(url.toString(), {
            method: "PUT",
            headers: { "content-type": "application/octet-stream", "content-length": String(data.length) },
            body: data,
        });
        const putText = await put.text();
        if (put.status !== 201) {
            throw copyError(`cannot upload blob ${blob.digest} to ${where(copy.target)}: HTTP ${put.status} ${putText.slice(0, 300)}`);
        }
        counts.uploaded++;
    }
    for (const reference of [copy.digest, ...(copy.tag ? [copy.tag] : [])]) {
        const put = await toTarget(`${base(copy.target)}/manifests/${encodeURIComponent(reference)}`, {
            method: "PUT",
            headers: { "content-type": mediaType },
            body: bytes,
        });
        const text = await put.text();
        if (!put.ok) {
            throw copyError(`cannot put manifest ${copy.digest} into ${where(copy.target)} as ${reference}: HTTP ${put.status} ${text.slice(0, 300)}`);
        }
        const reported = put.headers.get("docker-content-digest") ?? copy.digest;
        if (reported !== copy.digest) {
            throw copyError(`${where(copy.target)} stored ${reference} with digest ${reported}, not ${copy.digest}`);
        }
    }
    // After: the target serves the same bytes by digest.
    const check = await toTarget(`${base(copy.target)}/manifests/${copy.digest}`, { headers: { accept: MANIFEST_TYPES } });
    const held = Buffer.from(await check.arrayBuffer());
    if (!check.ok || sha(held) !== copy.digest) {
        throw copyError(`${where(copy.target)} does not serve ${copy.digest} after the copy (HTTP ${check.status}, bytes ${sha(held)})`);
    }
    return { digest: copy.digest, mediaType, configDigest: manifest.config.digest, blobs: counts };
}
