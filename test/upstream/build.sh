#!/usr/bin/env bash
# Builds test packages of EMQX 4.4 whose CLI is EMQX's own: an OTP release named `emqx`, built with
# Debian's rebar3 and packaged the way EMQX's build packages it (docs/emqx-4.4-hot-upgrade.md §3.2):
# relx layout under a top folder emqx/, each release's relup rewritten by the tag's own
# scripts/inject-relup.escript (4.4.2+), bin/emqx, bin/emqx_ctl, bin/nodetool and
# bin/install_upgrade.escript byte for byte from the tag, their bin/<f>-<V> copies,
# releases/emqx_vars and etc/{emqx.conf,vm.args} rendered from the tag's templates, ekka's two
# distribution modules in lib/ekka-0.8.1.11 (bin/emqx runs every node and CLI call with
# `-proto_dist ekka -epmd_module ekka_epmd`), zipped as emqx-<V>-otp<OTP>-<os>-<arch>.zip.
#
# Two sets, each package with the scripts of its own tag; every release's relup covers the earlier
# ones of its set (up and down):
#   new-script set: 4.4.16 4.4.17 4.4.18      old-script set: 4.4.0 4.4.1 4.4.2
#
# What is not EMQX's (README.md, "Tests on EMQX's own scripts"): the broker application is a copy
# of test/otp/emqx with test/upstream/overlay/ over it (emqx_ctl answering nodetool as EMQX's does,
# emqx_relup for the injected relup instructions); bin/cuttlefish is test/upstream/cuttlefish, a
# stand-in for the two calls bin/emqx makes; ERTS is this machine's OTP.
#
# The upstream files come from ${EMQX_UPSTREAM_DIR:-<repo>/../shared/emqx-upstream} and must match
# test/upstream/upstream-files.sha256; a missing or different file fails the build, naming it.
#
# Prints the output directory (zips + manifest.json) on its last line. Cached under
# ${EMQX_UPSTREAM_CACHE:-~/.cache/emqx-release-upstream}/<hash of the inputs>/, parallel callers
# serialized by an atomic `mkdir` lock (a lock whose holder is gone is taken over).
set -euo pipefail

SET_NEW=(4.4.16 4.4.17 4.4.18)
SET_OLD=(4.4.0 4.4.1 4.4.2)
EKKA_VSN=0.8.1.11
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
repo="$(cd "$here/../.." && pwd -P)"
app_src="$repo/test/otp/emqx"
upstream="${EMQX_UPSTREAM_DIR:-$repo/../shared/emqx-upstream}"
pins="$here/upstream-files.sha256"
cache_root="${EMQX_UPSTREAM_CACHE:-${HOME:-/root}/.cache/emqx-release-upstream}"

fail() { echo "test/upstream/build.sh: $*" >&2; exit 1; }
for tool in erl escript rebar3 zip sha256sum; do
  command -v "$tool" >/dev/null || fail "$tool not found: install Debian's erlang-base erlang-dev erlang-tools erlang-crypto erlang-syntax-tools erlang-parsetools rebar3 zip (.ci/setup does)"
done

# Every pinned file present and unchanged.
[ -d "$upstream" ] || fail "no folder of EMQX's upstream files at $upstream: get them as README.md (\"Tests on EMQX's own scripts\") says, or set EMQX_UPSTREAM_DIR"
while read -r sum file source; do
  case "$sum" in ''|'#'*) continue ;; esac
  [ -f "$upstream/$file" ] || fail "missing upstream file $upstream/$file ($source at its tag), pinned in test/upstream/upstream-files.sha256"
  actual="$(sha256sum "$upstream/$file" | cut -c1-64)"
  [ "$actual" = "$sum" ] || fail "upstream file $upstream/$file has sha256 $actual, test/upstream/upstream-files.sha256 pins $sum ($source at its tag): take the file from that tag unchanged"
done < "$pins"
up() { echo "$upstream/$1"; }

otp_root="$(erl -noshell -eval 'io:format("~s", [code:root_dir()]), halt().')"
otp_major="$(erl -noshell -eval 'io:format("~s", [erlang:system_info(otp_release)]), halt().')"
otp_full="$(cat "$otp_root/releases/$otp_major/OTP_VERSION")"
# EMQX's <os> token (scripts/get-distro.sh): debian12, ubuntu22.04, el8 ...
. /etc/os-release
case "$ID" in
  debian|raspbian) os_token="$ID${VERSION_ID%%.*}" ;;
  rhel|centos|rocky|almalinux|ol) os_token="el${VERSION_ID%%.*}" ;;
  *) os_token="$ID$VERSION_ID" ;;
