#!/usr/bin/env node
// EMQX 4.4 CLI emulator: the `emqx` command (and bin/emqx_ctl, bin/install_upgrade.escript) of an
// emulated install, faithful to docs/emqx-4.4-hot-upgrade.md and to runs of EMQX's own scripts: the same
// stdout/stderr lines, exit codes and files touched. Plain CommonJS, node built-ins + yauzl.
//
// Invocation (from the launchers written by launcher.ts, docs/emqx-4.4-hot-upgrade.md §3.2 `bin/<f>-<V>`):
//   node emqx.js <invokedPath> <script> <scriptVersion> [args...]
// <root> = realpath(invokedPath)/../.. as bin/emqx computes RUNNER_ROOT_DIR. <scriptVersion> is the
// version of the bin script that ran, so after permafy copies bin/emqx-<V> over bin/emqx the new
// behaviour applies; the escript version is read from bin/install_upgrade.escript itself.
//
// State (docs/emqx-4.4-hot-upgrade.md Appendix A): real files (releases/RELEASES, start_erl.data, emqx_vars,
// releases/<V>/, bin/, lib/, erts-*/, data/configs/vm.*.args) plus <root>/.emulator/:
//   state.json   {running, runningVsn, runningErts, releases: [{vsn, erts, libs, status}]}: what
//                lives in the node's memory (release_handler's list, in its order). Written
//                atomically (temp + rename) under .emulator/lock (release_handler is one gen_server:
//                its calls are serialized; a lock left by a killed process is taken over).
//   calls.log    one JSON line per invocation, failing ones too: {ts, argv (the user args),
//                invokedPath, script, scriptVersion, user, exitCode, durationMs}. A call ended by
//                SIGTERM/SIGINT/SIGHUP is logged with exitCode 128+signal; SIGKILL leaves no line.
//   faults.json  fault switches, read on every call (all optional; <cmd> is the first argument,
//                e.g. "upgrade", "versions", "root_dir", "ctl", "start"; "ctl" for a 4.4.0-4.4.3
//                bin/emqx_ctl, the command itself when install_upgrade.escript is run directly):
//     {"exit": {"<cmd>": N}}     force exit code N after the preamble, with output plausible for N:
//                                1 node not responding; 2 `Unpack failed: release_package_not_found`
//                                (+ versions block) or `Uninstall failed: ...`; 3 old_processes /
//                                remove_release eacces; 4 install_release failed AND the node
//                                restarts on its permanent release (release_handler's init:restart);
//                                0 (install cmds) `... already installed, running and set permanent.`;
//                                127 `escript: exception error: ... {badrpc,timeout}`. Nothing changes
//                                on disk except the restart of code 4.
//     {"hangMs": {"<cmd>": ms}}  sleep that long after the preamble, before acting (caller timeouts).
//     {"holdMs": {"<cmd>": ms}}  install-type cmds: hold inside release_handler:install_release
//                                (after unpack and check, before the code switch). The call runs in
//                                a detached "node" process holding the lock: other release_handler
//                                calls (versions, a second upgrade) wait, and killing the CLI does
//                                not stop the switch, as on a real node (docs/emqx-4.4-hot-upgrade.md
//                                §2.1).
//     {"ulimitWarning": true|N}  the three `!!!!` lines on stdout (docs/emqx-4.4-hot-upgrade.md §1.1 step 6),
//                                N default 256; without it they appear when the caller's `ulimit -n`
//                                is below 1024.
//     {"nodeDown": true}         nodetool ping fails although state.json says running.
//     {"failAfterPermanent": true}  permafy crashes (127, {error,eacces}) right after printing
//                                `Made release permanent: "<V>"`: RELEASES/start_erl.data updated,
//                                bin scripts and emqx_vars not (a half-done permafy,
//                                docs/emqx-4.4-hot-upgrade.md §2.7).
//     {"rhFail": {"check_install_release"|"install_release": "<reason>"}}  release_handler answers
//                                {error,<reason>} to that call AFTER the real unpack (the target
//                                stays `unpacked`, its files and the repacked tar.gz stay): exit 3
//                                for check_install_release and {old_processes,M}, else exit 4; a
//                                reason {'EXIT',...} also restarts the node on its permanent release.
//                                Long reasons wrap as `~p` prints them.
//     {"fillDiskBeforeUnpack": true}  the root's filesystem is filled (.emulator/disk-filler) right
//                                before the zips are repacked: the tar.gz write fails (127, enospc).
//     {"corruptZipBeforeUnpack": true}  each matching zip is cut to half before it is unzipped.
//     {"clusterNodes": {"running": [...], "stopped": [...]}}  what `ctl cluster status` prints
//                                (default running [this node], stopped []).
//     {"clients": {...}}         what `ctl broker`, `broker stats`, `listeners`, `plugins list`
//                                print, per running version (clients.js): live connections,
//                                listeners with shutdown_count, plugins, commands left unanswered.
//     {"untarDir": "/path"}      where emqx_untar_<n>/ dirs go (default /tmp, as EMQX); test-only.
//
// RUNNER_USER (docs/emqx-4.4-hot-upgrade.md §1.1 step 4): a non-root caller other than that user gets `You need to be
// root or use sudo to run this command` (exit 1); root re-runs bin/emqx as that user (uid/gid from /etc/passwd,
// login-like env, like `su - <user> -c`), and that nested run is not logged twice.
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");

const ENTRY = __filename;

/** Worker mode: one release_handler call run as the node (see holdMs). */
async function nodeRpc([root, fn, V, holdMs, resultFile, parentPid]) {
  const rh = require("./release-handler");
  if (fn !== "install_release") throw new Error(`unknown node rpc ${fn}`);
  const res = await rh.rhCall(root, (st) => rh.installRelease(root, st, V, Number(holdMs)));
  const { pidAlive } = require("./state");
  if (!pidAlive(Number(parentPid))) return;
  const tmp = `${resultFile}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(res));
  fs.renameSync(tmp, resultFile);
}

function rootOf(invokedPath) {
  try {
    return path.dirname(path.dirname(fs.realpathSync(invokedPath)));
  } catch {
    return path.dirname(path.dirname(path.resolve(invokedPath)));
  }
}

function userName() {
  try {
    return os.userInfo().username;
  } catch {
    return String(process.getuid());
  }
}

async function main() {
  const argv = process.argv.slice(2);
  if (argv[0] === "--node-rpc") return nodeRpc(argv.slice(1));
  const startedMs = Date.now();
  const [invokedPath, script, scriptVersion, ...args] = argv;
  const root = rootOf(invokedPath);
  const { appendCall } = require("./state");
  const nested = process.env.EMQX_EMULATOR_NESTED === "1";
  let logged = false;
  const finish = (exitCode) => {
    if (!nested && !logged) {
      logged = true;
      appendCall(root, {
        ts: startedMs,
        argv: args,
        invokedPath,
        script,
        scriptVersion,
        user: userName(),
        exitCode,
        durationMs: Date.now() - startedMs,
      });
    }
    process.stdout.write("", () => process.stderr.write("", () => process.exit(exitCode)));
  };
  for (const [sig, n] of [
    ["SIGTERM", 15],
    ["SIGINT", 2],
    ["SIGHUP", 1],
  ])
    process.on(sig, () => finish(128 + n));
  const ctx = { root, invokedPath, script, B: scriptVersion, entry: ENTRY, cmd: args[0] };
  let code;
  try {
    code = await require("./cli").runCli(ctx, args);
  } catch (e) {
    process.stderr.write(`emqx emulator internal error: ${e && e.stack ? e.stack : e}\n`);
    code = 70;
  }
  finish(code);
}

main();
