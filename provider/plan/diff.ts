// What `diff` reports: replace when the resource now points at another node, update when any
// input changed, the node drifted from the declaration (seen by refresh) or its last recorded
// result failed, nothing otherwise.
import { isUnknown } from "./check-inputs";
import { endpointPort } from "./connection";
import { resultFailed, resultRolledBack } from "./release-result";

/** The diff result in the dynamic provider's shape. */
export interface ReleaseDiff {
  changes: boolean;
  replaces: string[];
  deleteBeforeReplace: boolean;
}

/** Deep equality of plain JSON values; unknowns compare as different. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (isUnknown(a) || isUnknown(b)) return false;
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a as object).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b as object).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** True when the connection now points at another node (host or port changed). */
export function pointsElsewhere(oldConn: unknown, newConn: unknown): boolean {
  const o = (oldConn ?? {}) as Record<string, unknown>;
  const n = (newConn ?? {}) as Record<string, unknown>;
  if (isUnknown(n.host) || isUnknown(n.port)) return true;
  return o.host !== n.host || endpointPort(o) !== endpointPort(n);
}

/** Inputs that say how a node fetches the package, not which package: a rotated token or another
 * proxy changes nothing on the node. */
const HOW_TO_FETCH = ["packageHeaders", "packageProxy"];

/** Input keys whose values differ between the state (`olds`, outputs echo inputs) and `news`.
 * `packageSha256` is compared as the digest of the new package against the one recorded. */
export function changedKeys(
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
  newDigest: string | undefined,
): string[] {
  // `__provider` (the serialized code) and check's `__package` are not user inputs.
  const keys = Object.keys(news).filter((k) => !k.startsWith("__"));
  const out: string[] = [];
  for (const k of keys) {
    if (k === "packageSha256" || HOW_TO_FETCH.includes(k)) continue;
    if (!sameValue(olds[k], news[k])) out.push(k);
  }
  if (newDigest !== undefined && newDigest !== olds.packageSha256) out.push("packageSha256");
  return out;
}

/** True when what the node runs (per state) differs from what is declared. After a refresh that
 * saw a manual downgrade or a restart that dropped a --no-permanent release, this is what makes
 * the next `up` correct the node. */
export function nodeDrifted(olds: Record<string, unknown>, news: Record<string, unknown>): boolean {
  if (olds.currentVersion === undefined) return false;
  const version = news.version;
  if (isUnknown(version)) return true;
  if (olds.currentVersion !== version) return true;
  const permanent = news.permanent !== false;
  return permanent ? olds.permanentVersion !== version : false;
}

/** The whole diff. */
export function diffRelease(
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
  newDigest: string | undefined,
): ReleaseDiff {
  const replaces = pointsElsewhere(olds.connection, news.connection) ? ["connection"] : [];
  // A host whose last operation or health gate failed (recorded, in a fleet) is tried again,
  // unless a gate failure rolled it back: then only a changed declaration or retryAfterRollback
  // sends it to that release again (its running the previous version is no drift).
  const held = resultRolledBack(olds.lastResult) && news.retryAfterRollback !== true;
  const retry = !held && (nodeDrifted(olds, news) || resultFailed(olds.lastResult));
  const changes = replaces.length > 0 || changedKeys(olds, news, newDigest).length > 0 || retry;
  return { changes, replaces, deleteBeforeReplace: true };
}
