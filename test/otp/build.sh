#!/usr/bin/env bash
# Builds the test releases of the Erlang application `emqx` (test/otp/emqx) with Debian's rebar3 and
# packages each one as an EMQX 4.4 zip (top folder emqx/, releases/<V>/{emqx.rel,relup}, erts-*,
# lib/, bin/emqx-<V>, named emqx-<V>-otp<OTP>-<os>-<arch>.zip from this machine's facts).
# Every release's relup covers every earlier one (up and down), as EMQX's do.
# BAD_VERSIONS are built from the same code but their relup kills the MQTT connections on the way
# up (emqx_conn purged right after it was loaded, see appup()): the upgrade succeeds by EMQX's
# account while every client drops (docs/emqx-4.4-observability.md §8). The way down is clean.
#
# Prints the output directory (the zips) on its last line. Cached under
# ${EMQX_OTP_CACHE:-~/.cache/emqx-release-otp}/<hash of test/otp, erl and rebar3 versions>/: a
# second run prints the same directory at once. Parallel callers (jest workers) are serialized by
# an atomic `mkdir` lock; a lock whose holder pid is gone is taken over.
set -euo pipefail

VERSIONS=(4.4.0 4.4.1 4.4.2 4.4.3)
BAD_VERSIONS=(4.4.3)
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
cache_root="${EMQX_OTP_CACHE:-${HOME:-/root}/.cache/emqx-release-otp}"

fail() { echo "test/otp/build.sh: $*" >&2; exit 1; }
for tool in erl rebar3 zip; do
  command -v "$tool" >/dev/null || fail "$tool not found: install Debian's erlang-base erlang-dev erlang-tools erlang-crypto erlang-syntax-tools erlang-parsetools rebar3 zip (.ci/setup does)"
done

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

hash="$( (cd "$here" && find . -type f -not -path './*/_build/*' -print0 | sort -z | xargs -0 sha256sum; echo "$otp_full $os_token $arch"; rebar3 version) | sha256sum | cut -c1-16)"
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
  [ "$waited" -ge 600 ] && fail "waited 600 s for the build lock $lock (pid ${holder:-?}); remove it if no build runs"
  sleep 1; waited=$((waited + 1))
done
echo $$ > "$lock/pid"
work="$cache_root/$hash.work-$$"
trap 'rm -rf "$lock" "$work"' EXIT
[ -f "$out/done" ] && { echo "$out"; exit 0; }

started=$SECONDS
mkdir -p "$work"
cp -r "$here/emqx" "$work/emqx"
cd "$work/emqx"
rm -rf _build ebin

# EMQX's emqx_relup module (and the relup rewrite that calls it) exist from 4.4.2 on.
has_emqx_relup() { [ "${1#4.4.}" -ge 2 ]; }

# The appup of version $1: load the changed modules (soft purge: connections in old code finish
# their current receive, then move on) from and back to every earlier version. A bad version
# purges emqx_conn right after loading it (the low-level `purge`, before any connection could make
# its next fully qualified call), killing every connection process: a brutal_purge post-purge
# alone comes too late, once most connections have moved on.
appup() {
  local v="$1" m soft="" up="" down="" p u d
  for m in emqx_app emqx_cm emqx_frame emqx_listener emqx_ctl emqx_conn; do
    soft="$soft${soft:+, }{load_module, $m, soft_purge, soft_purge, []}"
  done
  local up_instr="[$soft]" down_instr="[$soft]"
  if [[ " ${BAD_VERSIONS[*]} " == *" $v "* ]]; then
    up_instr="[{load_module, emqx_conn, brutal_purge, brutal_purge, []}, {purge, [emqx_conn]}, ${soft%, \{load_module, emqx_conn*}]"
  fi
  for p in "${VERSIONS[@]}"; do
    [ "$p" = "$v" ] && break
    u="$up_instr"; d="$down_instr"
    # emqx_relup exists from 4.4.2 on (as in EMQX): added on the way up from older, deleted on the
    # way down, reloaded between two versions that both have it.
    if has_emqx_relup "$v" && ! has_emqx_relup "$p"; then
      u="${u%]}, {add_module, emqx_relup}]"; d="${d%]}, {delete_module, emqx_relup}]"
    elif has_emqx_relup "$v"; then
      u="${u%]}, {load_module, emqx_relup, brutal_purge, soft_purge, []}]"
      d="${d%]}, {load_module, emqx_relup, brutal_purge, soft_purge, []}]"
    fi
    up="$up${up:+, }{\"$p\", $u}"
    down="$down${down:+, }{\"$p\", $d}"
  done
  printf '{"%s",\n [%s],\n [%s]}.\n' "$v" "$up" "$down"
}

