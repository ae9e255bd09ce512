// bin/install_upgrade.escript of EMQX 4.4 (docs/emqx-4.4-hot-upgrade.md §2): argument parsing, version validation, the
// unpack / install / uninstall / versions branches with their exact messages and exit codes, and
// permafy. `ctx.E` is the version of the escript in use; its checks and bugs apply (docs/emqx-4.4-hot-upgrade.md §4).
"use strict";

const fs = require("fs");
const path = require("path");
const { spawn } = require("child_process");
const { fmtString, wrapTerm } = require("./erlang-term");
const { installPaths, newestVmArgs, sleep } = require("./state");
const rh = require("./release-handler");
const { findAndLinkReleasePackage, untarForUnpackedRelease } = require("./unpack");
const { Halt, Crash, out, mustOk, atLeast } = require("./io");

/** The scripts permafy copies from `bin/<f>-<V>` over `bin/<f>`, in the escript's order. */
const PERMAFY_SCRIPTS = ["emqx", "emqx_ctl", "cuttlefish", "nodetool", "install_upgrade.escript"];

// SemVer 2.0 with pre-release and build parts, as the 4.4 escript's ?SEMVER_RE.
const SEMVER_RE =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

/** `parse_arguments`: `--no-permanent` anywhere; every other word is a version cut at the first
 * `/`; the last version word wins. */
function parseArguments(args) {
  const opts = { permanent: true, version: undefined };
  for (const a of args) {
    if (a === "--no-permanent") {
      opts.permanent = false;
      continue;
    }
    const v = a.split("/").filter((x) => x !== "")[0];
    if (v === undefined) throw new Crash("bad argument", "parse_version/1");
    opts.version = v;
  }
  return opts;
}

/** `start_distribution`: connects to the node or prints the ping failure and halts 1. */
function connect(ctx) {
  if (!ctx.nodeUp()) {
    out(`Node '${ctx.node.name}' not responding to pings.`);
    throw new Halt(1);
  }
}

async function which(ctx) {
  const res = await rh.rhCall(ctx.root, (st) => ({ ok: rh.whichReleases(st), dirty: false }));
  return res.ok;
}

async function currentVersion(ctx) {
  const res = await rh.rhCall(ctx.root, (st) => ({ ok: rh.currentReleaseVersion(st), dirty: false }));
  return res.ok;
}

/** The `Installed versions:` block: header, `* <vsn>\t<status>` lines, then an empty line. */
async function printExistingVersions(ctx) {
  const list = await which(ctx);
  out(`Installed versions:\n${list.map((r) => `* ${r.vsn}\t${r.status}\n`).join("")}`);
}

/** `validate_target_version` (docs/emqx-4.4-hot-upgrade.md §2.3): same major.minor (plus 4.4<->4.5 from 4.4.8). */
async function validateTargetVersion(ctx, V) {
  if (V === undefined) throw new Crash("bad argument", "validate_target_version/2");
  const C = await currentVersion(ctx);
  const parse = (v) => {
    const m = SEMVER_RE.exec(v);
    if (!m) throw new Crash(`{invalid_semver,${fmtString(v)}}`, "parse_semver/1");
    return `${m[1]}.${m[2]}`;
  };
  const target = parse(V);
  const current = parse(C);
  const ok =
    target === current || (atLeast(ctx.E, "4.4.8") && [target, current].every((x) => x === "4.4" || x === "4.5"));
  if (!ok) {
    out(`Cannot upgrade/downgrade to ${V} from ${C}`);
    out("We only support relup between patch versions");
    throw new Crash("{relup_not_allowed,unsupported_target_version}", "validate_target_version/2");
  }
}

/** The escript's `unpack_release`: the target's status, or unpack it now (docs/emqx-4.4-hot-upgrade.md §2.5). Returns
 * {status} | {ok: V} | {error: reason}. */
