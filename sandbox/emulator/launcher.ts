// The bin scripts of an emulated EMQX install. A real 4.4 package ships `bin/emqx-<V>`,
// `bin/emqx_ctl-<V>`, ... and hot upgrade copies them over `bin/emqx` when a release becomes
// permanent; the emulator's versions of those files are these small launchers, which carry the
// version of the scripts they stand for. So "which bin scripts are in use" is decided by the file
// content on disk, exactly as on a real node.
import * as path from "path";

/** Absolute path of the emulator's entry point (plain JS, runs on the test host). */
export const EMULATOR_ENTRY = path
  .join(__dirname, "emqx.js")
  .replace(`${path.sep}dist${path.sep}sandbox${path.sep}`, `${path.sep}sandbox${path.sep}`);

/** The five scripts EMQX's permafy copies (`bin/<f>-<V>` over `bin/<f>`), docs/emqx-4.4-hot-upgrade.md §2.7. */
export const BIN_SCRIPTS = ["emqx", "emqx_ctl", "nodetool", "cuttlefish", "install_upgrade.escript"] as const;

/** Content of `bin/<script>-<V>` (and of `bin/<script>` once installed) for bin scripts of `version`.
 * Every script execs the one emulator, passing the script's real path, its name and its version. */
export function launcherScript(script: string, version: string): string {
  return [
    "#!/bin/sh",
    `# EMQX 4.4 CLI emulator: bin/${script} of release ${version}`,
    `EMQX_EMULATOR_SCRIPT_VSN="${version}"`,
    `exec node "${EMULATOR_ENTRY}" "$0" "${script}" "$EMQX_EMULATOR_SCRIPT_VSN" "$@"`,
    "",
  ].join("\n");
}
