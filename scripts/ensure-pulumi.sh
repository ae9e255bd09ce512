#!/usr/bin/env bash
# Prints the directory holding a `pulumi` CLI, the Node language host `pulumi-language-nodejs`
# (what runs a project's index.ts) and `pulumi-resource-pulumi-nodejs` (the dynamic provider
# host), ready for an offline run of the end-to-end tests and the demo. Progress goes to stderr;
# stdout is only the directory, so callers can do `bin="$(bash scripts/ensure-pulumi.sh)"`.
#
# The CLI: a `pulumi` already on PATH is used as it is; otherwise the CLI pinned in
# scripts/engine/go.mod is built once into a cache outside the repo (CI starts from a clean
# clone, so a cache inside it would rebuild on every run) and reused afterwards.
#
# The language host: a normal Pulumi install ships it beside `pulumi`, so one on PATH is used as it
# is. The Go module proxy does not serve its module, so it cannot be built here like the CLI;
# without one on PATH it is taken from the machine's tool folder (EMQX_RELEASE_LANGUAGE_HOST_DIR,
# default ../shared/tools/pulumi beside the clone), checked against the sha256 pinned below, and
# copied beside the CLI. Without either the script fails and says how to install Pulumi.
#
# Environment:
#   EMQX_RELEASE_ENGINE_CACHE       cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/emqx-release-engine)
#   EMQX_RELEASE_FORCE_BUILD        set to ignore a `pulumi` on PATH and use the pinned build
#   EMQX_RELEASE_LANGUAGE_HOST_DIR  where to take pulumi-language-nodejs from when none is on PATH
set -euo pipefail

PULUMI_VERSION="v3.274.1"
# inline refresh/destroy need a CLI that knows `--client` (Automation API checkInlineSupport).
MIN_PATH_VERSION="3.181.0"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cache_root="${EMQX_RELEASE_ENGINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/emqx-release-engine}"
cache="$cache_root/$PULUMI_VERSION"
shim="$repo/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs"
# Pulumi's Node language host built from Pulumi's source (commit 1b5949891b3c, Apache-2.0), for
# machines that cannot download Pulumi; never committed to this repo.
host_dir="${EMQX_RELEASE_LANGUAGE_HOST_DIR:-$repo/../shared/tools/pulumi}"
host_sha256="ad8c4f0c0b92847579662d5ba388ec23d4b2cc59b175258b503266a6d42f2388"

log() { echo "ensure-pulumi: $*" >&2; }

# Copies the dynamic-provider shim into $1 unless an identical copy is there. Never rewrites a
# copy in place: a provider process may be reading it (sh reads scripts as it goes).
place_shim() {
  local dir="$1"
  if ! cmp -s "$shim" "$dir/pulumi-resource-pulumi-nodejs" 2>/dev/null; then
    install -m 0755 "$shim" "$dir/.pulumi-resource-pulumi-nodejs.$$"
    mv -f "$dir/.pulumi-resource-pulumi-nodejs.$$" "$dir/pulumi-resource-pulumi-nodejs"
  fi
}

# The language host to use: one on PATH (a normal Pulumi install), else the pinned copy from
# $host_dir. Prints its path; fails with how to install Pulumi when there is neither.
find_language_host() {
  local found
  if found="$(command -v pulumi-language-nodejs 2>/dev/null)"; then
    printf '%s\n' "$found"
    return 0
  fi
  local copy="$host_dir/pulumi-language-nodejs"
  if [ -f "$copy" ]; then
    local got
    got="$(sha256sum "$copy" | cut -d' ' -f1)"
    if [ "$got" != "$host_sha256" ]; then
      log "$copy has sha256 $got, not the pinned $host_sha256: replace it with the build its README describes, or install Pulumi"
      return 1
    fi
    printf '%s\n' "$copy"
    return 0
  fi
  log "no pulumi-language-nodejs (Pulumi's Node.js language host, which runs a project's index.ts): install Pulumi (https://www.pulumi.com/docs/install/, e.g. 'curl -fsSL https://get.pulumi.com | sh', which puts it beside pulumi in ~/.pulumi/bin) and put its bin directory on PATH, or set EMQX_RELEASE_LANGUAGE_HOST_DIR to a folder holding it (looked in $copy)"
  return 1
}

