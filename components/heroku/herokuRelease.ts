import * as pulumi from "@pulumi/pulumi";
import { ArgsOf } from "../dynamicArgs";
import { parsePinnedRef, splitRepository } from "../refs";
import { copyImage } from "../registry/blobCopy";
import { followRelease, herokuRequest, newestRelease } from "./herokuApi";
import { DynamicResource } from "../dynamicResource";

/**
 * Releases one image, by digest, to one process type of a Heroku app, with no build:
 *
 * 1. the image is copied byte for byte from the stack's registry into the app's repository in
 *    Heroku's registry, `<registry>/<app>/<process type>` (components/registry/blobCopy.ts; login
 *    user `_`, the API key as password, as "Container Registry & Runtime (Docker Deploys)" says),
 *    tagged `latest` as `heroku container:push` leaves it. That registry "only supports Docker
 *    Image Manifest V2, Schema 2"; another media type is refused, since converting it would
 *    change the digest;
 * 2. "Formation Batch Update" (PATCH /apps/{app}/formation) names the image as
 *    `{"updates": [{"type": "web", "docker_image": "<image id>"}]}`, the image id being what
 *    `docker inspect <image> --format={{.Id}}` prints: the digest of the image's config blob,
 *    which the manifest (by its digest) names;
 * 3. the release that makes is followed (GET /apps/{app}/releases/{id}) until `succeeded`, or
 *    fails the update with the last lines of its `output_stream_url` when `failed`;
 * 4. the app's `web_url` (GET /apps/{app}) is the release's URL.
 *
 * Deleting leaves the app running what it runs: the app is not the stack's.
 * The provider functions are serialized into the state: modules are required inside.
 */

/** What Heroku's registry takes (Container Registry & Runtime, "Unsupported"...: Docker Image Manifest V2, Schema 2 only). */
export const HEROKU_MANIFEST_TYPES = ["application/vnd.docker.distribution.manifest.v2+json"];

export interface HerokuReleaseInputs {
    readonly apiUrl: string;
    /** Secret. */
    readonly apiKey: string;
    readonly app: string;
    /** @example "web" */
    readonly processType: string;
    /** Heroku's registry `host[:port]`. @example "registry.heroku.com" */
    readonly registry: string;
    /** Plain HTTP to it (loopback only). */
    readonly registryInsecure: boolean;
    /** The digest-pinned image in the stack's registry. @example "127.0.0.1:5000/delivery/app@sha256:…" */
    readonly imageRef: string;
    /** Plain HTTP to the stack's registry. */
    readonly sourceInsecure: boolean;
    readonly sourceUsername?: string;
    /** Secret. */
    readonly sourcePassword?: string;
    readonly releaseTimeoutSeconds: number;
}

export interface HerokuReleaseOutputs extends HerokuReleaseInputs {
    readonly digest: string;
    /** The image id the formation names. */
    readonly imageId: string;
    /** The Heroku release that runs it. */
    readonly releaseVersion: number;
    readonly webUrl: string;
}

async function release(inputs: HerokuReleaseInputs): Promise<HerokuReleaseOutputs> {
    const conn = { apiUrl: inputs.apiUrl, apiKey: inputs.apiKey };
    const app = encodeURIComponent(inputs.app);
    const { repository, digest } = parsePinnedRef(inputs.imageRef)!;
    const { server, path } = splitRepository(repository);
    const copied = await copyImage({
        source: {
            server,
            repository: path,
            insecure: inputs.sourceInsecure,
            username: inputs.sourceUsername,
            password: inputs.sourcePassword,
        },
        target: {
            server: inputs.registry,
            repository: `${inputs.app}/${inputs.processType}`,
            insecure: inputs.registryInsecure,
            username: "_",
            password: inputs.apiKey,
        },
        digest,
        tag: "latest",
        acceptedMediaTypes: HEROKU_MANIFEST_TYPES,
    });
    await herokuRequest(conn, "PATCH", `/apps/${app}/formation`, { updates: [{ type: inputs.processType, docker_image: copied.configDigest }] });
    const made = await newestRelease(conn, inputs.app);
    if (made === undefined) {
        throw new Error(`Heroku lists no release of ${inputs.app} after the formation update`);
    }
    const done = await followRelease(conn, inputs.app, made, inputs.releaseTimeoutSeconds);
    const info = await herokuRequest<{ web_url?: string }>(conn, "GET", `/apps/${app}`);
    return { ...inputs, digest, imageId: copied.configDigest, releaseVersion: done.version, webUrl: info.web_url ?? "" };
}

/** The inputs whose change means another image (or place) to release; the rest is updated in place. */
const RELEASING = ["apiUrl", "app", "processType", "registry", "registryInsecure", "imageRef"] as const;

export const herokuReleaseProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: HerokuReleaseInputs, news: HerokuReleaseInputs) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        const unknown = news.imageRef === pulumi.runtime.unknownValue;
        // Pinned by digest (refs.ts, the one check), and in a registry: the copy reads it from there.
        if (!unknown && !parsePinnedRef(news.imageRef ?? "")?.repository.includes("/")) {
            failures.push({
                property: "imageRef",
                reason: `"${news.imageRef}" is not a registry image pinned by digest; Heroku is given only repo@sha256:... images`,
            });
        }
        return { inputs: news, failures };
    },
    async create(inputs: HerokuReleaseInputs) {
        return { id: `${inputs.app}/${inputs.processType}`, outs: await release(inputs) };
    },
    async diff(_id: string, olds: HerokuReleaseOutputs, news: HerokuReleaseInputs) {
        const keys = Object.keys({ ...olds, ...news }).filter((k) => !["digest", "imageId", "releaseVersion", "webUrl"].includes(k)) as Array<
            keyof HerokuReleaseInputs
        >;
        return { changes: keys.some((k) => olds[k] !== news[k]), replaces: [], deleteBeforeReplace: false };
    },
    async update(_id: string, olds: HerokuReleaseOutputs, news: HerokuReleaseInputs) {
        if (RELEASING.every((k) => olds[k] === news[k])) {
            return { outs: { ...olds, ...news } };
        }
        return { outs: await release(news) };
    },
    async delete() {},
};

export type HerokuReleaseArgs = ArgsOf<HerokuReleaseInputs>;

export class HerokuRelease extends DynamicResource {
    declare readonly digest: pulumi.Output<string>;
    declare readonly imageId: pulumi.Output<string>;
    declare readonly releaseVersion: pulumi.Output<number>;
    declare readonly webUrl: pulumi.Output<string>;

    constructor(name: string, args: HerokuReleaseArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            herokuReleaseProvider,
            name,
            {
                ...args,
                apiKey: pulumi.secret(args.apiKey),
                sourcePassword: pulumi.secret(args.sourcePassword),
                digest: undefined,
                imageId: undefined,
                releaseVersion: undefined,
                webUrl: undefined,
            },
            { ...opts, additionalSecretOutputs: ["apiKey", "sourcePassword"] },
            "heroku",
            "HerokuRelease",
        );
    }
}
