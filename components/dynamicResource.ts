import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/**
 * `pulumi.dynamic.Resource` (same type token `pulumi-nodejs:dynamic/<module>:<Type>`, same
 * `__provider` text), except where that text comes from. The SDK serializes each provider's
 * closure on every run: it walks the provider's functions through V8's inspector and parses each
 * with TypeScript, ~0.3 s of a no-op preview's CPU here, before the first dynamic resource can
 * register (and so before the engine starts the provider's process). When the program runs
 * through loader.js, the text is kept in a cache instead, under a key made of everything it is
 * made from:
 *
 * - the type token, and the loader's key of every project module loaded so far (each names one
 *   file's exact text: the provider's functions, and every module they capture, are among them);
 * - node_modules/.package-lock.json (what npm installed: the packages a provider captures by value
 *   or requires by name), the `@pulumi/pulumi` version (its serializer) and the Node.js version
 *   (`Function.toString`).
 *
 * So the text depends only on source, as long as a provider captures nothing set at run time (a
 * module variable the program assigns, an environment variable read when a module loads): that
 * is the rule for provider modules (their functions read such things when they run), and
 * `DELIVERY_PROVIDER_CACHE=verify` (set for the GitLab and k8s test levels and the Heroku e2e
 * stacks; test/e2e/providerCache.test.ts)
 * serializes again on every hit and fails the run if the two texts differ. `off` never uses the
 * cache. A text that captured a secret is never written (the state keeps it encrypted; a cache
 * file would not).
 */
export abstract class DynamicResource extends pulumi.CustomResource {
    constructor(
        provider: pulumi.dynamic.ResourceProvider,
        name: string,
        props: pulumi.Inputs,
        opts: pulumi.CustomResourceOptions | undefined,
        module: string,
        type: string,
    ) {
        if (props.__provider) {
            throw new Error("A dynamic resource must not define the __provider key");
        }
        const token = `pulumi-nodejs:dynamic/${module}:${type}`;
        super(token, name, { ...props, __provider: providerText(token, provider) }, opts);
    }
}

/** What loader.js tells of the run and how it writes cache entries (loader.js `loaded`, `registered`, `writeEntry`). */
interface LoaderState {
    readonly loaded: Map<string, string>;
    readonly registered?: { readonly root: string; readonly cacheDir: string };
    /** Writes an entry atomically (temporary file, rename). */
    readonly writeEntry: (entry: string, text: string) => void;
}

/** Per process, one text per provider object, as the SDK's own cache. */
const texts = new WeakMap<pulumi.dynamic.ResourceProvider, pulumi.Output<string>>();

function providerText(token: string, provider: pulumi.dynamic.ResourceProvider): pulumi.Output<string> {
    let text = texts.get(provider);
    if (!text) {
        text = cachedText(token, provider);
        texts.set(provider, text);
    }
    return text;
}

/** The SDK's serialization, verbatim: `serializeFunction(() => provider, { allowSecrets: true })`. */
function serialize(provider: pulumi.dynamic.ResourceProvider): Promise<pulumi.runtime.SerializedFunction> {
    return pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
}

function asOutput(serialized: Promise<pulumi.runtime.SerializedFunction>): pulumi.Output<string> {
    return pulumi.output(serialized).apply((s): pulumi.Output<string> => (s.containsSecrets ? pulumi.secret(s.text) : pulumi.output(s.text)));
}

const MODES = ["on", "verify", "off"] as const;

/** DELIVERY_PROVIDER_CACHE, checked: a typo must not quietly mean "on". */
export function cacheMode(env: NodeJS.ProcessEnv = process.env): (typeof MODES)[number] {
    const raw = env.DELIVERY_PROVIDER_CACHE ?? "on";
    const mode = MODES.find((m) => m === raw);
    if (!mode) {
        throw new pulumi.RunError(
            `DELIVERY_PROVIDER_CACHE is "${raw}": expected on (the default), verify or off. Fix: unset DELIVERY_PROVIDER_CACHE, or export DELIVERY_PROVIDER_CACHE=verify`,
        );
    }
    return mode;
}

// Read when the program's modules load: a bad value stops the run before any resource registers.
const mode = cacheMode();

function cachedText(token: string, provider: pulumi.dynamic.ResourceProvider): pulumi.Output<string> {
    const loader = loaderState();
    // Outside loader.js (the unit tests' module transform) the keys are unknown: serialize.
    if (mode === "off" || !loader?.registered || !loader.loaded.has(__filename)) {
        return asOutput(serialize(provider));
    }
    const entry = entryPath(loader, token);
    const hit = readEntry(entry);
    if (hit !== undefined && mode !== "verify") {
        return pulumi.output(hit);
    }
    const serialized = serialize(provider).then((s) => {
        if (hit !== undefined && hit !== s.text) {
            // The entry cannot be trusted: a later run without verify must not read it.
            fs.rmSync(entry, { force: true });
            throw new Error(
                `${token}: the cached provider text (${entry}) differs from a fresh serialization, so this provider captures ` +
                    "something its source does not fix (a module variable set at run time, or an environment variable read when " +
                    "its module loads). Fix: read that value inside the provider's functions (components/dynamicResource.ts explains the rule).",
            );
        }
        if (hit === undefined && !s.containsSecrets) {
            loader.writeEntry(entry, s.text);
        }
        return s;
    });
    return asOutput(serialized);
}

function loaderState(): LoaderState | undefined {
    try {
        // The loader that runs this program: the project's own, next to components/.
        return require(path.join(__dirname, "..", "loader.js")) as LoaderState;
    } catch {
        return undefined;
    }
}

/** The part of every key that does not depend on the provider: read once per process. */
let baseHash: ReturnType<typeof createHash> | undefined;

function entryPath(loader: LoaderState, token: string): string {
    const { root, cacheDir } = loader.registered!;
    if (!baseHash) {
        baseHash = createHash("sha256").update(`delivery-provider-text\0${process.version}\0`);
        baseHash.update(`${readOrEmpty(require.resolve("@pulumi/pulumi/package.json", { paths: [root] }))}\0`);
        // What npm installed (project copies link node_modules, not package-lock.json).
        baseHash.update(`${readOrEmpty(path.join(root, "node_modules", ".package-lock.json"))}\0`);
    }
    const hash = baseHash.copy().update(`${token}\0`);
    for (const [file, key] of [...loader.loaded].sort(([a], [b]) => (a < b ? -1 : 1))) {
        hash.update(`${path.relative(root, file)}\0${key}\0`);
    }
    const key = hash.digest("hex");
    return path.join(path.dirname(cacheDir), "delivery-providers", key.slice(0, 2), `${key}.js`);
}

function readOrEmpty(file: string): string {
    try {
        return fs.readFileSync(file, "utf8");
    } catch {
        return "";
    }
}

/** An entry's text; none for a missing entry, or one that is not a serialized provider (a file cut short by a crash). */
function readEntry(entry: string): string | undefined {
    try {
        const text = fs.readFileSync(entry, "utf8");
        return text.startsWith("exports.handler = ") ? text : undefined;
    } catch {
        return undefined;
    }
}
