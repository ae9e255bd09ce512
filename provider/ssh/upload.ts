// The only way a package reaches a host: upload under a temporary name in the target directory,
// verify its sha256 on the host, then rename it into place (atomic within one directory). EMQX's
// upgrade script picks packages by the glob `emqx-*<V>*.zip`, so a half-written file must never
// carry a name that glob matches: the temporary name starts with a dot and ends with `.part`, and
// the next upload to that directory removes any such file an interrupted one left.
// After a verified upload an empty stamp file named after the sha256
// (`.<finalName>.<sha256>.emqx-release-stamp`) lets a rerun trust the file without re-reading
// 100 MB on the host, in one `stat` of both: the stamp counts only while it is strictly newer (ctime)
// than the package, and any write to or rename of the package sets the package's ctime to now,
// which no user can set back (git's index relies on the same).
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { CommandResult } from "../runner";
import { EmqxProviderError, RemoteCommandError } from "../errors";
import { describeCommandEnd } from "../plan/command-status";
import { SshSession } from "./session";
import { asUser, runsThroughSudo, SudoAs, sudoAdvice, sudoRefusal } from "./sudo";
import { ProgressLogger } from "./types";

/** What to upload where. */
export interface UploadRequest {
  localPath: string;
  remoteDir: string;
  finalName: string;
  /** Expected sha256 of the file (hex). */
  sha256: string;
  log?: ProgressLogger;
  /** Write the file as this user (through sudo), e.g. the user EMQX runs as. @default the SSH user */
  runAs?: string;
  /** The SSH user's sudo password, where sudoers asks for one (see sudo.ts). */
  sudoPassword?: string;
}

/** What an upload did. */
export interface UploadResult {
  /** True when the host already had the file with the same sha256. */
  skipped: boolean;
  bytesSent: number;
  durationMs: number;
}

/** The part of a session an upload needs (unit tests may pass a fake). */
export type UploadSession = Pick<SshSession, "host" | "user" | "run" | "sftpPut">;

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Puts `localPath` on the host as `<remoteDir>/<finalName>`, verified by sha256; skips the upload
 * when that file is already there with the same sha256. On failure only its own temporary file is
 * removed. */
export async function uploadVerified(session: UploadSession, req: UploadRequest): Promise<UploadResult> {
  const started = Date.now();
  const log = req.log ?? (() => undefined);
  const want = req.sha256.trim().toLowerCase();
  if (!SHA256_HEX.test(want))
    throw new EmqxProviderError(
      `upload of ${req.localPath}: sha256 must be 64 hex digits, got ${JSON.stringify(req.sha256)}`,
    );
  if (!req.finalName || req.finalName.includes("/") || req.finalName === "." || req.finalName === "..") {
    throw new EmqxProviderError(
      `upload of ${req.localPath}: finalName must be a plain file name, got ${JSON.stringify(req.finalName)}`,
    );
  }
  const host = session.host;
  const finalPath = path.posix.join(req.remoteDir, req.finalName);
  const remote = remoteOps(session, req.runAs, req.sudoPassword);

  const stampPath = path.posix.join(req.remoteDir, `.${req.finalName}.${want}.emqx-release-stamp`);
  const existing = await remote.sha256IfExists(finalPath, stampPath, want);
  if (existing === want) {
    log(`${req.finalName} is already on ${host} in ${req.remoteDir} with sha256 ${want}; upload skipped`);
    return { skipped: true, bytesSent: 0, durationMs: Date.now() - started };
  }
  if (existing !== undefined) log(`${finalPath} on ${host} has sha256 ${existing}, not ${want}; replacing it`);

  const size = (await fs.promises.stat(req.localPath)).size;
  const tempPath = path.posix.join(req.remoteDir, `.emqx-release-upload-${randomBytes(8).toString("hex")}.part`);
  // Callers upload under the host lock, so a temporary file of ours found now, other than the one
  // this upload writes, belongs to an upload that was cut off (connection lost, provider killed):
  // removed on a second channel while the transfer runs (one round trip fewer, BENCHMARKS.md §1),
  // and waited for before the new file is verified.
  const sweep = (async () => {
    for (const f of await remote.interruptedUploads(req.remoteDir)) {
      if (f === tempPath) continue;
      await remote.check(["rm", "-f", "--", f], `remove ${f}, left by an interrupted upload`, true);
      log(`removed ${f}, left by an interrupted upload`);
    }
  })();
  sweep.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
  const onProgress = progressLogger(log, `upload ${req.finalName} to ${host}`);
  let staged: string | undefined;
  try {
    if (req.runAs === undefined) {
      await session.sftpPut(req.localPath, tempPath, { onProgress });
    } else {
      // SFTP writes as the SSH user only: stage in its /tmp, then copy as runAs.
      staged = (
        await remote.check(["mktemp", "/tmp/.emqx-release-upload-XXXXXXXXXX"], "create a staging file", false)
      ).stdout.trim();
      await session.sftpPut(req.localPath, staged, { onProgress });
      await remote.check(["chmod", "0644", staged], "make the staging file readable", false);
      await remote.check(["cp", "--", staged, tempPath], `copy the package into ${req.remoteDir}`, true);
    }
    await sweep;
    const got = await remote.sha256(tempPath);
    if (got !== want) {
      throw new EmqxProviderError(
        `checksum mismatch after upload to ${host}:${tempPath}: expected sha256 ${want}, got ${got}; the copy was removed. ` +
          `Retry; if it happens again, check the local file and the disk on the host (df -h ${req.remoteDir})`,
      );
    }
    await remote.check(["mv", "-f", "--", tempPath, finalPath], `rename the verified upload to ${req.finalName}`, true);
    await remote.writeStamp(stampPath);
  } catch (e) {
    await remote.bestEffort(["rm", "-f", "--", tempPath], true);
    throw e;
  } finally {
    if (staged) await remote.bestEffort(["rm", "-f", "--", staged], false);
  }
  const durationMs = Date.now() - started;
  log(
    `uploaded ${req.finalName} to ${host}:${req.remoteDir} (${mib(size)} MiB in ${(durationMs / 1000).toFixed(1)} s), sha256 verified`,
  );
  return { skipped: false, bytesSent: size, durationMs };
}