async function unpackRelease(ctx, V) {
  const status = (await which(ctx)).find((r) => r.vsn === V)?.status;
  // v4.4.2-v4.4.14 tested start.boot with is_dir (always false): every `unpacked` target re-unpacks.
  const bootFile = path.join(ctx.root, "releases", V, "start.boot");
  const reunpack =
    status === "unpacked" && atLeast(ctx.E, "4.4.2") && (!atLeast(ctx.E, "4.4.15") || !fs.existsSync(bootFile));
  if (status !== undefined && !reunpack) return { status };
  const pkg = await findAndLinkReleasePackage(ctx, V);
  if (pkg === undefined) return { error: "release_package_not_found" };
  out(`Release ${V} not found, attempting to unpack ${pkg}`);
  const res = await rh.rhCall(ctx.root, (st) => rh.unpackRelease(ctx.root, st, V));
  if (res.error === undefined) return { ok: res.ok };
  if (res.error === `{existing_release,${fmtString(V)}}` && atLeast(ctx.E, "4.4.2")) {
    untarForUnpackedRelease(ctx, V);
    return { ok: V };
  }
  return { error: res.error };
}

/** `release_handler:install_release` over RPC. With a hold, the call runs in a detached process
 * (the node), so killing the CLI mid-hold does not stop it: the switch still happens
 * (docs/emqx-4.4-hot-upgrade.md §2.1). */
async function rpcInstallRelease(ctx, V) {
  const holdMs = Number((ctx.faults.holdMs || {})[ctx.cmd] || 0);
  if (!(holdMs > 0)) return rh.rhCall(ctx.root, (st) => rh.installRelease(ctx.root, st, V, 0));
  const resultFile = path.join(installPaths(ctx.root).emu, `rpc-${process.pid}-${Date.now()}.json`);
  const child = spawn(
    process.execPath,
    [ctx.entry, "--node-rpc", ctx.root, "install_release", V, String(holdMs), resultFile, String(process.pid)],
    {
      detached: true,
      stdio: "ignore",
    },
  );
  child.unref();
  for (;;) {
    await sleep(25);
    let text;
    try {
      text = fs.readFileSync(resultFile, "utf8");
    } catch {
      continue;
    }
    fs.rmSync(resultFile, { force: true });
    return JSON.parse(text);
  }
}

/** `check_and_install` (docs/emqx-4.4-hot-upgrade.md §2.6). */
async function checkAndInstall(ctx, V) {
  const vmArgs = newestVmArgs(ctx.dataDir);
  mustOk(
    () =>
      fs.copyFileSync(
        vmArgs || path.join(ctx.dataDir, "configs", "vm.args"),
        path.join(ctx.root, "releases", V, "vm.args"),
      ),
    "check_and_install/2",
  );
  mustOk(
    () => fs.writeFileSync(path.join(ctx.root, "releases", V, "sys.config"), "[{emqx,[{emulated_app_env,true}]}]."),
    "check_and_install/2",
  );
  const rhFail = ctx.faults.rhFail || {};
  const check =
    rhFail.check_install_release !== undefined
      ? { error: rhFail.check_install_release }
      : await rh.rhCall(ctx.root, (st) => rh.checkInstallRelease(ctx.root, st, V));
  if (check.error !== undefined) {
    out(`${wrapTerm("ERROR: release_handler:check_install_release failed: ", check.error)}.`);
    throw new Halt(3);
  }
  const res =
    rhFail.install_release !== undefined
      ? await failedInstall(ctx, rhFail.install_release)
      : await rpcInstallRelease(ctx, V);
  if (res.error === undefined) {
    out(`Installed Release: ${V}.`);
    return;
  }
  if (res.error === `{no_such_release,${fmtString(V)}}`) {
    await printExistingVersions(ctx);
    out(`ERROR: Unable to revert to '${V}' - not installed.`);
    throw new Halt(2);
  }
  const old = /^\{old_processes,(.*)\}$/.exec(res.error);
  if (old) {
    out(`ERROR: unable to install '${V}' - old processes still running code from module ${old[1]}`);
    throw new Halt(3);
  }
  out(wrapTerm("ERROR: release_handler:install_release failed: ", res.error));
  throw new Halt(4);
}

