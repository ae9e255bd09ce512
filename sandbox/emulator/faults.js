// The fault switches that act before a command does (see the comment block of emqx.js):
// `hangMs` sleeps, `exit` forces an exit code with output plausible for it.
"use strict";

const { readReleasesFile, sleep } = require("./state");
const rh = require("./release-handler");
const { printExistingVersions } = require("./escript");
const { Halt, out, err } = require("./io");

const INSTALL_CMDS = ["upgrade", "downgrade", "install", "unpack", "uninstall"];

/** A forced exit (faults.exit[cmd]) with output plausible for that code (see emqx.js). */
async function forcedExit(ctx, cmd, args, code) {
  const V = args.filter((a) => a !== "--no-permanent").pop();
  const isInstall = ["upgrade", "downgrade", "install"].includes(cmd);
  if (code === 1) {
    err(`Node '${ctx.node.name}' not responding to pings.`);
    if (INSTALL_CMDS.includes(cmd) || cmd === "versions" || cmd === "root_dir") out("Node is not running!");
  } else if (code === 2 && (isInstall || cmd === "unpack")) {
    out(`Unpack failed: release_package_not_found${cmd === "unpack" ? "." : ""}`);
    await printExistingVersions(ctx);
  } else if (code === 2 && cmd === "uninstall") {
    out(`Uninstall failed: Release ${V} is running.`);
  } else if (code === 3 && isInstall) {
    out(`ERROR: unable to install '${V}' - old processes still running code from module emqx_relup`);
  } else if (code === 3 && cmd === "uninstall") {
    out(`Release ${V} is marked old, uninstalling it.`);
    out("ERROR: release_handler:remove_release failed: eacces");
  } else if (code === 4 && isInstall) {
    // release_handler's default error_action: init:restart() on the permanent release (docs/emqx-4.4-hot-upgrade.md
    // §2.6).
    await rh.rhCall(ctx.root, (st) => {
      const perm = readReleasesFile(ctx.root).find((r) => r.status === "permanent");
      return rh.boot(ctx.root, st, perm ? perm.vsn : st.runningVsn, st.runningErts);
    });
    out(
      `ERROR: release_handler:install_release failed: {'EXIT',{undef,[{emqx_relup,post_release_upgrade,["${V}",[]],[]}]}}`,
    );
  } else if (code === 0 && isInstall) {
    out(`Release ${V} is already installed, running and set permanent.`);
  } else if (code === 127) {
    err("escript: exception error: no match of right hand side value {badrpc,timeout}");
  } else {
    err(`emqx emulator: forced exit ${code} for '${cmd}'`);
  }
  throw new Halt(code);
}

/** Faults that apply before a command acts: hangMs (sleep) and exit (forced exit code). */
async function applyFaults(ctx, cmd, args) {
  const hang = Number((ctx.faults.hangMs || {})[cmd] || 0);
  if (hang > 0) await sleep(hang);
  const code = (ctx.faults.exit || {})[cmd];
  if (typeof code === "number") await forcedExit(ctx, cmd, args, code);
}

module.exports = { applyFaults };