esac
case "$(uname -m)" in
  x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; armv7*|armv6*) arch=arm ;; *) fail "unsupported arch $(uname -m)" ;;
esac

hash="$( (cd "$here" && find . -type f -print0 | sort -z | xargs -0 sha256sum
          cd "$app_src" && find . -type f -not -path './_build/*' -print0 | sort -z | xargs -0 sha256sum
          echo "$otp_full $os_token $arch"; rebar3 version) | sha256sum | cut -c1-16)"
out="$cache_root/$hash"
if [ -f "$out/done" ]; then echo "$out"; exit 0; fi

mkdir -p "$cache_root"
lock="$cache_root/$hash.lock"
waited=0
until mkdir "$lock" 2>/dev/null; do
  holder="$(cat "$lock/pid" 2>/dev/null || true)"
  if [ -n "$holder" ] && ! kill -0 "$holder" 2>/dev/null; then
    echo "taking over the build lock of dead pid $holder" >&2
    rm -rf "$lock"
    continue
  fi
  [ -f "$out/done" ] && { echo "$out"; exit 0; }
  [ "$waited" -ge 900 ] && fail "waited 900 s for the build lock $lock (pid ${holder:-?}); remove it if no build runs"
  sleep 1; waited=$((waited + 1))
done
echo $$ > "$lock/pid"
work="$cache_root/$hash.work-$$"
trap 'rm -rf "$lock" "$work"' EXIT
[ -f "$out/done" ] && { echo "$out"; exit 0; }
started=$SECONDS
mkdir -p "$work" "$out.tmp-$$"

# {{ var }} substitution as rebar3's overlay templates do it, with the overlay variables of EMQX's
# zip ("bin") packages (rebar.config.erl overlay_vars_pkg(bin)).
render() { # <template> <version> <erts vsn> <tag>
  local desc; desc="$(head -n1 "$(up "$4/emqx_description")")"
  sed -E \
    -e "s|\{\{ *release_version *\}\}|$2|g" -e "s|\{\{ *erts_vsn *\}\}|$3|g" -e "s|\{\{ *erl_opts *\}\}||g" \
    -e 's|\{\{ *runner_root_dir *\}\}|$(cd $(dirname $(readlink $0 \|\| echo $0))/..; pwd -P)|g' \
    -e 's|\{\{ *runner_bin_dir *\}\}|$RUNNER_ROOT_DIR/bin|g' -e 's|\{\{ *runner_etc_dir *\}\}|$RUNNER_ROOT_DIR/etc|g' \
    -e 's|\{\{ *runner_lib_dir *\}\}|$RUNNER_ROOT_DIR/lib|g' -e 's|\{\{ *runner_log_dir *\}\}|$RUNNER_ROOT_DIR/log|g' \
    -e 's|\{\{ *runner_data_dir *\}\}|$RUNNER_ROOT_DIR/data|g' -e 's|\{\{ *runner_user *\}\}||g' \
    -e "s|\{\{ *emqx_description *\}\}|$desc|g" -e "s|\{\{ *emqx_default_erlang_cookie *\}\}|emqxsecretcookie|g" \
    -e 's|\{\{ *platform_bin_dir *\}\}|bin|g' -e 's|\{\{ *platform_data_dir *\}\}|data|g' \
    -e 's|\{\{ *platform_etc_dir *\}\}|etc|g' -e 's|\{\{ *platform_lib_dir *\}\}|lib|g' \
    -e 's|\{\{ *platform_log_dir *\}\}|log|g' -e 's|\{\{ *platform_plugins_dir *\}\}|etc/plugins|g' \
    -e "s|\{\{ *built_on_platform *\}\}|$(uname -m)-$os_token|g" \
    "$1"
}

