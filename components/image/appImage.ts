import * as dockerBuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";
import { imageTags, pinnedRef, refSlug, splitRepository, stripTagAndDigest } from "../refs";
import { RegistryTag, afterTagged } from "../registry/registryTag";
import { RegistryCredentials } from "../registry/registry";

export interface AppImageArgs {
    /** Build context directory (the app). @example "app" */
    readonly context: string;
    /** Dockerfile path. @example "app/Dockerfile" */
    readonly dockerfile: string;
    /** `server/repository` to push to. @example "127.0.0.1:5000/delivery/app" */
    readonly repositoryUrl: string;
    /** Registry host the credentials apply to. @example "127.0.0.1:5000" */
    readonly registryServer: string;
    /** Push credentials (secret). @default undefined (an open registry) */
    readonly credentials?: pulumi.Input<RegistryCredentials | undefined>;
    /** Plain-HTTP registry (local). @default false */
    readonly insecure?: boolean;
    /** The commit being built; becomes the immutable tag. */
    readonly commitSha: string;
    /** Branch or tag name; its slug becomes a moving tag for humans. */
    readonly refName: string;
    /** Passed as the BASE_IMAGE build arg: no base can be pulled from Docker Hub here. @example "127.0.0.1:5000/delivery/python-base:bookworm" */
    readonly baseImage: string;
    /** Image platform. @default "linux/amd64" */
    readonly platform?: string;
}

/**
 * Where the commit's name goes. docker-build's refresh reads each of an Image's `tags` back from
 * the registry, always over HTTPS (its registry client is given no TLS setting): against a
 * plain-HTTP registry every `--refresh` retried for ~3 s (regclient's backoff), then logged "unable
 * to verify image tags, leaving state unchanged" and checked nothing. For such a registry the name
 * is given to the registry export instead (BuildKit pushes the same tag; the Image's read then has
 * no tag to fetch). An HTTPS registry (GitLab's) keeps `tags`: its read is one manifest GET, and a
 * deleted tag shows up on refresh. One name only: BuildKit keeps the last of several `name=` keys,
 * and docker-build refuses a second export before it has booted the builder.
 */
export function commitName(tag: string, insecure: boolean): Pick<dockerBuild.ImageArgs, "tags" | "exports"> {
    if (insecure) {
        return { tags: [], exports: [{ registry: { insecure: true, push: true, names: [tag] } }] };
    }
    return { tags: [tag], exports: [{ registry: { insecure: false, push: true } }] };
}

/**
 * Builds the app once per commit with BuildKit, pushes it tagged with the commit SHA, tags the
 * same manifest with the ref slug, and exposes it only as `repository@sha256:...`. The mutable tags are
 * never an output: what is deployed is what was built.
 */
export class AppImage extends pulumi.ComponentResource {
    /** `repository@sha256:...`. */
    readonly ref: pulumi.Output<string>;
    readonly digest: pulumi.Output<string>;
    /** The tags pushed (commit SHA first). */
    readonly tags: string[];

    constructor(name: string, args: AppImageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("delivery:build:AppImage", name, {}, opts);
        this.tags = imageTags(args.repositoryUrl, args.commitSha, args.refName);
        const creds = pulumi.output(args.credentials);
        const insecure = args.insecure ?? false;
        const image = new dockerBuild.Image(
            `${name}-image`,
            {
                context: { location: args.context },
                dockerfile: { location: args.dockerfile },
                buildArgs: { BASE_IMAGE: args.baseImage },
                platforms: [(args.platform ?? "linux/amd64") as dockerBuild.Platform],
                ...commitName(this.tags[0], insecure),
                push: false,
                labels: {
                    "org.opencontainers.image.revision": args.commitSha,
                    "org.opencontainers.image.ref.name": args.refName,
                },
                registries: creds.apply((c) => (c ? [{ address: args.registryServer, username: c.username, password: pulumi.secret(c.password) }] : [])),
                // Previews must not push; the digest is only known after a real build.
                buildOnPreview: false,
            },
            { parent: this },
        );
        const refTags: RegistryTag[] = [];
        if (this.tags.length > 1) {
            // The ref slug moves with each build of the branch: a tag added to the built manifest,
            // byte for byte, never a second push (see commitName for why not the Image's own).
            const { server, path } = splitRepository(stripTagAndDigest(args.repositoryUrl));
            refTags.push(
                new RegistryTag(
                    `${name}-ref-tag`,
                    {
                        server,
                        repository: path,
                        digest: image.digest,
                        tag: refSlug(args.refName),
                        insecure,
                        mutable: true,
                        credentials: args.credentials,
                    },
                    { parent: this },
                ),
            );
        }
        // Nothing uses the image before its tags are written (registry/registryTag.ts afterTagged says why).
        this.digest = afterTagged(image.digest, refTags);
        this.ref = this.digest.apply((d) => pinnedRef(args.repositoryUrl, d));
        this.registerOutputs({ ref: this.ref, digest: this.digest, tags: this.tags });
    }
}