for v in "${VERSIONS[@]}"; do
  sed -i -E "s/\{vsn, \"[^\"]*\"\}/{vsn, \"$v\"}/" src/emqx.app.src
  sed -i -E "s/\{release, \{emqx, \"[^\"]*\"\}/{release, {emqx, \"$v\"}/" rebar.config
  printf -- '-define(EMQX_VSN, "%s").\n' "$v" > src/emqx_vsn.hrl
  if has_emqx_relup "$v"; then cp "$here/emqx/src/emqx_relup.erl" src/; else rm -f src/emqx_relup.erl; fi
  mkdir -p ebin
  if [ "$v" = "${VERSIONS[0]}" ]; then rm -f ebin/emqx.appup; else appup "$v" > ebin/emqx.appup; fi
  rm -rf _build/default/lib/emqx
  rebar3 release >/dev/null || fail "rebar3 release of $v failed (run it in $work/emqx to see why)"
done

rel="$work/emqx/_build/default/rel/emqx"
erts="$(cd "$rel" && ls -d erts-* | head -n1)"
erts_vsn="${erts#erts-}"
# relups covering every earlier version, up and down (rebar3 relup takes a single --upfrom).
for v in "${VERSIONS[@]:1}"; do
  froms=""
  for p in "${VERSIONS[@]}"; do [ "$p" = "$v" ] && break; froms="$froms${froms:+,}\"releases/$p/emqx\""; done
  (cd "$rel" && erl -noshell -eval "
    case systools:make_relup(\"releases/$v/emqx\", [$froms], [$froms], [{path, [\"lib/*/ebin\"]}, {outdir, \"releases/$v\"}, silent]) of
      ok -> halt(0);
      {ok, _, _, _} -> halt(0);
      Error -> io:format(standard_error, \"make_relup $v: ~p~n\", [Error]), halt(1)
    end.") || fail "relup of $v failed"
  # EMQX's build rewrites every 4.4.2+ relup (its emqx_relup instructions, `~p.` without a final newline).
  if has_emqx_relup "$v"; then
    escript "$here/rewrite-relup.escript" "$rel/releases/$v/relup" || fail "rewriting the relup of $v failed"
  fi
done

host_dir="$here/host"
mkdir -p "$out.tmp-$$"
for v in "${VERSIONS[@]}"; do
  stage="$work/stage-$v/emqx"
  mkdir -p "$stage/bin" "$stage/lib" "$stage/releases/$v" "$stage/etc" "$stage/data" "$stage/log"
  cp -a "$rel/$erts" "$stage/"
  # The lib dirs this release names in its .rel.
  rel_apps="$(erl -noshell -eval "{ok, [{release, _, _, Apps}]} = file:consult(\"$rel/releases/$v/emqx.rel\"), [io:format(\"~s ~s~n\", [A, V]) || {A, V} <- Apps], halt().")"
  for app in $(echo "$rel_apps" | tr ' ' '-'); do
    cp -a "$rel/lib/$app" "$stage/lib/"
  done
  cp -a "$rel/releases/$v/." "$stage/releases/$v/"
  # releases/RELEASES as relx writes it: this release permanent, lib dirs relative to the root.
  libs="$(echo "$rel_apps" | awk '{printf "{%s,\"%s\",\"./lib/%s-%s\"}\n", $1, $2, $1, $2}' | paste -sd, -)"
  printf '%%%% coding: utf-8\n[{release,"emqx","%s","%s",[%s],permanent}].\n' "$v" "$erts_vsn" "$libs" > "$stage/releases/RELEASES"
  printf '%s %s' "$erts_vsn" "$v" > "$stage/releases/start_erl.data"
  sed -e "s/@REL_VSN@/$v/" -e "s/@ERTS_VSN@/$erts_vsn/" "$host_dir/emqx_vars" > "$stage/releases/emqx_vars"
  # bin/: EMQX's scripts and their versioned copies (permafy copies bin/<f>-<V> over bin/<f>).
  cp "$rel/bin/emqx-$v" "$stage/bin/emqx_relx"
  cp "$host_dir/emqx" "$stage/bin/emqx"
  cp "$host_dir/emqx_ctl" "$stage/bin/emqx_ctl"
  cp "$rel/bin/nodetool" "$stage/bin/nodetool"
  cp "$host_dir/install_upgrade.escript" "$stage/bin/install_upgrade.escript"
  for f in emqx emqx_ctl emqx_relx nodetool install_upgrade.escript; do
    cp "$stage/bin/$f" "$stage/bin/$f-$v"
    chmod 0755 "$stage/bin/$f" "$stage/bin/$f-$v"
  done
  cp "$rel/releases/$v/no_dot_erlang.boot" "$stage/bin/no_dot_erlang.boot"
  name="emqx-$v-otp$otp_full-$os_token-$arch.zip"
  (cd "$work/stage-$v" && zip -qr "$out.tmp-$$/$name" emqx)
  sha256sum "$out.tmp-$$/$name" | cut -c1-64 | tr -d '\n' > "$out.tmp-$$/$name.sha256"
done
printf '{"versions":["%s"],"otp":"%s","os":"%s","arch":"%s","erts":"%s","buildSeconds":%d}\n' \
  "$(IFS=,; echo "${VERSIONS[*]}" | sed 's/,/","/g')" "$otp_full" "$os_token" "$arch" "$erts_vsn" "$((SECONDS - started))" > "$out.tmp-$$/manifest.json"
touch "$out.tmp-$$/done"
rm -rf "$out"
mv "$out.tmp-$$" "$out"
echo "$out"
