# Sourced by every project command: one Node (22, from npm), one engine, one backend.
# shellcheck shell=bash
DELIVERY_ROOT="${DELIVERY_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
export DELIVERY_ROOT
# Caches live outside the clone so a fresh clone reuses them; nothing depends on them existing.
export DELIVERY_CACHE="${DELIVERY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/delivery}"
# Versions of the engine and plugins, read from the Go modules that pin them: tools/*/go.mod
# are the truth (test/unit/versions.test.ts checks package.json and the READMEs against them).
# delivery_gomod_version <tools dir> <module>: the required version, without the leading v.
delivery_gomod_version() {
  sed -nE "s#^(require[[:space:]]+)?[[:space:]]*$2[[:space:]]+v([^[:space:]]+).*#\\2#p" \
    "$DELIVERY_ROOT/tools/$1/go.mod" | head -n1
}
PULUMI_VERSION="$(delivery_gomod_version pulumi github.com/pulumi/pulumi/pkg/v3)"
DOCKER_BUILD_PLUGIN_VERSION="$(delivery_gomod_version docker-build github.com/pulumi/pulumi-docker-build)"
# The Kubernetes provider is pinned by pseudo-version; its go.mod names the release.
KUBERNETES_PLUGIN_VERSION="$(sed -n 's#^// release: v\{0,1\}##p' "$DELIVERY_ROOT/tools/kubernetes/go.mod" | head -n1)"
BUILDKIT_VERSION="$(delivery_gomod_version buildkit github.com/moby/buildkit)"
export PULUMI_VERSION DOCKER_BUILD_PLUGIN_VERSION KUBERNETES_PLUGIN_VERSION BUILDKIT_VERSION
export DELIVERY_ENGINE_DIR="$DELIVERY_CACHE/engine/pulumi-v$PULUMI_VERSION"
export DELIVERY_RUN_DIR="${DELIVERY_RUN_DIR:-$DELIVERY_CACHE/run}"
export PULUMI_HOME="${PULUMI_HOME:-$DELIVERY_CACHE/pulumi-home}"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
# Providers come from $PULUMI_HOME's plugin cache, by the version each package asks for
# (scripts/bootstrap registers the built ones there), not from whatever is first on PATH; the
# engine then also stops warning "using pulumi-resource-… from $PATH" in every run.
export PULUMI_IGNORE_AMBIENT_PLUGINS="${PULUMI_IGNORE_AMBIENT_PLUGINS:-true}"
# The program is type-checked by `tsc --noEmit` (tests, CI), and runs through loader.js (entry.js,
# Pulumi.yaml typescript: false), not ts-node. This still matters for a program run with
# typescript: true (an older checkout): type-checking it again on every preview costs ~15 s here.
export PULUMI_NODEJS_TRANSPILE_ONLY="${PULUMI_NODEJS_TRANSPILE_ONLY:-true}"
# V8's code cache for every node process (program, policy pack, dynamic providers, tests): Node
# checks each entry against the module's source, so it is never stale. Halves module loading
# here (@pulumi/pulumi 0.31-0.44 s -> 0.17-0.20 s, typescript 0.17-0.20 s -> 0.08 s).
export NODE_COMPILE_CACHE="${NODE_COMPILE_CACHE:-$DELIVERY_CACHE/node-compile-cache}"
# Go's collector for every Go process a project command starts (the engine, its plugins, the
# local daemons): each `pulumi` run allocates ~40 MB as its packages initialize, and with the
# default GOGC=100 collects several times before doing anything. GOGC=400, measured on one
# machine: `pulumi version` 0.14 -> 0.115 CPU-s, a no-op dev preview with the pack 1.77 -> 1.67
# CPU-s (all processes), the engine's peak RSS in a no-op dev up 124 -> 140 MB.
export GOGC="${GOGC:-400}"
export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK="${PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK:-false}"
# The local DIY backend is the default; CI or a user may point PULUMI_BACKEND_URL elsewhere.
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$DELIVERY_ROOT/.pulumi-state}"
# The buildx store with the project's BuildKit builder (scripts/services start buildkit); kept
# apart from ~/.docker so that the user's own builders and logins are left alone.
export DOCKER_CONFIG="${DELIVERY_DOCKER_CONFIG:-$DELIVERY_RUN_DIR/docker-config}"
export GOFLAGS="${GOFLAGS:--mod=mod}"
export GOCACHE="${GOCACHE:-$DELIVERY_CACHE/go-build}"
export GOMODCACHE="${GOMODCACHE:-$(go env GOMODCACHE 2>/dev/null || echo "$HOME/go/pkg/mod")}"
export PATH="$DELIVERY_ROOT/node_modules/.bin:$DELIVERY_ENGINE_DIR/bin:$DELIVERY_ROOT/scripts/bin:$PATH"
