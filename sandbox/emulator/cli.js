// bin/emqx and bin/emqx_ctl of EMQX 4.4 (docs/emqx-4.4-hot-upgrade.md §1): the common preamble, the dispatch of the
// upgrade-related commands, root_dir / ping / ctl / start / stop. `B` is the version of the bin
// script that was executed (carried by the launcher), `E` the version of the escript on disk.
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const { spawn } = require("child_process");
const { fmtStringList } = require("./erlang-term");
const { installPaths, launcherVersion, readEmqxVars, readFaults, newestVmArgs, readVmArgs } = require("./state");
const { runEscript } = require("./escript");
const { nodetoolPing, requireNode, assertNodeAlive, ctlCommand, start, stop } = require("./nodetool");
const { applyFaults } = require("./faults");
const { Halt, Crash, out, err, printCrash, atLeast } = require("./io");
const { usage } = require("./usage");

const INSTALL_CMDS = ["upgrade", "downgrade", "install", "unpack", "uninstall"];
const BOOT_CMDS = ["start", "console", "foreground", "check_conf"];

/** The soft limit of open files (`ulimit -n`), from /proc/self/limits; undefined if unknown. */
function openFilesLimit() {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(fs.readFileSync("/proc/self/limits", "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** `check_user` (docs/emqx-4.4-hot-upgrade.md §1.1 step 4). Root is re-executed as RUNNER_USER
 * exactly as bin/emqx does it: `su - <user> -c "<bin/emqx> <args...>"`, a login shell, so the
 * caller's environment is dropped and a user whose shell is nologin (a deb/rpm install's emqx)
 * refuses ("This account is currently not available.", exit 1). The nested run is marked in the
 * command so it is not logged twice. */
async function checkUser(ctx, args) {
  const user = ctx.vars.RUNNER_USER;
  if (!user || os.userInfo().username === user) return;
  if (process.getuid() !== 0) {
    out("You need to be root or use sudo to run this command");
    throw new Halt(1);
  }
  const binEmqx = path.join(ctx.root, "bin", "emqx");
  // bin/emqx builds CMD as `"<script>" "<arg>"...` (no escaping of its own); the arguments the
  // provider passes hold no double quotes.
  const cmd = ["EMQX_EMULATOR_NESTED=1", ...[binEmqx, ...args].map((a) => `"${a}"`)].join(" ");
  const code = await new Promise((resolve) => {
    const child = spawn("su", ["-", user, "-c", cmd], { stdio: "inherit" });
    child.on("error", () => resolve(1));
    child.on("exit", (c, sig) => resolve(c === null ? 128 + (os.constants.signals[sig] || 0) : c));
  });
  throw new Halt(code);
}

/** The common preamble of bin/emqx (docs/emqx-4.4-hot-upgrade.md §1.1), in order. Fills ctx.vars, ctx.node,
 * ctx.dataDir. */
async function preamble(ctx, args, { helpHandling }) {
  const p = installPaths(ctx.root);
  try {
    ctx.vars = readEmqxVars(ctx.root);
  } catch {
    err(`${ctx.invokedPath}: line 12: ${p.emqxVars}: No such file or directory`);
    throw new Halt(1);
  }
  const ertsBin = path.join(ctx.root, `erts-${ctx.vars.ERTS_VSN}`, "bin");
  if (atLeast(ctx.B, "4.4.7") && fs.existsSync(ertsBin)) {
    for (const f of fs.readdirSync(ertsBin)) {
      const file = path.join(ertsBin, f);
      const mode = fs.statSync(file).mode & 0o7777;
      if ((mode & 0o111) !== 0o111) fs.chmodSync(file, mode | 0o111);
    }
  }
  const cmd = args[0];
  if (helpHandling) {
    if (cmd === undefined) {
      usage(ctx, undefined);
      throw new Halt(1);
    }
    if (cmd === "help") {
      usage(ctx, undefined);
      throw new Halt(0);
    }
    if (args[1] === "help" && cmd !== "ctl") {
      usage(ctx, cmd);
      throw new Halt(0);
    }
  }
  await checkUser(ctx, args);
  if (!fs.existsSync(ertsBin)) {
    err("FATAL: Unable to start Erlang.");
    err("Please make sure openssl-1.1.1 (libcrypto) and libncurses are installed.");
    err("Also ensure it's running on the correct platform,");
    err(`this EMQ X release is built for ${ctx.vars.REL_VSN}`);
    throw new Halt(1);
  }
  // bin/emqx warns when the caller's `ulimit -n` is below 1024 (the emulator inherits it through
  // the launcher's exec); the fault switch forces the warning whatever the limit.
  const limit = openFilesLimit();
  if (ctx.faults.ulimitWarning || (limit !== undefined && limit < 1024)) {
    const n =
      typeof ctx.faults.ulimitWarning === "number" ? ctx.faults.ulimitWarning : ctx.faults.ulimitWarning ? 256 : limit;
    out("!!!!");
    out(`!!!! WARNING: ulimit -n is ${n}; 1024 is the recommended minimum.`);
    out("!!!!");
  }
  ctx.dataDir = ctx.vars.RUNNER_DATA_DIR || path.join(ctx.root, "data");
  const vmArgs = newestVmArgs(ctx.dataDir);
  const fromFile = vmArgs ? readVmArgs(vmArgs) : { name: undefined, cookie: undefined };
  if (!BOOT_CMDS.includes(cmd) && !vmArgs) {
    err(`There is no vm.*.args config file found in '${path.join(ctx.dataDir, "configs")}/'`);
    err("Please make sure the node is initialized (started for at least once)");
    throw new Halt(1);
  }
  const name = process.env.EMQX_NODE_NAME || fromFile.name || "emqx@127.0.0.1";
  ctx.node = { name, cookie: process.env.EMQX_NODE_COOKIE || fromFile.cookie || "emqxsecretcookie" };
  if (!/^[0-9A-Za-z_-]+$/.test(name.split("@")[0])) {
    out("Invalid node name, should be of format '^[0-9A-Za-z_-]+$'.");
    throw new Halt(1);
  }
  ctx.nodeUp = () => nodetoolPing(ctx).up;
}

/** The escript that bin/emqx execs: `<R>/bin/install_upgrade.escript` (its own version). */
function escriptCtx(ctx) {
  const file = path.join(ctx.root, "bin", "install_upgrade.escript");
  const E = launcherVersion(file);
  if (!fs.existsSync(file) || E === undefined) {
    err(`escript: Failed to open file: ${file}`);
    throw new Halt(127);
  }
  return { ...ctx, E };
}

/** bin/emqx. */
async function emqxScript(ctx, args) {
  await preamble(ctx, args, { helpHandling: true });
  const cmd = args[0];
  if (INSTALL_CMDS.includes(cmd) && !args[1]) {
    out("Missing version argument");
    out(`Usage: emqx ${cmd} {version}`);
    throw new Halt(1);
  }
  await applyFaults(ctx, cmd, args.slice(1));
  if (INSTALL_CMDS.includes(cmd) || cmd === "versions") {
    requireNode(ctx);
    return runEscript(escriptCtx(ctx), cmd, args.slice(1));
  }
  switch (cmd) {
    case "root_dir":
      if (atLeast(ctx.B, "4.4.4")) assertNodeAlive(ctx);
      else requireNode(ctx);
      return out(`"${ctx.root}"`);
    case "ping": {
      const ping = nodetoolPing(ctx);
      if (!ping.up) {
        err(ping.stderr);
        throw new Halt(ping.code);
      }
      return out("pong");
    }
    case "ctl":
      if (!atLeast(ctx.B, "4.4.4")) {
        usage(ctx, undefined);
        throw new Halt(1);
      }
      assertNodeAlive(ctx);
      return ctlCommand(ctx, args.slice(1));
    case "start":
      return start(ctx);
    case "stop":
      return stop(ctx);
    default:
      usage(ctx, undefined);
      throw new Halt(1);
  }
}

/** bin/emqx_ctl: before 4.4.4 a standalone script (nodetool rpc; a dead node shows only the
 * stderr ping line, exit 1); from 4.4.4 `exec bin/emqx ctl "$@"`. */
async function emqxCtlScript(ctx, args) {
  if (atLeast(ctx.B, "4.4.4")) {
    const binEmqx = path.join(ctx.root, "bin", "emqx");
    return emqxScript({ ...ctx, invokedPath: binEmqx, B: launcherVersion(binEmqx) || ctx.B }, ["ctl", ...args]);
  }
  await preamble(ctx, args, { helpHandling: false });
  await applyFaults(ctx, "ctl", args);
  const ping = nodetoolPing(ctx);
  if (!ping.up) {
    err(ping.stderr);
    throw new Halt(ping.code);
  }
  return ctlCommand(ctx, args);
}

/** bin/install_upgrade.escript run directly: `<Command> "<distinfo>" [args...]`. */
async function escriptScript(ctx, args) {
  if (args.length < 2) {
    out(`unknown args: ${fmtStringList(args, 14)}`);
    throw new Halt(1);
  }
  ctx.vars = readEmqxVars(ctx.root);
  ctx.dataDir = ctx.vars.RUNNER_DATA_DIR || path.join(ctx.root, "data");
  const m = /'([^']+)'\s*,\s*'([^']*)'\s*\}\s*$/.exec(args[1]);
  const vm = newestVmArgs(ctx.dataDir);
  const own = vm ? readVmArgs(vm) : {};
  ctx.node = { name: m ? m[1] : String(args[1]), cookie: m ? m[2] : "" };
  ctx.nodeUp = () => ctx.node.name === own.name && nodetoolPing(ctx).up;
  await applyFaults(ctx, args[0], args.slice(2));
  return runEscript({ ...ctx, E: ctx.B }, args[0], args.slice(2));
}

/** Entry of one CLI invocation; returns the exit code. */
async function runCli(ctx, args) {
  ctx.faults = readFaults(ctx.root);
  ctx.untarBase = ctx.faults.untarDir || "/tmp";
  try {
    if (ctx.script === "emqx") await emqxScript(ctx, args);
    else if (ctx.script === "emqx_ctl") await emqxCtlScript(ctx, args);
    else if (ctx.script === "install_upgrade.escript") await escriptScript(ctx, args);
    else {
      err(`emqx emulator: bin/${ctx.script} is not emulated`);
      return 1;
    }
    return 0;
  } catch (e) {
    if (e instanceof Halt) return e.code;
    if (e instanceof Crash) {
      printCrash(e);
      return 127;
    }
    throw e;
  }
}

module.exports = { runCli };