# Copies the language host $1 into $2 unless it is that file or an identical copy is there (never
# rewritten in place: a running CLI may have it open).
place_language_host() {
  local from="$1" dir="$2"
  if [ "$(cd "$(dirname "$from")" && pwd)" = "$(cd "$dir" && pwd)" ]; then return 0; fi
  if ! cmp -s "$from" "$dir/pulumi-language-nodejs" 2>/dev/null; then
    install -m 0755 "$from" "$dir/.pulumi-language-nodejs.$$"
    mv -f "$dir/.pulumi-language-nodejs.$$" "$dir/pulumi-language-nodejs"
  fi
}

# "v3.274.1" or "3.274.1-dev" -> success when >= $MIN_PATH_VERSION.
version_ok() {
  local v="${1#v}"; v="${v%%-*}"; v="${v%%+*}"
  [ -n "$v" ] && [ "$(printf '%s\n%s\n' "$MIN_PATH_VERSION" "$v" | sort -V | head -n1)" = "$MIN_PATH_VERSION" ]
}

if [ ! -x "$shim" ]; then
  log "missing $shim: run 'npm ci' in $repo first"
  exit 1
fi
language_host="$(find_language_host)"

if command -v pulumi >/dev/null 2>&1 && [ -z "${EMQX_RELEASE_FORCE_BUILD:-}" ]; then
  found="$(command -v pulumi)"
  dir="$(dirname "$found")"
  v="$(PULUMI_SKIP_UPDATE_CHECK=true "$found" version 2>/dev/null || true)"
  if ! version_ok "$v"; then
    log "pulumi on PATH ($found) is '${v:-unknown}', older than $MIN_PATH_VERSION (needed for inline refresh/destroy): upgrade it, or set EMQX_RELEASE_FORCE_BUILD=1 to build $PULUMI_VERSION"
    exit 1
  fi
  if [ -x "$dir/pulumi-resource-pulumi-nodejs" ] && [ -x "$dir/pulumi-language-nodejs" ]; then
    echo "$dir"
    exit 0
  fi
  # No shim or language host beside it (e.g. a package-manager install): pair it with ours.
  paired="$cache_root/path-pulumi"
  mkdir -p "$paired"
  ln -sfn "$found" "$paired/pulumi"
  place_shim "$paired"
  place_language_host "$language_host" "$paired"
  echo "$paired"
  exit 0
fi

mkdir -p "$cache"
# One build at a time: parallel jest workers, a CI step and a developer may all ask at once.
exec 9>"$cache/.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9
fi

if [ ! -x "$cache/pulumi" ]; then
  if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
    PATH="/usr/local/go/bin:$PATH"
  fi
  command -v go >/dev/null 2>&1 || { log "no pulumi on PATH and no Go toolchain to build one: install Go (https://go.dev/dl) or Pulumi"; exit 1; }
  log "building pulumi $PULUMI_VERSION into $cache with $(go version) (once; ~10-20 min on 2 cores)"
  start=$SECONDS
  tmp="$cache/pulumi.tmp.$$"
  trap 'rm -f "$tmp"' EXIT
  (cd "$here/engine" && CGO_ENABLED=0 go build -trimpath -tags osusergo,grpcnotrace \
    -ldflags "-w -s -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
    -o "$tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi) >&2
  got="$(PULUMI_SKIP_UPDATE_CHECK=true "$tmp" version)"
  if [ "$got" != "$PULUMI_VERSION" ]; then
    log "the build printed version '$got', expected $PULUMI_VERSION"
    exit 1
  fi
  mv -f "$tmp" "$cache/pulumi"
  trap - EXIT
  log "built pulumi $PULUMI_VERSION in $((SECONDS - start))s"
fi
# The shim resolves @pulumi/pulumi from its cwd (the project), so one copy serves every project.
place_shim "$cache"
place_language_host "$language_host" "$cache"
echo "$cache"