/** The fault switch `rhFail.install_release`: release_handler answers `{error, reason}` after the
 * unpack and the check passed. A reason `{'EXIT',...}` is a relup that crashed: release_handler's
 * default error_action restarts the node on its permanent release (docs/emqx-4.4-hot-upgrade.md §2.6), which re-reads
 * RELEASES, so the target shows `unpacked` again. */
async function failedInstall(ctx, reason) {
  if (reason.startsWith("{'EXIT'")) {
    await rh.rhCall(ctx.root, (st) => {
      const perm = st.releases.find((r) => r.status === "permanent");
      return rh.boot(ctx.root, st, perm ? perm.vsn : st.runningVsn, perm ? perm.erts : st.runningErts);
    });
  }
  return { error: reason };
}

/** `permafy` (docs/emqx-4.4-hot-upgrade.md §2.7): make_permanent, the print, the five scripts, no_dot_erlang.boot
 * (4.4.7+), then two lines appended to emqx_vars. A failure after the print still exits 127. */
async function permafy(ctx, V) {
  const res = await rh.rhCall(ctx.root, (st) => rh.makePermanent(ctx.root, st, V));
  if (res.error !== undefined) throw new Crash(`no match of right hand side value {error,${res.error}}`, "permafy/3");
  out(`Made release permanent: "${V}"`);
  if (ctx.faults.failAfterPermanent) throw new Crash("no match of right hand side value {error,eacces}", "permafy/3");
  const bin = installPaths(ctx.root).bin;
  for (const f of PERMAFY_SCRIPTS) {
    // file:copy keeps the destination's mode when it exists (bin/emqx stays executable).
    mustOk(() => fs.writeFileSync(path.join(bin, f), fs.readFileSync(path.join(bin, `${f}-${V}`))), "permafy/3");
  }
  if (atLeast(ctx.E, "4.4.7")) {
    mustOk(
      () =>
        fs.writeFileSync(
          path.join(bin, "no_dot_erlang.boot"),
          fs.readFileSync(path.join(ctx.root, "releases", V, "no_dot_erlang.boot")),
        ),
      "permafy/3",
    );
  }
  const erts = mustOk(() => fs.readFileSync(installPaths(ctx.root).startErlData, "utf8").split(/\s+/)[0], "erts_vsn/0");
  try {
    fs.appendFileSync(installPaths(ctx.root).emqxVars, `REL_VSN="${V}"\nERTS_VSN="${erts}"\n`);
  } catch {
    /* the write result is not checked */
  }
}

async function maybePermafy(ctx, V, opts) {
  if (opts.permanent) await permafy(ctx, V);
}

/** `install` (also `upgrade` and `downgrade`, plain aliases), docs/emqx-4.4-hot-upgrade.md §2.4. */
async function install(ctx, opts) {
  connect(ctx);
  const V = opts.version;
  if (atLeast(ctx.E, "4.4.4")) await validateTargetVersion(ctx, V);
  else if (V === undefined) throw new Crash("bad argument", "find_and_link_release_package/2");
  const r = await unpackRelease(ctx, V);
  if (r.ok !== undefined) {
    out(`Unpacked successfully: ${fmtString(V)}.`);
    await checkAndInstall(ctx, V);
    return maybePermafy(ctx, V, opts);
  }
  if (r.error !== undefined) {
    out(wrapTerm("Unpack failed: ", r.error));
    await printExistingVersions(ctx);
    throw new Halt(2);
  }
  switch (r.status) {
    case "old":
      out(`Release ${V} is marked old, switching to it.`);
      await checkAndInstall(ctx, V);
      return maybePermafy(ctx, V, opts);
    case "unpacked":
      out(`Release ${V} is already unpacked, now installing.`);
      await checkAndInstall(ctx, V);
      return maybePermafy(ctx, V, opts);
    case "current":
      if (!opts.permanent) return out(`Release ${V} is already installed and current.`);
      out(`Release ${V} is already installed and current, making permanent.`);
      return permafy(ctx, V);
    default: {
      const running = await currentVersion(ctx);
      if (running === V) return out(`Release ${V} is already installed, running and set permanent.`);
      out(`Release ${running} is the currently running version.`);
      await checkAndInstall(ctx, V);
      return maybePermafy(ctx, V, opts);
    }
  }
}

