// `onGateFailure: "downgrade"`: when a gate failed right after an upgrade, take the node back to
// the release it ran before with `emqx downgrade <previous>` and verify it, or say why not
// (plan/rollback). Runs under the operation's host lock.
import { RemoteCommandError } from "../errors";
import type { HostFacts } from "../plan/host-facts";
import type { ResolvedRelease } from "../plan/inputs";
import type { RolledBack } from "../plan/release-result";
import { rollbackRefusal } from "../plan/rollback";
import type { InstalledRelease } from "../plan/upgrade-plan";
import { verifyNode, type ApplyContext } from "./apply-release";

/** What the rollback did: the node's state afterwards when it ran. */
export interface RollbackOutcome {
  rolledBack?: RolledBack;
  rollbackRefused?: string;
  after?: { installed: InstalledRelease[]; facts: HostFacts };
}

/** Downgrades the node from `from` (just installed) back to `to`, when asked and possible. */
export async function rollBackAfterFailedGate(
  ctx: ApplyContext,
  want: ResolvedRelease,
  n: { rootDir: string; action: string; from: string; to: string; installed: InstalledRelease[]; facts: HostFacts },
): Promise<RollbackOutcome> {
  if (want.onGateFailure !== "downgrade") return {};
  const refused =
    n.action !== "upgrade"
      ? `the failed operation was ${n.action === "downgrade" ? "a downgrade" : `"${n.action}"`}, not an upgrade`
      : rollbackRefusal({
          host: ctx.cli.host,
          from: n.from,
          to: n.to,
          permanent: want.permanent,
          installed: n.installed,
          relupDownTo: n.facts.relupDownTo,
        });
  if (refused) {
    ctx.log(`gate failed; onGateFailure is "downgrade" but the node stays on ${n.from}: ${refused}`);
    return { rollbackRefused: refused };
  }
  ctx.log(`gate failed: rolling back, downgrade ${n.to} (from ${n.from})`);
  const started = Date.now();
  try {
    await ctx.cli.releaseCommand("downgrade", n.to);
  } catch (e) {
    if (!RemoteCommandError.isInstance(e)) throw e;
    e.message = `the gate failed after the upgrade to ${n.from} and the automatic rollback to ${n.to} failed too: ${e.message}`;
    throw e;
  }
  const after = await verifyNode(ctx.cli, n.rootDir, n.to, true, { binScripts: true });
  const rolledBack = { from: n.from, to: n.to, durationMs: Date.now() - started };
  ctx.log(`rolled back: the node runs ${n.to} again (${rolledBack.durationMs} ms)`);
  return { rolledBack, after: { installed: after.installed, facts: after.facts } };
}
