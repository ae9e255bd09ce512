// One upload through the project's own path, in a process of its own so that its memory is its own:
// connectSsh, uploadVerified, close. Run as `node --expose-gc dist/bench/upload-child.js '<json>'`;
// prints one JSON line (UploadChildResult). The phases are timed by wrapping the session's `run`
// and `sftpPut`, the two calls uploadVerified makes.
import * as fs from "fs";
import { connectSsh } from "../provider/ssh/connect";
import { UploadSession, uploadVerified } from "../provider/ssh/upload";

/** What to upload where (the package's sha256 comes from the parent: the program hashes once). */
export interface UploadChildSpec {
  host: string;
  port: number;
  privateKey: string;
  hostKey: string;
  localPath: string;
  remoteDir: string;
  finalName: string;
  sha256: string;
}

/** What one upload did and cost. */
export interface UploadChildResult {
  /** Connect + upload + close. */
  totalMs: number;
  connectMs: number;
  /** Time inside SFTP transfers. */
  sftpMs: number;
  /** Time inside remote commands (test, sha256sum, mv), one entry per command. */
  commands: Array<{ argv0: string; ms: number }>;
  skipped: boolean;
  bytesSent: number;
  /** RSS right before connecting, after a full GC. */
  idleRssBytes: number;
  /** Peak RSS (VmHWM, reset right before connecting). */
  peakRssBytes: number;
}

/** A field of /proc/self/status in bytes ("VmRSS", "VmHWM"). */
function procStatusBytes(field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(fs.readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) * 1024 : NaN;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2]) as UploadChildSpec;
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) gc();
  // Writing 5 to clear_refs resets the peak (VmHWM) to the current RSS (Linux >= 4.0).
  fs.writeFileSync("/proc/self/clear_refs", "5");
  const idleRssBytes = procStatusBytes("VmRSS");
  const started = Date.now();
  const session = await connectSsh({
    host: spec.host,
    port: spec.port,
    user: "root",
    privateKey: spec.privateKey,
    hostKey: spec.hostKey,
    readyTimeoutMs: 20_000,
    dialAttempts: 1,
    dialRetryDelayMs: 0,
    commandTimeoutMs: 120_000,
  });
  const connectMs = Date.now() - started;
  const commands: UploadChildResult["commands"] = [];
  let sftpMs = 0;
  const timed: UploadSession = {
    host: session.host,
    user: session.user,
    run: async (argv, options) => {
      const t = Date.now();
      try {
        return await session.run(argv, options);
      } finally {
        commands.push({ argv0: argv[0], ms: Date.now() - t });
      }
    },
    sftpPut: async (local, remote, options) => {
      const t = Date.now();
      try {
        return await session.sftpPut(local, remote, options);
      } finally {
        sftpMs += Date.now() - t;
      }
    },
  };
  try {
    const r = await uploadVerified(timed, {
      localPath: spec.localPath,
      remoteDir: spec.remoteDir,
      finalName: spec.finalName,
      sha256: spec.sha256,
    });
    await session.close();
    const result: UploadChildResult = {
      totalMs: Date.now() - started,
      connectMs,
      sftpMs,
      commands,
      skipped: r.skipped,
      bytesSent: r.bytesSent,
      idleRssBytes,
      peakRssBytes: procStatusBytes("VmHWM"),
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await session.close();
  }
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`upload-child: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  });
}