/** What an upload runs on the host (as runAs, through sudo, for the ones that touch the package):
 * the sudoers line an error suggests lists these. */
const SUDO_COMMANDS = [
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

/** Remote commands of an upload, run as `runAs` (through sudo) where `asRunAs` is set. */
function remoteOps(session: UploadSession, runAs: string | undefined, sudoPassword: string | undefined) {
  const as: SudoAs | undefined = runAs === undefined ? undefined : { user: runAs, password: sudoPassword };
  /** Runs argv, as runAs where `asRunAs`; returns the argv as run (never holding the password). */
  const run = async (argv: string[], asRunAs: boolean): Promise<CommandResult & { argv: string[] }> => {
    const cmd = asUser(argv, asRunAs ? as : undefined);
    return { ...(await session.run(cmd.argv, { stdin: cmd.stdin })), argv: cmd.argv };
  };

  const fail = (argv: string[], r: CommandResult, what: string): never => {
    const refusal = runsThroughSudo(argv) && runAs !== undefined ? sudoRefusal(r.exitCode, r.stderr) : undefined;
    if (refusal) {
      throw new RemoteCommandError({
        ...r,
        host: session.host,
        argv,
        reason: `cannot ${what} on ${session.host}: ${sudoAdvice(refusal, session.user, runAs as string, SUDO_COMMANDS.join(", "))}`,
      });
    }
    throw new RemoteCommandError({
      ...r,
      host: session.host,
      argv,
      reason: `cannot ${what} on ${session.host}: \`${argv.join(" ")}\` ${describeCommandEnd(r)}`,
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

  return { check, sha256, sha256IfExists, writeStamp, interruptedUploads, bestEffort };
}

/** Logs "…: 40% (12.0 of 30.0 MiB)" each time another tenth of the file is acknowledged. */
function progressLogger(log: ProgressLogger, what: string): (sent: number, total: number) => void {
  let lastTenth = 0;
  return (sent, total) => {
    const tenth = total > 0 ? Math.floor((sent * 10) / total) : 10;
    if (tenth <= lastTenth) return;
    lastTenth = tenth;
    log(`${what}: ${tenth * 10}% (${mib(sent)} of ${mib(total)} MiB)`);
  };
}

function mib(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}
