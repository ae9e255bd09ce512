// Usage texts of bin/emqx 4.4 (docs/emqx-4.4-hot-upgrade.md §1.1 step 3). That page does not quote them;
// these follow the 4.4 script's `usage()` in shape (the command list gains `ctl` in 4.4.4). Callers should not
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

/** relx's usage line, which 4.4.0-4.4.2's bin/emqx prints for an unknown command (`emqx ctl`). */
const RELX_USAGE =
  "Usage: emqx {start|start_boot <file>|ertspath|foreground|stop|restart|reboot|pid|ping|console|console_clean|" +
  "console_boot <file>|attach|remote_console|upgrade|downgrade|install|uninstall|versions|escript|rpc|rpcterms|eval|root_dir}";

/** What 4.4.16+'s bin/emqx prints without a command, or for an unknown one. */
const USAGE_4_4_16 = [
  "Usage: emqx COMMAND [help]",
  "",
  "Commonly used COMMANDs:",
  "  start:      Start EMQX in daemon mode",
  "  console:    Start EMQX in an interactive Erlang shell",
  "  foreground: Start EMQX in foreground mode without an interactive shell",
  "  stop:       Stop the running EMQX node",
  "  restart:    Restart the running EMQX node",
  "  ctl:        Administration commands, execute 'emqx ctl help' for more details",
  "",
  "More:",
  "  Shell attach:  remote_console | attach",
  "  Up/Down-grade: upgrade | downgrade | install | uninstall",
  "  Install info:  ertspath | root_dir | versions",
  "  Runtime info:  pid | ping | versions",
  "  Config check:  check_conf",
  "  Advanced:      console_clean | escript | rpc | rpcterms | eval",
  "",
  "Execute 'emqx COMMAND help' for more information",
];

/** Prints the usage of `command` (undefined: the full command list) for bin scripts `ctx.B`. */
function usage(ctx, command) {
  const lines = command !== undefined ? PER_COMMAND[command] : undefined;
  if (lines) return lines.forEach(out);
  // The full list as EMQX's own bin/emqx prints it (real captures of the 4.4.0-4.4.2 and 4.4.16+
  // scripts); the scripts in between print what the line after these two says (not captured).
  if (!atLeast(ctx.B, "4.4.3")) return out(RELX_USAGE);
  if (atLeast(ctx.B, "4.4.16")) return USAGE_4_4_16.forEach(out);
  const cmds = [
    "start",
    "ertspath",
    "foreground",
    "stop",
    "restart",
    "pid",
    "ping",
    "console",
    "console_clean",
    "attach",
    "remote_console",
    "upgrade",
    "downgrade",
    "install",
    "unpack",
    "uninstall",
    "versions",
    "escript",
    ...(atLeast(ctx.B, "4.4.4") ? ["ctl"] : []),
    "rpc",
    "rpcterms",
    "eval",
    "root_dir",
  ];
  out(`Usage: emqx {${cmds.join("|")}} <help>`);
}

module.exports = { usage };
