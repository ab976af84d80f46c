/**
 * Image references and the names derived from refs: digests, pinned refs, tags, ref slugs.
 * Pure, with no Pulumi dependency, so that they can be property-tested directly (and
 * captured by the dynamic providers' serialized closures without pulling in a module).
 */

/** A digest as registries print it: `sha256:` and 64 lowercase hex characters. */
export const DIGEST_PATTERN = /^sha256:[a-f0-9]{64}$/;

/** Docker's reference grammar for a repository: optional `host[:port]/`, then lowercase path components. */
const REPOSITORY_PATTERN =
    /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

export interface PinnedRef {
    /** Registry host (with port) and path, without tag or digest: `127.0.0.1:5000/delivery/app`. */
    readonly repository: string;
    /** `sha256:<hex>`. */
    readonly digest: string;
}

/**
 * Parses `repo[:tag]@sha256:<hex>`. Returns undefined for anything that is not pinned
 * by digest, because a mutable tag must never be deployed or promoted.
 */
export function parsePinnedRef(ref: string): PinnedRef | undefined {
    const at = ref.indexOf("@");
    if (at < 0 || ref.indexOf("@", at + 1) >= 0) {
        return undefined;
    }
    const digest = ref.slice(at + 1);
    const name = ref.slice(0, at);
    const repository = stripTagAndDigest(name);
    const tag = name.slice(repository.length + 1);
    if (!DIGEST_PATTERN.test(digest) || !REPOSITORY_PATTERN.test(repository)) {
        return undefined;
    }
    if (name !== repository && !TAG_PATTERN.test(tag)) {
        return undefined;
    }
    return { repository, digest };
}

/** `127.0.0.1:5000/delivery/app` → its registry `127.0.0.1:5000` and the path in it, `delivery/app` (the first component is the registry). */
export function splitRepository(repository: string): { readonly server: string; readonly path: string } {
    const slash = repository.indexOf("/");
    return { server: repository.slice(0, slash), path: repository.slice(slash + 1) };
}

export function isDigestPinned(ref: string): boolean {
    return parsePinnedRef(ref) !== undefined;
}

/** `repository@digest`, the only form in which an image leaves the build. */
export function pinnedRef(repository: string, digest: string): string {
    if (!DIGEST_PATTERN.test(digest)) {
        throw new Error(`"${digest}" is not an image digest (expected sha256:<64 hex characters>)`);
    }
    const repo = stripTagAndDigest(repository);
    return `${repo}@${digest}`;
}

/** Removes a trailing `:tag` and/or `@digest` while keeping a registry port. */
export function stripTagAndDigest(ref: string): string {
    const noDigest = ref.split("@")[0];
    const lastSlash = noDigest.lastIndexOf("/");
    const lastColon = noDigest.lastIndexOf(":");
    return lastColon > lastSlash ? noDigest.slice(0, lastColon) : noDigest;
}

/**
 * GitLab's CI_COMMIT_REF_SLUG: lowercased, shortened to 63 bytes, every character
 * other than 0-9 and a-z replaced with `-`, no leading or trailing `-`.
 * Matching GitLab exactly lets a local run name things the way the pipeline will.
 */
export function refSlug(ref: string): string {
    const slug = ref
        .toLowerCase()
        .replace(/[^a-z0-9]/g, "-")
        .slice(0, 63)
        .replace(/^-+|-+$/g, "");
    return slug;
}

/** A Docker tag is at most 128 characters of `[A-Za-z0-9_.-]`, not starting with `.` or `-`. */
export const TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/**
 * The tags one build pushes: the full commit SHA (immutable by convention) and the ref
 * slug (moves with the branch, so it is a pointer for humans and never deployed).
 */
export function imageTags(repository: string, commitSha: string, ref: string): string[] {
    const tags = [commitSha.toLowerCase()];
    const slug = refSlug(ref);
    if (slug.length > 0 && slug !== tags[0]) {
        tags.push(slug);
    }
    for (const tag of tags) {
        if (!TAG_PATTERN.test(tag)) {
            throw new Error(`"${tag}" is not a valid image tag`);
        }
    }
    return tags.map((t) => `${stripTagAndDigest(repository)}:${t}`);
}

/** Kubernetes DNS-1123 label: namespaces, container names. */
export const DNS_LABEL_PATTERN = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * A DNS-1123 subdomain, the host names of an Ingress rule and of the Docker proxy's routes:
 * dot-separated DNS labels (none empty, each at most 63 characters), at most 253 in all.
 */
export const DNS_HOST_PATTERN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;
