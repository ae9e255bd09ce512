#!/usr/bin/env bash
# Prints the path of an `actionlint` binary (the GitHub Actions workflow linter) at the pinned
# version, building it once from the Go module proxy into a cache outside the repo (CI starts from
# a clean clone, so a cache inside it would rebuild on every run). Progress goes to stderr; stdout
# is only the path, so callers can do `actionlint="$(bash scripts/ensure-actionlint.sh)"`.
#
# Used by test/e2e/ci-rollout-example.test.ts to lint examples/ci-rollout's workflow. An
# `actionlint` on PATH is used only when it is the pinned version: its checks change between
# releases, and the test expects this version's verdicts.
#
# Environment:
#   EMQX_RELEASE_TOOLS_CACHE  cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/emqx-release-tools)
set -euo pipefail

ACTIONLINT_VERSION="v1.7.12"
MODULE="github.com/rhysd/actionlint"
cache_root="${EMQX_RELEASE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/emqx-release-tools}"
cache="$cache_root/actionlint-$ACTIONLINT_VERSION"
bin="$cache/actionlint"

log() { echo "ensure-actionlint: $*" >&2; }

# `actionlint -version` prints "v1.7.12\ninstalled by building from source\n..." (first line).
version_of() { "$1" -version 2>/dev/null | head -n1 || true; }

if command -v actionlint >/dev/null 2>&1; then
  found="$(command -v actionlint)"
  if [ "$(version_of "$found")" = "$ACTIONLINT_VERSION" ]; then
    echo "$found"
    exit 0
  fi
fi

mkdir -p "$cache"
# One build at a time: parallel jest workers, a CI step and a developer may all ask at once.
exec 9>"$cache/.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9
fi

if [ ! -x "$bin" ]; then
  if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
    PATH="/usr/local/go/bin:$PATH"
  fi
  command -v go >/dev/null 2>&1 || { log "no Go toolchain to build actionlint $ACTIONLINT_VERSION: install Go (https://go.dev/dl)"; exit 1; }
  log "building actionlint $ACTIONLINT_VERSION into $cache with $(go version) (once; GOPROXY=$(go env GOPROXY))"
  start=$SECONDS
  tmp="$cache/build.tmp.$$"
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp"
  # `go install mod@version` builds outside any module, so the repo's go.mod files play no part.
  if ! GOBIN="$tmp" CGO_ENABLED=0 go install -trimpath -ldflags "-w -s" "$MODULE/cmd/actionlint@$ACTIONLINT_VERSION" >&2; then
    log "go install $MODULE/cmd/actionlint@$ACTIONLINT_VERSION failed (see above): check that the Go module proxy ($(go env GOPROXY)) serves it"
    exit 1
  fi
  got="$(version_of "$tmp/actionlint")"
  if [ "$got" != "$ACTIONLINT_VERSION" ]; then
    log "the build printed version '$got', expected $ACTIONLINT_VERSION"
    exit 1
  fi
  mv -f "$tmp/actionlint" "$bin"
  rm -rf "$tmp"
  trap - EXIT
  log "built actionlint $ACTIONLINT_VERSION in $((SECONDS - start))s"
fi
echo "$bin"
