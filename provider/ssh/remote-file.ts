// The remote side of putting a package on a host, shared by the upload (ssh/upload.ts) and the
// node's own download (ssh/download.ts): a temporary name in the target directory that EMQX's glob
// `emqx-*<V>*.zip` never matches, the sha256 checked on the host, an atomic rename into place, and
// an empty stamp `.<finalName>.<sha256>.emqx-release-stamp` that lets a rerun trust the file
// without re-reading 100 MB: the stamp counts only while it is strictly newer (ctime) than the
// package, and any write to or rename of the package sets the package's ctime to now, which no
// user can set back (git's index relies on the same). A temporary file found at the start of a
// transfer was left by one that was cut off (transfers run under the host lock) and is removed.
import { randomBytes } from "crypto";
import * as path from "path";
import { CommandResult } from "../runner";
import { EmqxProviderError, RemoteCommandError } from "../errors";
import { describeCommandEnd } from "../plan/command-status";
import { SshSession } from "./session";
import { asUser, runsThroughSudo, SudoAs, sudoAdvice, sudoRefusal } from "./sudo";
import { ProgressLogger } from "./types";

/** The part of a session a transfer needs (unit tests may pass a fake). */
export type TransferSession = Pick<SshSession, "host" | "user" | "run" | "sftpPut">;

/** The remote commands of a transfer (see remoteFileOps). */
export type RemoteFileOps = ReturnType<typeof remoteFileOps>;

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Where a transfer goes, validated: `want` is the lowercase sha256. */
export interface TransferTarget {
  want: string;
  finalPath: string;
  stampPath: string;
}

/** Validates the target, then either says the host already has the file (`skipped`) or removes
 * what interrupted transfers left and returns where to write. `what` names the transfer in
 * messages ("upload of ./emqx-....zip"). */
export async function prepareTransfer(
  ops: RemoteFileOps,
  host: string,
  req: { remoteDir: string; finalName: string; sha256: string },
  what: string,
  log: ProgressLogger,
): Promise<{ skipped: true } | ({ skipped: false } & TransferTarget)> {
  const want = req.sha256.trim().toLowerCase();
  if (!SHA256_HEX.test(want))
    throw new EmqxProviderError(`${what}: sha256 must be 64 hex digits, got ${JSON.stringify(req.sha256)}`);
  if (!req.finalName || req.finalName.includes("/") || req.finalName === "." || req.finalName === "..") {
    throw new EmqxProviderError(`${what}: finalName must be a plain file name, got ${JSON.stringify(req.finalName)}`);
  }
  const finalPath = path.posix.join(req.remoteDir, req.finalName);
  const stampPath = path.posix.join(req.remoteDir, `.${req.finalName}.${want}.emqx-release-stamp`);
  const existing = await ops.sha256IfExists(finalPath, stampPath, want);
  if (existing === want) return { skipped: true };
  if (existing !== undefined) log(`${finalPath} on ${host} has sha256 ${existing}, not ${want}; replacing it`);
  for (const f of await ops.interruptedUploads(req.remoteDir)) {
    await ops.check(["rm", "-f", "--", f], `remove ${f}, left by an interrupted upload`, true);
    log(`removed ${f}, left by an interrupted upload`);
  }
  return { skipped: false, want, finalPath, stampPath };
}

/** A fresh temporary path in `dir` (`.emqx-release-upload-<16 hex>.part`: the glob never matches it). */
export function temporaryPath(dir: string): string {
  return path.posix.join(dir, `.emqx-release-upload-${randomBytes(8).toString("hex")}.part`);
}

/** Checks the sha256 of `tempPath` on the host, renames it to the final name and stamps it.
 * `mismatch(got)` is the error message when the sha256 differs. */
export async function commitTransfer(
  ops: RemoteFileOps,
  tempPath: string,
  t: TransferTarget,
  mismatch: (got: string) => string,
): Promise<void> {
  const got = await ops.sha256(tempPath);
  if (got !== t.want) throw new EmqxProviderError(mismatch(got));
  await ops.check(
    ["mv", "-f", "--", tempPath, t.finalPath],
    `rename the verified file to ${path.posix.basename(t.finalPath)}`,
    true,
  );
  await ops.writeStamp(t.stampPath);
}

/** What an upload runs on the host (as runAs, through sudo, for the ones that touch the package):
 * the sudoers line an error suggests lists these (a download adds its tool, see download.ts). */
export const SUDO_COMMANDS = [
  "/usr/bin/stat",
  "/usr/bin/touch",
  "/usr/bin/openssl",
  "/usr/bin/sha256sum",
  "/bin/cp",
  "/bin/mv",
  "/bin/rm",
];

/** A command the host does not have: the shell's 127, or sudo's "command not found". */
function commandMissing(r: CommandResult): boolean {
  return r.exitCode === 127 || (r.exitCode === 1 && /sudo: .*: command not found/.test(r.stderr));
}

