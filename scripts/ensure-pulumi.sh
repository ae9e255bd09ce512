#!/usr/bin/env bash
# Prints the directory holding a `pulumi` CLI and `pulumi-resource-pulumi-nodejs`, ready for an
# offline run of the end-to-end tests and the demo.
#
# Order: a `pulumi` already on PATH is used as it is; otherwise the CLI pinned in
# scripts/engine/go.mod is built once into a cache outside the repo (CI starts from a clean
# clone, so a cache inside it would rebuild on every run) and reused afterwards.
#
# The Node language host (pulumi-language-nodejs) is not built: the Go module proxy reachable
# here does not serve its module, so the tests drive the engine through the Automation API's
# inline programs, which need no language host (see README "The engine").
set -euo pipefail

PULUMI_VERSION="v3.274.1"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cache="${EMQX_RELEASE_ENGINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/emqx-release-engine}/$PULUMI_VERSION"
shim="$repo/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs"

log() { echo "ensure-pulumi: $*" >&2; }

if [ ! -x "$shim" ]; then
  log "missing $shim: run 'npm ci' in $repo first"
  exit 1
fi

if command -v pulumi >/dev/null 2>&1 && [ -z "${EMQX_RELEASE_FORCE_BUILD:-}" ]; then
  dir="$(dirname "$(command -v pulumi)")"
  if [ ! -x "$dir/pulumi-resource-pulumi-nodejs" ] && ! command -v pulumi-resource-pulumi-nodejs >/dev/null 2>&1; then
    log "pulumi found in $dir but pulumi-resource-pulumi-nodejs is not beside it nor on PATH"
    exit 1
  fi
  echo "$dir"
  exit 0
fi

if [ ! -x "$cache/pulumi" ]; then
  command -v go >/dev/null 2>&1 || { log "no pulumi on PATH and no Go toolchain to build one: install Go (https://go.dev/dl) or Pulumi"; exit 1; }
  log "building pulumi $PULUMI_VERSION into $cache (once; takes several minutes on 2 cores)"
  mkdir -p "$cache"
  tmp="$cache/pulumi.tmp.$$"
  (cd "$here/engine" && CGO_ENABLED=0 go build -trimpath -tags osusergo,grpcnotrace \
    -ldflags "-w -s -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
    -o "$tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
  mv -f "$tmp" "$cache/pulumi"
fi
# The shim resolves @pulumi/pulumi from its cwd (the project), so one copy serves every project.
install -m 0755 "$shim" "$cache/pulumi-resource-pulumi-nodejs"
echo "$cache"
