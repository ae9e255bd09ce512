// What an `emqx` exit code means (docs/emqx-4.4-hot-upgrade.md §2.2) and what the operator should do about it.

/** Reason and next step for a failed `emqx <command> <version>`, from its exit code and what it
 * printed (stdout and stderr, `output`): a half-done permafy when EMQX had already printed `Made
 * release permanent` (docs/emqx-4.4-hot-upgrade.md §2.7: scripts/emqx_vars may be half updated); the target left
 * `unpacked` when the failure came after `Unpacked successfully` (docs/emqx-4.4-hot-upgrade.md §2.4-2.6). */
export function explainEmqxExit(
  command: string,
  version: string,
  exitCode: number | null,
  output: string,
  timedOut: boolean,
  stopped?: string,
): string {
  const text =
    timedOut && stopped
      ? timedOutStopped(command, version, stopped)
      : explainExitCode(command, version, exitCode, output, timedOut);
  return afterUnpack(exitCode, output, timedOut) ? `${text}. ${leftUnpacked(version)}` : text;
}

/** True when EMQX unpacked the target before it failed, and no later step registered it further. */
function afterUnpack(exitCode: number | null, output: string, timedOut: boolean): boolean {
  if (timedOut || (exitCode !== 3 && exitCode !== 4)) return false;
  return /^Unpacked successfully: |is already unpacked, now installing/m.test(output);
}

/** What an unpacked-but-not-installed target means for the operator. */
function leftUnpacked(version: string): string {
  return (
    `${version} stays unpacked on the node (\`emqx versions\` lists it as unpacked; its files are in releases/${version}/ and lib/, ` +
    `EMQX's repacked releases/emqx-${version}.tar.gz stays too): nothing runs it. Once the cause is fixed, rerun; ` +
    `to remove it instead, run \`emqx uninstall ${version}\` on the node`
  );
}

/** A timed-out command whose CLI the provider then stopped (`stopped` says how that went). */
function timedOutStopped(command: string, version: string, stopped: string): string {
  return `\`emqx ${command} ${version}\` did not finish within the timeout and ${stopped}; release_handler may still be switching inside the node, which stopping the CLI does not stop: the host lock stays; check \`emqx versions\` on the host (and \`pulumi refresh\`) before clearing the lock and running it again`;
}

function explainExitCode(
  command: string,
  version: string,
  exitCode: number | null,
  stdout: string,
  timedOut: boolean,
): string {
  if (timedOut) {
    return `\`emqx ${command} ${version}\` did not finish within the timeout; EMQX may still be working inside the node: check \`emqx versions\` on the host (and \`pulumi refresh\`) before running it again`;
  }
  switch (exitCode) {
    case 1:
      return `the EMQX node is not running or not reachable from its CLI (exit 1): start it (\`emqx start\`) and check \`emqx ping\` answers pong`;
    case 2:
      if (/Uninstall failed/.test(stdout))
        return `EMQX refused to uninstall ${version} (exit 2): it is the running or permanent release`;
      if (/Unable to revert/.test(stdout))
        return `EMQX does not know release ${version} (exit 2): the package was not unpacked; check that releases/ holds exactly one zip for ${version}`;
      return `EMQX could not unpack ${version} (exit 2): check that exactly one file in releases/ matches emqx-*${version}*.zip and that it is the package for ${version}; nothing was installed`;
    case 3:
      if (/old processes/.test(stdout))
        return `EMQX refused to install ${version} (exit 3): processes still run code from two versions ago; wait a minute and retry, or restart the node first`;
      if (/remove_release failed/.test(stdout))
        return `EMQX could not remove release ${version} (exit 3): check the file permissions under the EMQX root (they must belong to the EMQX runtime user)`;
      return `release_handler refused to install ${version} (exit 3), e.g. no relup path from the running version: the running release was not changed`;
    case 4:
      return `the relup of ${version} failed inside the node (exit 4); release_handler may have restarted the node on its permanent release, dropping connections: check \`emqx versions\`, \`emqx ctl status\` and the EMQX log; do not retry until you know why`;
    case 127:
      if (/Made release permanent/.test(stdout)) {
        return `EMQX made ${version} permanent but crashed before updating bin/ and releases/emqx_vars (a half-done permafy, exit 127): copy bin/<script>-${version} over bin/<script> for emqx, emqx_ctl, nodetool, cuttlefish, install_upgrade.escript and append REL_VSN="${version}" with its ERTS_VSN to releases/emqx_vars, or ask EMQX support; re-running the upgrade cannot repair it`;
      }
      if (/relup_not_allowed|We only support relup between patch versions/.test(stdout))
        return `EMQX refused to move to ${version}: it only hot-upgrades between patch versions (exit 127)`;
      if (/enospc/.test(stdout))
        return `the EMQX upgrade script ran out of disk space (exit 127, enospc) while unpacking ${version}: nothing was installed; free space on the disk that holds the EMQX root and /tmp (EMQX's /tmp/emqx_untar_* directories of earlier upgrades can go), then rerun: EMQX rewrites the half-written releases/emqx-${version}.tar.gz from the zip`;
      return `the EMQX upgrade script crashed (exit 127): see its output; typical causes are file permissions (the EMQX runtime user must own releases/), a full disk, or an invalid version`;
    default:
      return `\`emqx ${command}\` failed with exit code ${exitCode}`;
  }
}
