// Usage texts of bin/emqx 4.4 (ref §1.1 step 3). The ref does not quote them; these follow the
// 4.4 script's `usage()` in shape (the command list gains `ctl` in 4.4.4). Callers should not
// parse them.
"use strict";

const { out, atLeast } = require("./io");

const PER_COMMAND = {
  start: ["Start EMQ X service in daemon mode"],
  stop: ["Stop the running EMQ X program"],
  ping: ["Check if the EMQ X node is up and running", "This command exit with 0 silently if node is running"],
  root_dir: ["Print EMQ X installation root dir"],
  versions: ["List installed EMQ X versions and their status"],
  unpack: [
    "Usage: emqx unpack [VERSION]",
    "Unpacks a release package VERSION, it assumes that this",
    "release package tarball has already been deployed at one",
    "of the following locations:",
    "      releases/<relname>-<version>.tar.gz",
    "      releases/<relname>-<version>.zip",
  ],
  install: [
    "Usage: emqx install [VERSION]",
    "Installs a release package VERSION, it assumes that this",
    "release package tarball has already been deployed at one",
    "of the following locations:",
    "      releases/<relname>-<version>.tar.gz",
    "      releases/<relname>-<version>.zip",
    "",
    "     --no-permanent   Install release package VERSION but",
    "                      don't make it permanent",
  ],
  uninstall: [
    "Usage: emqx uninstall [VERSION]",
    "Uninstalls a release VERSION, it will only accept",
    "versions that are not currently in use",
  ],
  upgrade: [
    "Usage: emqx upgrade [VERSION]",
    "Upgrades the currently running release to VERSION, it assumes",
    "that a release package tarball has already been deployed at one",
    "of the following locations:",
    "      releases/<relname>-<version>.tar.gz",
    "      releases/<relname>-<version>.zip",
    "",
    "     --no-permanent   Install release package VERSION but",
    "                      don't make it permanent",
  ],
  downgrade: [
    "Usage: emqx downgrade [VERSION]",
    "Downgrades the currently running release to VERSION, it assumes",
    "that a release package tarball has already been deployed at one",
    "of the following locations:",
    "      releases/<relname>-<version>.tar.gz",
    "      releases/<relname>-<version>.zip",
    "",
    "     --no-permanent   Install release package VERSION but",
    "                      don't make it permanent",
  ],
};

/** Prints the usage of `command` (undefined: the full command list) for bin scripts `ctx.B`. */
function usage(ctx, command) {
  const lines = command !== undefined ? PER_COMMAND[command] : undefined;
  if (lines) return lines.forEach(out);
  const cmds = [
    "start", "ertspath", "foreground", "stop", "restart", "pid", "ping", "console", "console_clean", "attach",
    "remote_console", "upgrade", "downgrade", "install", "unpack", "uninstall", "versions", "escript",
    ...(atLeast(ctx.B, "4.4.4") ? ["ctl"] : []), "rpc", "rpcterms", "eval", "root_dir",
  ];
  out(`Usage: emqx {${cmds.join("|")}} <help>`);
}

module.exports = { usage };