# The appup of version $1 in set ($2...): load every module of the app, soft purge (connections in
# old code finish their current call, then move on), from and back to each earlier version;
# emqx_relup (4.4.2+ only, as in EMQX) is added going up from a release without it and deleted
# going down to one.
has_relup_mod() { [ "$(printf '%s\n' "$1" 4.4.2 | sort -V | head -n1)" = 4.4.2 ]; }
appup() {
  local v="$1"; shift
  local mods p up="" down="" instr
  mods="$(cd src && ls *.erl | sed 's/\.erl$//' | grep -v '^emqx_relup$')"
  for p in "$@"; do
    [ "$p" = "$v" ] && break
    instr=""
    for m in $mods; do instr="$instr${instr:+, }{load_module, $m, soft_purge, soft_purge, []}"; done
    if has_relup_mod "$v"; then
      if has_relup_mod "$p"; then
        up_i="$instr, {load_module, emqx_relup, soft_purge, soft_purge, []}"; down_i="$up_i"
      else
        up_i="$instr, {add_module, emqx_relup}"; down_i="$instr, {delete_module, emqx_relup}"
      fi
    else
      up_i="$instr"; down_i="$instr"
    fi
    up="$up${up:+, }{\"$p\", [$up_i]}"; down="$down${down:+, }{\"$p\", [$down_i]}"
  done
  printf '{"%s",\n [%s],\n [%s]}.\n' "$v" "$up" "$down"
}