/** `unpack`, docs/emqx-4.4-hot-upgrade.md §2.4 (validated only from 4.4.12). */
async function unpack(ctx, opts) {
  connect(ctx);
  const V = opts.version;
  if (atLeast(ctx.E, "4.4.12")) await validateTargetVersion(ctx, V);
  else if (V === undefined) throw new Crash("bad argument", "find_and_link_release_package/2");
  const r = await unpackRelease(ctx, V);
  if (r.ok !== undefined) return out(`Unpacked successfully: ${fmtString(V)}`);
  if (r.error !== undefined) {
    out(`${wrapTerm("Unpack failed: ", r.error)}.`);
    await printExistingVersions(ctx);
    throw new Halt(2);
  }
  const msg = {
    old: "is marked old.",
    unpacked: "is already unpacked.",
    current: "is already installed and current.",
    permanent: "is already installed and set permanent.",
  };
  return out(`Release ${V} ${msg[r.status]}`);
}

/** `uninstall`, docs/emqx-4.4-hot-upgrade.md §2.4: no validation; an unknown version is a silent success. */
async function uninstall(ctx, opts) {
  connect(ctx);
  const V = opts.version;
  if (V === undefined) throw new Crash("bad argument", "uninstall/2");
  if (atLeast(ctx.E, "4.4.7")) {
    const cur = await currentVersion(ctx);
    mustOk(
      () =>
        fs.writeFileSync(
          path.join(ctx.root, "bin", "no_dot_erlang.boot"),
          fs.readFileSync(path.join(ctx.root, "releases", String(cur), "no_dot_erlang.boot")),
        ),
      "uninstall/2",
    );
  }
  const status = (await which(ctx)).find((r) => r.vsn === V)?.status;
  if (status === undefined) return out(`Release ${V} is already uninstalled.`);
  if (status === "current") {
    out(`Uninstall failed: Release ${V} is marked current.`);
    throw new Halt(2);
  }
  if (status === "permanent") {
    out(`Uninstall failed: Release ${V} is running.`);
    throw new Halt(2);
  }
  out(
    status === "old"
      ? `Release ${V} is marked old, uninstalling it.`
      : `Release ${V} is marked unpacked, uninstalling it`,
  );
  const res = await rh.rhCall(ctx.root, (st) => rh.removeRelease(ctx.root, st, V));
  if (res.error !== undefined) {
    out(`ERROR: release_handler:remove_release failed: ${res.error}`);
    throw new Halt(3);
  }
  return out(`Uninstalled Release: ${V}`);
}

/** Runs `install_upgrade.escript <command> <distinfo> args...` with the node described by ctx. */
async function runEscript(ctx, command, args) {
  if (command === "versions") {
    if (args.length > 0)
      throw new Crash(
        `no function clause matching versions({emqx,"-name",'${ctx.node.name}',...},${JSON.stringify(args)})`,
        "versions/2",
      );
    connect(ctx);
    return printExistingVersions(ctx);
  }
  const opts = parseArguments(args);
  if (command === "install" || command === "upgrade" || command === "downgrade") return install(ctx, opts);
  if (command === "unpack") return unpack(ctx, opts);
  if (command === "uninstall") return uninstall(ctx, opts);
  throw new Crash(`no case clause matching ${fmtString(command)}`, "main/1");
}

module.exports = { runEscript, printExistingVersions };
