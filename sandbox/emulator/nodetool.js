// What bin/emqx does through nodetool (docs/emqx-4.4-hot-upgrade.md §1.2, §1.3): the node-alive checks, `ctl` commands,
// `start` and `stop`. Whether the node answers comes from .emulator/state.json, the nodeDown fault,
// and RELEASES on disk (nodetool looks up REL_VSN there on every call).
"use strict";

const fs = require("fs");
const path = require("path");
const { fmtAtomList } = require("./erlang-term");
const { loadState, newestVmArgs, readReleasesFile } = require("./state");
const rh = require("./release-handler");
const { Halt, out, err, atLeast } = require("./io");
const { clientsCommand } = require("./clients");

/** nodetool's view of the node: up, or down with what nodetool printed on stderr and its status.
 * nodetool looks up REL_VSN in RELEASES on every call, so a RELEASES that lost it (docs/emqx-4.4-hot-upgrade.md §2.5
 * step 4) makes the node unreachable from the CLI although it runs. */
function nodetoolPing(ctx) {
  const st = loadState(ctx.root);
  try {
    if (!readReleasesFile(ctx.root).some((r) => r.vsn === ctx.vars.REL_VSN)) {
      return {
        up: false,
        stderr: `escript: exception error: {failed_to_find_release_in_RELEASES,"${ctx.vars.REL_VSN}"}`,
        code: 127,
      };
    }
  } catch {
    return { up: false, stderr: "escript: exception error: failed_to_read_RELEASES_file", code: 127 };
  }
  if (!st || !st.running || ctx.faults.nodeDown) {
    return { up: false, stderr: `Node '${ctx.node.name}' not responding to pings.`, code: 1 };
  }
  return { up: true };
}

/** nodetool ping as bin/emqx uses it before an escript command: stderr line, then stdout
 * `Node is not running!`, exit 1. */
function requireNode(ctx) {
  const ping = nodetoolPing(ctx);
  if (ping.up) return;
  err(ping.stderr);
  out("Node is not running!");
  throw new Halt(1);
}

/** `assert_node_alive` of v4.4.4+ (root_dir, ctl); 4.4.4-4.4.7 call an undefined `die` (docs/emqx-4.4-hot-upgrade.md
 * §1.2). */
function assertNodeAlive(ctx) {
  const ping = nodetoolPing(ctx);
  if (ping.up) return;
  err(ping.stderr);
  if (atLeast(ctx.B, "4.4.8")) {
    err("ERROR: node_is_not_running!");
    throw new Halt(1);
  }
  if (atLeast(ctx.B, "4.4.4")) {
    err(`${ctx.invokedPath}: line 267: die: command not found`);
    throw new Halt(127);
  }
  out("Node is not running!");
  throw new Halt(1);
}

/** `emqx_ctl run_command` for the few commands the emulator knows (docs/emqx-4.4-hot-upgrade.md §1.3;
 * broker, broker stats, listeners and plugins list in clients.js). */
async function ctlCommand(ctx, args) {
  const st = loadState(ctx.root);
  if (clientsCommand(ctx, st, args)) return;
  if (args.join(" ") === "status") return out(`Node '${ctx.node.name}' ${st.runningVsn} is started`);
  if (args.join(" ") === "cluster status") {
    const c = ctx.faults.clusterNodes || {};
    const running = c.running || [ctx.node.name];
    const stopped = c.stopped || [];
    const flat = `#{running_nodes => ${fmtAtomList(running, 0)},stopped_nodes => ${fmtAtomList(stopped, 0)}}`;
    if (16 + flat.length <= 80) return out(`Cluster status: ${flat}`);
    // io_lib_pretty: one association per line, aligned after `#{` (column 18); a list that does
    // not fit after `key => ` puts one element per line, aligned after its `[`.
    const assoc = (key, nodes) => `${key} => ${fmtAtomList(nodes, 18 + key.length + 4)}`;
    return out(
      `Cluster status: #{${assoc("running_nodes", running)},\n${" ".repeat(18)}${assoc("stopped_nodes", stopped)}}`,
    );
  }
  // An unknown command: emqx_ctl prints its usage (EMQX's layout: a `%-70s# <what>` line per
  // command, groups between dashes) and returns {error, cmd_not_found}, on which nodetool exits 1.
  const line = "-".repeat(110);
  const usage = (cmd, what) => out(`${cmd.padEnd(70)}# ${what}`);
  out("Usage: emqx_ctl");
  out(line);
  usage("status", "Show broker status");
  out(line);
  usage("cluster join <Node>", "Join the cluster");
  usage("cluster leave", "Leave the cluster");
  usage("cluster force-leave <Node>", "Force the node leave from cluster");
  usage("cluster status", "Cluster status");
  throw new Halt(1);
}

/** `emqx start` (docs/emqx-4.4-hot-upgrade.md §1.3): boots REL_VSN of emqx_vars (= the permanent release after a clean
 * permafy); the release list is read back from RELEASES, so `current` is gone. */
async function start(ctx) {
  if (nodetoolPing(ctx).up) {
    out("Node is already running!");
    throw new Halt(1);
  }
  const vsn = ctx.vars.REL_VSN;
  const desc = ctx.vars.EMQX_DESCRIPTION || "EMQ X Broker";
  if (!fs.existsSync(path.join(ctx.root, "releases", vsn, "start.boot"))) {
    out(`${desc} ${vsn} failed to start within 15 seconds,`);
    out(`see the output of '${ctx.invokedPath} console' for more information.`);
    out("If you want to wait longer, set the environment variable");
    out("WAIT_FOR_ERLANG to the number of seconds to wait.");
    throw new Halt(1);
  }
  if (!newestVmArgs(ctx.dataDir)) {
    const dir = path.join(ctx.dataDir, "configs");
    fs.mkdirSync(dir, { recursive: true });
    const ts = new Date().toISOString().replace(/[-T:]/g, ".").slice(0, 19);
    fs.writeFileSync(path.join(dir, `vm.${ts}.args`), `-name ${ctx.node.name}\n-setcookie ${ctx.node.cookie}\n`);
  }
  await rh.rhCall(ctx.root, (st) => rh.boot(ctx.root, st, vsn, ctx.vars.ERTS_VSN));
  out(`${desc} ${vsn} is started successfully!`);
}

async function stop(ctx) {
  const ping = nodetoolPing(ctx);
  if (!ping.up) {
    err(ping.stderr);
    err("Graceful shutdown failed PID=[]");
    throw new Halt(1);
  }
  await rh.rhCall(ctx.root, (st) => {
    st.running = false;
    return { ok: true, dirty: true };
  });
  out("ok");
}

module.exports = { nodetoolPing, requireNode, assertNodeAlive, ctlCommand, start, stop };
