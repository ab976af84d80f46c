#!/usr/bin/env bash
# Every job's first step: node_modules and the engine, restored from the caches when they are
# warm (then this takes seconds), installed or built by scripts/bootstrap when they are not.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DELIVERY_ROOT="$(cd "$here/../.." && pwd)"
export DELIVERY_ROOT
# npm ci takes tarballs from the restored .npm/ cache before asking the registry.
export npm_config_prefer_offline=true
"$here/../bootstrap"
# shellcheck disable=SC2016 # expanded by the inner shell, after env.sh set PATH
"$here/../with-env" bash -c 'echo "[ci] node $(node --version), pulumi $(pulumi version)"'
