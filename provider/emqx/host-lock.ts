// The host lock: an atomic `mkdir <root>/.emqx-release.lock` (inside the EMQX root, outside
// releases/) holding who took it, when and for what. Two pipelines over one node: the second
// fails at once naming the holder. A lock is never cleared by itself, stale or not: its holder may
// have been killed (a CI job cancelled mid-upgrade) while EMQX finishes the switch on the node. It
// is cleared only when the environment variable EMQX_RELEASE_CLEAR_LOCK names that lock's id
// (never a resource input), i.e. when an operator has looked and decided.
import { randomBytes } from "crypto";
import { HostLockedError, HostStateError } from "../errors";
import type { EmqxCli } from "./cli";

/** Directory name of the lock inside the EMQX root. */
export const LOCK_DIR_NAME = ".emqx-release.lock";
/** Environment variable that clears a stale lock when set to its id. */
export const CLEAR_LOCK_ENV = "EMQX_RELEASE_CLEAR_LOCK";

/** What the lock's `owner` file holds. */
export interface LockOwner {
  id: string;
  who: string;
  pid: number;
  operation: string;
  version: string;
  startedAt: string;
  /** After this instant the lock counts as stale (its holder must have died). */
  staleAfter: string;
}

const ACQUIRE_SCRIPT = [
  'd="$1"',
  'if err=$(mkdir "$d" 2>&1); then printf "%s\\n" "$2" > "$d/owner" && echo ACQUIRED; exit 0; fi',
  // mkdir failed and nothing is there: not a held lock (root missing, no write permission).
  'if [ ! -d "$d" ]; then echo FAILED; printf "%s\\n" "$err"; exit 0; fi',
  'echo HELD; cat "$d/owner" 2>/dev/null; exit 0',
].join("\n");

// Removes the lock only when its owner file names our id: never someone else's lock.
/** File in the lock directory where the release command under way records its process group
 * (cli.ts RECORD_PGID_SCRIPT), so that a timeout can stop it. */
export const PGID_FILE = "command.pgid";

// (with the process group file of the last release command, if any)
const RELEASE_SCRIPT = `grep -q "\\"id\\":\\"$2\\"" "$1/owner" 2>/dev/null && rm -f "$1/owner" "$1/${PGID_FILE}" && rmdir "$1"`;

/** A held lock; `release()` removes it (only if it is still ours), `releaseWith` does the same
 * through another CLI (a new connection, when the one that took the lock was lost). */
export interface HostLock {
  owner: LockOwner;
  release(): Promise<void>;
  releaseWith(other: EmqxCli): Promise<void>;
}

/** Takes the lock or throws HostLockedError naming the holder. */
export async function acquireHostLock(
  cli: EmqxCli,
  root: string,
  f: { operation: string; version: string; who: string; holdMs: number; env?: Record<string, string | undefined> },
): Promise<HostLock> {
  const dir = `${root}/${LOCK_DIR_NAME}`;
  const now = Date.now();
  const owner: LockOwner = {
    id: randomBytes(8).toString("hex"),
    who: f.who,
    pid: process.pid,
    operation: f.operation,
    version: f.version,
    startedAt: new Date(now).toISOString(),
    staleAfter: new Date(now + f.holdMs).toISOString(),
  };
  for (let attempt = 0; attempt < 2; attempt++) {
    const r = await cli.execOk(
      ["sh", "-c", ACQUIRE_SCRIPT, "sh", dir, JSON.stringify(owner)],
      "taking the host lock failed",
    );
    const [status, ...rest] = r.stdout.trim().split("\n");
    if (status === "FAILED") {
      throw new HostStateError({
        host: cli.host,
        reason: `cannot create the host lock ${dir}: ${rest.join(" ").trim() || "mkdir failed"}; check that ${root} exists and that the SSH user${cli.runsAs ? ` (${cli.runsAs})` : ""} can write to it; nothing was changed`,
      });
    }
    if (status === "ACQUIRED") {
      const releaseWith = async (via: EmqxCli) =>
        void (await via.exec(["sh", "-c", RELEASE_SCRIPT, "sh", dir, owner.id]));
      return { owner, release: () => releaseWith(cli), releaseWith };
    }
    const holder = parseOwner(rest.join("\n"));
    const stale = holder !== undefined && Date.parse(holder.staleAfter) < Date.now();
    const clearId = (f.env ?? process.env)[CLEAR_LOCK_ENV];
    if (holder && clearId === holder.id && attempt === 0) {
      await cli.execOk(["sh", "-c", RELEASE_SCRIPT, "sh", dir, holder.id], "clearing the stale host lock failed");
      continue;
    }
    throw lockedError(cli.host, dir, holder, stale);
  }
  throw lockedError(cli.host, dir, undefined, false);
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text.trim());
    return o && typeof o.id === "string" ? (o as LockOwner) : undefined;
  } catch {
    return undefined;
  }
}

function lockedError(host: string, dir: string, holder: LockOwner | undefined, stale: boolean): HostLockedError {
  if (!holder) {
    return new HostLockedError({
      host,
      lockId: "",
      holder: "unknown",
      message: `${host}: ${dir} exists but names no owner: another tool may be using it; if no upgrade is running on this node, remove that directory by hand`,
    });
  }
  const by = `${holder.who} (pid ${holder.pid}, ${holder.operation} ${holder.version}, since ${holder.startedAt})`;
  const message = stale
    ? `${host}: a stale host lock ${holder.id} is left by ${by}; its holder should have finished by ${holder.staleAfter}. Check that no upgrade is running on this node (\`emqx versions\`), then rerun with ${CLEAR_LOCK_ENV}=${holder.id} to clear it`
    : `${host}: another operation holds the host lock: ${by}; wait for it to finish and rerun (lock ${holder.id} in ${dir}). If that operation was killed (a cancelled CI job, a second Ctrl-C), check that no upgrade is running on this node (\`emqx versions\`), then rerun with ${CLEAR_LOCK_ENV}=${holder.id}`;
  return new HostLockedError({ host, lockId: holder.id, holder: by, message });
}
