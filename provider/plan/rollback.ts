// Whether a failed gate right after an upgrade can be answered with `emqx downgrade <previous>`:
// only when the node still has the previous release and the new release's relup covers the way
// back to it (docs/emqx-4.4-hot-upgrade.md §3.4; EMQX calls a downgrade safe only right after the
// upgrade, §4); otherwise the rollout halts and says why.
import type { InstalledRelease } from "./upgrade-plan";

/** What the node looks like right after the upgrade whose gate failed. */
export interface RollbackInput {
  host: string;
  /** The release the upgrade installed (running now). */
  from: string;
  /** The release the node ran before (the one to go back to). */
  to: string;
  /** The upgrade made `from` permanent (a --no-permanent trial is reverted by a restart instead). */
  permanent: boolean;
  installed: InstalledRelease[];
  /** The running release's relup down list (host facts). */
  relupDownTo: string[];
}

/** Why the node cannot be downgraded back, or undefined when it can. */
export function rollbackRefusal(i: RollbackInput): string | undefined {
  const prev = i.installed.find((r) => r.version === i.to)?.status;
  if (!i.permanent)
    return `${i.from} was installed with --no-permanent: declare ${i.to} again to restart the node into it (no automatic downgrade of a trial)`;
  if (prev !== "old")
    return `${i.to} is no longer installed as an old release on ${i.host} (\`emqx versions\` lists it ${prev ? `as ${prev}` : "not at all"}), so there is nothing to downgrade to`;
  if (!i.relupDownTo.includes(i.to))
    return `${i.from}'s relup has no way down to ${i.to} (it covers ${i.relupDownTo.join(", ") || "no version"})`;
  return undefined;
}
