import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * tools/*\/go.mod pin the engine, the plugins and the local services' binaries: they are the
 * truth. scripts/env.sh derives the versions from them; every other place that names a version
 * (package.json's SDK pins, the READMEs) is checked against them here.
 */

const ROOT = join(__dirname, "..", "..");
const read = (...p: string[]) => readFileSync(join(ROOT, ...p), "utf8");
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The version a tools/<dir>/go.mod requires of <module>, without the leading v. */
function required(dir: string, module: string): string {
    const m = read("tools", dir, "go.mod").match(new RegExp(`^(?:require\\s+)?\\s*${escape(module)}\\s+v(\\S+)`, "m"));
    if (!m) throw new Error(`tools/${dir}/go.mod does not require ${module}`);
    return m[1];
}

const pinned = {
    pulumi: required("pulumi", "github.com/pulumi/pulumi/pkg/v3"),
    sdk: required("pulumi", "github.com/pulumi/pulumi/sdk/v3"),
    languageSdk: required("language-nodejs", "github.com/pulumi/pulumi/sdk/v3"),
    dockerBuild: required("docker-build", "github.com/pulumi/pulumi-docker-build"),
    // Pinned by pseudo-version; the go.mod names the release it is.
    kubernetes: (read("tools", "kubernetes", "go.mod").match(/^\/\/ release: v?(\S+)$/m) ?? [])[1],
    buildkit: required("buildkit", "github.com/moby/buildkit"),
    k8s: required("k8s-control-plane", "k8s.io/kubernetes"),
    etcd: required("etcd", "go.etcd.io/etcd/server/v3"),
    kwok: required("kwok", "sigs.k8s.io/kwok"),
};

describe("versions: tools/*/go.mod are the truth", () => {
    it("reads every pin", () => {
        for (const [name, v] of Object.entries(pinned)) expect(v, name).toMatch(/^\d+\.\d+\.\d+$/);
        // The engine, its SDK and the language host's SDK move together.
        expect(pinned.sdk).toBe(pinned.pulumi);
        expect(pinned.languageSdk).toBe(pinned.pulumi);
    });

    it("scripts/env.sh derives its versions from them", () => {
        const out = execFileSync("bash", [
            "-c",
            `source "${ROOT}/scripts/env.sh" && printf '%s\\n' "$PULUMI_VERSION" "$KUBERNETES_PLUGIN_VERSION" "$DOCKER_BUILD_PLUGIN_VERSION" "$BUILDKIT_VERSION" "$DELIVERY_ENGINE_DIR"`,
        ])
            .toString()
            .split("\n");
        expect(out.slice(0, 4)).toEqual([pinned.pulumi, pinned.kubernetes, pinned.dockerBuild, pinned.buildkit]);
        expect(out[4]).toMatch(new RegExp(`/engine/pulumi-v${escape(pinned.pulumi)}$`));
    });

    it("package.json pins the provider SDKs at the plugin versions built", () => {
        const deps = JSON.parse(read("package.json")).dependencies as Record<string, string>;
        expect(deps["@pulumi/kubernetes"]).toBe(pinned.kubernetes);
        expect(deps["@pulumi/docker-build"]).toBe(pinned.dockerBuild);
    });

    it("README.md names the pinned versions", () => {
        const readme = read("README.md");
        const must = [
            `\`pulumi\` v${pinned.pulumi},`,
            `\`pulumi-resource-kubernetes\` ${pinned.kubernetes},`,
            `\`pulumi-resource-docker-build\` ${pinned.dockerBuild},`,
            `\`buildkitd\` v${pinned.buildkit},`,
            `engine/pulumi-v${pinned.pulumi}/bin`,
            `etcd v${pinned.etcd},`,
            `kubectl v${pinned.k8s},`,
            `kwok v${pinned.kwok} `,
            `k8s/v${pinned.k8s}/bin`,
        ];
        for (const s of must) expect(readme, s).toContain(s);
        // Any "the engine is vX" / "(vX)" mention of a 3.x engine release names the pinned one or the npm SDK's.
        const sdk = JSON.parse(read("package.json")).dependencies["@pulumi/pulumi"] as string;
        for (const m of readme.matchAll(/The engine is v(\d+\.\d+\.\d+)/g)) expect(m[1]).toBe(pinned.pulumi);
        expect(readme).not.toMatch(new RegExp(`npm SDK is (?!${escape(sdk)})\\d`));
    });

    it("tools/README.md names the pinned versions", () => {
        const t = read("tools", "README.md");
        const must = [
            `@ v${pinned.pulumi} (\`pulumi/\`)`,
            `on \`sdk/v3\` v${pinned.pulumi}`,
            `= tag v${pinned.kubernetes} (\`kubernetes/\`) | \`${pinned.kubernetes}\``,
            `@ v${pinned.dockerBuild} (\`docker-build/\`) | \`${pinned.dockerBuild}\``,
            `resource-kubernetes-v${pinned.kubernetes}/`,
            `resource-docker-build-v${pinned.dockerBuild}/`,
            `**Engine v${pinned.pulumi},`,
            `**Kubernetes v${pinned.kubernetes}.**`,
        ];
        for (const s of must) expect(t, s).toContain(s);
        // The stamped-version column of the engine rows.
        expect(t.match(/^\| `pulumi(?:-language-nodejs)?` \|.*\| `v([^`]+)` \|$/gm)?.map((l) => l.match(/`v([^`]+)` \|$/)?.[1])).toEqual([
            pinned.pulumi,
            pinned.pulumi,
        ]);
        expect(read("tools", "kwok", "README.md")).toContain(`kwok v${pinned.kwok} `);
    });
});