/** Remote commands of a transfer, run as `runAs` (through sudo) where `asRunAs` is set. */
export function remoteFileOps(
  session: TransferSession,
  runAs: string | undefined,
  sudoPassword: string | undefined,
  sudoCommands: readonly string[] = SUDO_COMMANDS,
) {
  const as: SudoAs | undefined = runAs === undefined ? undefined : { user: runAs, password: sudoPassword };
  /** Runs argv, as runAs where `asRunAs`; returns the argv as run (never holding the password). */
  const run = async (
    argv: string[],
    asRunAs: boolean,
    options: { stdin?: string; timeoutMs?: number } = {},
  ): Promise<CommandResult & { argv: string[] }> => {
    const cmd = asUser(argv, asRunAs ? as : undefined, options.stdin);
    return { ...(await session.run(cmd.argv, { stdin: cmd.stdin, timeoutMs: options.timeoutMs })), argv: cmd.argv };
  };

  /** Throws the error of a failed command: sudo's refusal with the sudoers advice, else `reason`
   * (default: the command and how it ended). */
  const fail = (argv: string[], r: CommandResult, what: string, reason?: string): never => {
    const refusal = runsThroughSudo(argv) && runAs !== undefined ? sudoRefusal(r.exitCode, r.stderr) : undefined;
    if (refusal) {
      throw new RemoteCommandError({
        ...r,
        host: session.host,
        argv,
        reason: `cannot ${what} on ${session.host}: ${sudoAdvice(refusal, session.user, runAs as string, sudoCommands.join(", "))}`,
      });
    }
    throw new RemoteCommandError({
      ...r,
      host: session.host,
      argv,
      reason: `cannot ${what} on ${session.host}: ${reason ?? `\`${argv.join(" ")}\` ${describeCommandEnd(r)}`}`,
    });
  };

  const check = async (argv: string[], what: string, asRunAs: boolean): Promise<CommandResult> => {
    const r = await run(argv, asRunAs);
    return r.exitCode === 0 ? r : fail(r.argv, r, what);
  };

  /** `openssl dgst` where the host has it (4-6x faster than coreutils' sha256sum), else sha256sum. */
  const sha256 = async (file: string): Promise<string> => {
    const viaOpenssl = await run(["openssl", "dgst", "-sha256", "-r", "--", file], true);
    const r =
      viaOpenssl.exitCode === 0
        ? viaOpenssl
        : commandMissing(viaOpenssl)
          ? await check(["sha256sum", "--", file], `compute the sha256 of ${file}`, true)
          : fail(viaOpenssl.argv, viaOpenssl, `compute the sha256 of ${file}`);
    // "<hex> *<name>" (openssl -r) or "<hex>  <name>" (sha256sum, which prefixes "\" to a line whose
    // name has a backslash or newline).
    const m = /^\\?([0-9a-fA-F]{64}) /.exec(r.stdout);
    if (!m)
      throw new EmqxProviderError(
        `cannot read the sha256 of ${session.host}:${file}: ${r === viaOpenssl ? "openssl dgst" : "sha256sum"} printed ${JSON.stringify(r.stdout.slice(0, 200))}`,
      );
    return m[1].toLowerCase();
  };

  /** The file's sha256, or undefined when it does not exist. One `stat` of the file and of the
   * stamp of the wanted sha256: a stamp newer than the file vouches for it; otherwise it is hashed. */
  const sha256IfExists = async (file: string, stamp: string, want: string): Promise<string | undefined> => {
    const r = await run(["stat", "-c", "%z %n", "--", file, stamp], true);
    // One "<ctime> <name>" line per file that exists; "No such file" on stderr for the others.
    const ctimeOf = (name: string) =>
      r.stdout
        .split("\n")
        .find((l) => l.endsWith(` ${name}`))
        ?.slice(0, -name.length - 1);
    const fileCtime = ctimeOf(file);
    if (fileCtime === undefined) {
      if (!r.stderr.includes("No such file or directory")) fail(r.argv, r, `check whether ${file} exists`);
      return undefined;
    }
    const stampCtime = ctimeOf(stamp);
    // Both stamps come from one stat call: same format, same time zone, so the strings compare.
    if (stampCtime !== undefined && stampCtime.length === fileCtime.length && stampCtime > fileCtime) return want;
    return sha256(file);
  };

  /** Stamps a verified file. Best effort: without a stamp the next run hashes the file again. */
  const writeStamp = async (stamp: string): Promise<void> => {
    try {
      await run(["touch", "--", stamp], true);
    } catch {
      // the next run hashes the file instead
    }
  };

  /** Our temporary files in `dir` (listed as the SSH user: `find` as another user fails where it
   * cannot return to the SSH user's home). Best effort: an unlistable directory yields none. */
  const interruptedUploads = async (dir: string): Promise<string[]> => {
    const r = await run(["ls", "-1a", "--", dir], false);
    if (r.exitCode !== 0) return [];
    return r.stdout
      .split("\n")
      .filter((n) => /^\.emqx-release-upload-[0-9a-f]{16}\.part$/.test(n))
      .map((n) => path.posix.join(dir, n));
  };

  /** Cleanup that must not hide the error being thrown. */
  const bestEffort = async (argv: string[], asRunAs: boolean): Promise<void> => {
    try {
      await run(argv, asRunAs);
    } catch {
      // the connection is gone; the original error says so
    }
  };

  return { run, fail, check, sha256, sha256IfExists, writeStamp, interruptedUploads, bestEffort };
}