build_set() { # versions...
  local set=("$@") proj="$work/set-$1" v
  mkdir -p "$proj/apps/emqx" "$proj/apps/ekka/src" "$proj/apps/ekka/include"
  # The broker app: test/otp's sources (read only), EMQX's emqx_ctl convention and emqx_relup over them.
  (cd "$app_src" && find . -type f -not -path './_build/*' -not -path './ebin/*' -not -name rebar.config -print0 \
    | xargs -0 -I{} cp --parents {} "$proj/apps/emqx/")
  cp "$here/overlay/"*.erl "$proj/apps/emqx/src/"
  cp "$(up ekka-$EKKA_VSN/ekka_dist.erl)" "$(up ekka-$EKKA_VSN/ekka_epmd.erl)" "$proj/apps/ekka/src/"
  : > "$proj/apps/ekka/include/ekka.hrl" # ekka_epmd includes it and uses nothing from it
  printf '{application, ekka, [{description, "ekka %s: only the distribution modules"}, {vsn, "%s"},\n  {applications, [kernel, stdlib]}, {modules, []}]}.\n' "$EKKA_VSN" "$EKKA_VSN" > "$proj/apps/ekka/src/ekka.app.src"
  cd "$proj"
  for v in "${set[@]}"; do
    cat > rebar.config <<EOF
{erl_opts, [debug_info]}.
{deps, []}.
{relx, [
    {release, {emqx, "$v"}, [kernel, stdlib, sasl, crypto, compiler, ekka, emqx]},
    {dev_mode, false}, {include_erts, true}, {include_src, false},
    {extended_start_script, false}, {sys_config, false}, {vm_args, false}
]}.
EOF
    sed -i -E "s/\{vsn, \"[^\"]*\"\}/{vsn, \"$v\"}/" apps/emqx/src/emqx.app.src
    printf -- '-define(EMQX_VSN, "%s").\n' "$v" > apps/emqx/src/emqx_vsn.hrl
    if has_relup_mod "$v"; then cp "$here/overlay/emqx_relup.erl" apps/emqx/src/; else rm -f apps/emqx/src/emqx_relup.erl; fi
    mkdir -p apps/emqx/ebin
    if [ "$v" = "${set[0]}" ]; then rm -f apps/emqx/ebin/emqx.appup; else (cd apps/emqx && appup "$v" "${set[@]}") > apps/emqx/ebin/emqx.appup; fi
    rm -rf _build/default/lib/emqx
    rebar3 release > "$work/rebar3-$v.log" 2>&1 || fail "rebar3 release of $v failed: $(tail -n 20 "$work/rebar3-$v.log")"
  done

  local rel="$proj/_build/default/rel/emqx" erts erts_vsn froms p
  erts="$(cd "$rel" && ls -d erts-* | head -n1)"
  erts_vsn="${erts#erts-}"
  for v in "${set[@]:1}"; do
    froms=""
    for p in "${set[@]}"; do [ "$p" = "$v" ] && break; froms="$froms${froms:+,}\"releases/$p/emqx\""; done
    (cd "$rel" && erl -noshell -eval "
      case systools:make_relup(\"releases/$v/emqx\", [$froms], [$froms], [{path, [\"lib/*/ebin\"]}, {outdir, \"releases/$v\"}, silent]) of
        ok -> halt(0);
        {ok, _, _, _} -> halt(0);
        Error -> io:format(standard_error, \"make_relup $v: ~p~n\", [Error]), halt(1)
      end.") || fail "relup of $v failed"
    # EMQX's build rewrites each relup with the tag's scripts/inject-relup.escript (4.4.2+).
    if [ -f "$(up "v$v/inject-relup.escript")" ]; then
      (cd "$rel" && escript "$(up "v$v/inject-relup.escript")" "releases/$v/relup" > "$work/inject-$v.log" 2>&1) \
        || fail "v$v/inject-relup.escript releases/$v/relup failed: $(cat "$work/inject-$v.log")"
    fi
  done

  for v in "${set[@]}"; do
    local tag="v$v" stage="$work/stage-$v/emqx" apps libs f
    mkdir -p "$stage/bin" "$stage/lib" "$stage/releases/$v" "$stage/etc/plugins" "$stage/log"
    mkdir -p "$stage/data/mnesia" "$stage/data/configs" "$stage/data/patches" "$stage/data/scripts" "$stage/data/backup"
    cp -a "$rel/$erts" "$stage/"
    apps="$(erl -noshell -eval "{ok, [{release, _, _, Apps}]} = file:consult(\"$rel/releases/$v/emqx.rel\"), [io:format(\"~s ~s~n\", [element(1, A), element(2, A)]) || A <- Apps], halt().")"
    for f in $(echo "$apps" | tr ' ' '-'); do cp -a "$rel/lib/$f" "$stage/lib/"; done
    cp -a "$rel/releases/$v/." "$stage/releases/$v/"
    cp "$rel/releases/$v/emqx.rel" "$stage/releases/emqx.rel"
    cp "$(up "$tag/emqx.schema")" "$stage/releases/$v/emqx.schema"
    render "$(up "$tag/BUILT_ON")" "$v" "$erts_vsn" "$tag" > "$stage/releases/$v/BUILT_ON"
    # releases/RELEASES as relx writes it: this release permanent, lib dirs relative to the root.
    libs="$(echo "$apps" | awk '{printf "{%s,\"%s\",\"./lib/%s-%s\"}\n", $1, $2, $1, $2}' | paste -sd, -)"
    printf '%%%% coding: utf-8\n[{release,"emqx","%s","%s",[%s],permanent}].\n' "$v" "$erts_vsn" "$libs" > "$stage/releases/RELEASES"
    printf '%s %s' "$erts_vsn" "$v" > "$stage/releases/start_erl.data"
    render "$(up "$tag/emqx_vars")" "$v" "$erts_vsn" "$tag" > "$stage/releases/emqx_vars"
    render "$(up "$tag/emqx.conf")" "$v" "$erts_vsn" "$tag" > "$stage/etc/emqx.conf"
    render "$(up "$tag/vm.args")" "$v" "$erts_vsn" "$tag" > "$stage/etc/vm.args"
    # bin/: the tag's scripts, the cuttlefish stand-in, and the copies permafy installs from.
    for f in emqx emqx_ctl nodetool install_upgrade.escript; do cp "$(up "$tag/$f")" "$stage/bin/$f"; done
    cp "$here/cuttlefish" "$stage/bin/cuttlefish"
    for f in emqx emqx_ctl nodetool install_upgrade.escript cuttlefish; do cp "$stage/bin/$f" "$stage/bin/$f-$v"; done
    chmod 0755 "$stage/bin/"*
    cp "$rel/releases/$v/no_dot_erlang.boot" "$stage/bin/no_dot_erlang.boot"
    local name="emqx-$v-otp$otp_full-$os_token-$arch.zip"
    (cd "$work/stage-$v" && zip -qr "$out.tmp-$$/$name" emqx)
    sha256sum "$out.tmp-$$/$name" | cut -c1-64 | tr -d '\n' > "$out.tmp-$$/$name.sha256"
    echo "$erts_vsn" > "$work/erts"
  done
}

build_set "${SET_NEW[@]}"
build_set "${SET_OLD[@]}"
list() { local IFS=,; echo "$*" | sed 's/,/","/g'; }
printf '{"sets":{"new":["%s"],"old":["%s"]},"otp":"%s","os":"%s","arch":"%s","erts":"%s","buildSeconds":%d}\n' \
  "$(list "${SET_NEW[@]}")" "$(list "${SET_OLD[@]}")" "$otp_full" "$os_token" "$arch" "$(cat "$work/erts")" \
  "$((SECONDS - started))" > "$out.tmp-$$/manifest.json"
touch "$out.tmp-$$/done"
rm -rf "$out"
mv "$out.tmp-$$" "$out"
echo "$out"
