// delete on one node: under the host lock, uninstall the declared release when the node no longer
// uses it (`old` or `unpacked`); a release the node runs or boots is left alone, since EMQX cannot
// uninstall it.
import type { ResolvedRelease } from "../plan/inputs";
import { EmqxCli } from "./cli";
import { acquireHostLock } from "./host-lock";

/** Uninstalls `want.version` when it is `old` or `unpacked`; logs what it did or why it did not. */
export async function uninstallRelease(
  cli: EmqxCli,
  want: Pick<ResolvedRelease, "version" | "commandTimeoutMs">,
  ctx: { who: string; log: (line: string) => void },
): Promise<void> {
  const rootDir = await cli.rootDir();
  const lock = await acquireHostLock(cli, rootDir, {
    operation: "uninstall",
    version: want.version,
    who: ctx.who,
    holdMs: 20 * want.commandTimeoutMs,
  });
  try {
    const status = (await cli.versions()).find((r) => r.version === want.version)?.status;
    if (status === "old" || status === "unpacked") {
      ctx.log(`uninstall ${want.version} (${status})`);
      await cli.releaseCommand("uninstall", want.version);
    } else if (status === undefined) {
      ctx.log(`${want.version} is not installed: nothing to uninstall`);
    } else {
      ctx.log(
        `${want.version} is the ${status} release: EMQX cannot uninstall the running release, so the broker is left as it is`,
      );
    }
  } finally {
    await lock.release().catch(() => undefined);
  }
}
