// The upload of a local package: SFTP under a temporary name in the target directory, sha256
// checked on the host, renamed into place and stamped (ssh/remote-file.ts, shared with the node's
// own download). EMQX's upgrade script picks packages by the glob `emqx-*<V>*.zip`, so a
// half-written file never carries a name that glob matches.
import * as fs from "fs";
import { commitTransfer, prepareTransfer, remoteFileOps, temporaryPath, TransferSession } from "./remote-file";
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
export type UploadSession = TransferSession;

/** Puts `localPath` on the host as `<remoteDir>/<finalName>`, verified by sha256; skips the upload
 * when that file is already there with the same sha256. On failure only its own temporary file is
 * removed. */
export async function uploadVerified(session: UploadSession, req: UploadRequest): Promise<UploadResult> {
  const started = Date.now();
  const log = req.log ?? (() => undefined);
  const host = session.host;
  const remote = remoteFileOps(session, req.runAs, req.sudoPassword);
  const target = await prepareTransfer(remote, host, req, `upload of ${req.localPath}`, log);
  if (target.skipped) {
    log(
      `${req.finalName} is already on ${host} in ${req.remoteDir} with sha256 ${req.sha256.trim().toLowerCase()}; upload skipped`,
    );
    return { skipped: true, bytesSent: 0, durationMs: Date.now() - started };
  }
  const size = (await fs.promises.stat(req.localPath)).size;
  const tempPath = temporaryPath(req.remoteDir);
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
    await commitTransfer(
      remote,
      tempPath,
      target,
      (got) =>
        `checksum mismatch after upload to ${host}:${tempPath}: expected sha256 ${target.want}, got ${got}; the copy was removed. ` +
        `Retry; if it happens again, check the local file and the disk on the host (df -h ${req.remoteDir})`,
    );
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
