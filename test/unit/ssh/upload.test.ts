// uploadVerified through a fake session whose remote side is a small in-memory file system that
// runs the few commands an upload uses (stat, ls, touch, openssl or sha256sum, mktemp, chmod, cp,
// mv, rm), as the SSH
// user or through `sudo -n -u`. The same against real OpenSSH sshd: test/integration/ssh.test.ts.
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { CommandResult } from "../../../provider/runner";
import { EmqxProviderError, RemoteCommandError } from "../../../provider/errors";
import { uploadVerified, UploadRequest, UploadSession } from "../../../provider/ssh/upload";

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

/** A remote host: files by path, every argv run, and switches for faults. */
class FakeRemote implements UploadSession {
  readonly host = "10.0.0.7";
  readonly user = "deploy";
  readonly files = new Map<string, Buffer>();
  /** Each path's ctime, set by every write or rename (as a kernel does). */
  private readonly stamps = new Map<string, number>();
  private clock = 1000;
  readonly calls: string[] = [];
  /** sudo answers "a password is required". */
  sudoNeedsPassword = false;
  /** Bytes the transfer flips on the way (a corrupt copy). */
  corrupt = false;
  /** sftpPut fails with this. */
  putError: Error | undefined;
  sha256sumOutput: string | undefined;
  /** The host has no openssl (the shell answers 127, sudo "command not found"). */
  noOpenssl = false;

  /** Writes a file the way a kernel would: a new ctime for the inode. */
  put(file: string, data: Buffer): void {
    this.files.set(file, data);
    this.stamps.set(file, ++this.clock);
  }

  async run(argv: string[], options: { stdin?: string } = {}): Promise<CommandResult> {
    this.calls.push(argv.join(" "));
    const ok = (stdout = ""): CommandResult => ({ exitCode: 0, signal: null, stdout, stderr: "", timedOut: false });
    const fail = (exitCode: number, stderr: string): CommandResult => ({
      exitCode,
      signal: null,
      stdout: "",
      stderr,
      timedOut: false,
    });
    let args = argv;
    if (args[0] === "sudo") {
      if (this.sudoNeedsPassword) return fail(1, "sudo: a password is required\n");
      args = args.slice(args.indexOf("--") + 1);
      if (args[0] === "openssl" && this.noOpenssl) return fail(1, "sudo: openssl: command not found\n");
    }
    const files = args.filter((a) => a.startsWith("/"));
    switch (args[0]) {
      case "stat": {
        const lines = files
          .filter((f) => this.files.has(f))
          .map((f) => `2026-11-30 09:00:00.${String(this.stamps.get(f)).padStart(9, "0")} +0000 ${f}\n`);
        const missing = files
          .filter((f) => !this.files.has(f))
          .map((f) => `stat: cannot statx '${f}': No such file or directory\n`);
        return {
          exitCode: missing.length ? 1 : 0,
          signal: null,
          stdout: lines.join(""),
          stderr: missing.join(""),
          timedOut: false,
        };
      }
      case "ls": {
        const dir = args[args.length - 1];
        const names = [...this.files.keys()]
          .filter((f) => path.posix.dirname(f) === dir)
          .map((f) => path.posix.basename(f));
        return ok([".", "..", ...names].map((n) => `${n}\n`).join(""));
      }
      case "touch":
        this.put(files[0], this.files.get(files[0]) ?? Buffer.alloc(0));
        return ok();
      case "openssl": {
        if (this.noOpenssl) return fail(127, "sh: 1: openssl: not found\n");
        const data = this.files.get(files[0]);
        if (!data) return fail(1, `${files[0]}: No such file or directory\n`);
        return ok(`${sha(data)} *${files[0]}\n`);
      }
      case "sha256sum": {
        const data = this.files.get(files[0]);
        if (!data) return fail(1, `sha256sum: ${files[0]}: No such file or directory\n`);
        return ok(this.sha256sumOutput ?? `${sha(data)}  ${files[0]}\n`);
      }
      case "mktemp": {
        const name = args[1].replace(/X+$/, "abcdefghij");
        this.put(name, Buffer.alloc(0));
        return ok(`${name}\n`);
      }
      case "chmod":
        return ok();
      case "cp":
        this.put(files[1], this.files.get(files[0]) as Buffer);
        return ok();
      case "mv":
        this.put(files[1], this.files.get(files[0]) as Buffer);
        this.files.delete(files[0]);
        return ok();
      case "rm":
        this.files.delete(files[0]);
        return ok();
      default:
        return fail(127, `sh: ${args[0]}: not found\n`);
    }
  }

  async sftpPut(
    localPath: string,
    remotePath: string,
    options: { onProgress?(sent: number, total: number): void } = {},
  ): Promise<void> {
    this.calls.push(`sftp-put ${remotePath}`);
    if (this.putError) throw this.putError;
    const data = Buffer.from(fs.readFileSync(localPath));
    for (let sent = 0; sent < data.length; sent += 1024)
      options.onProgress?.(Math.min(sent + 1024, data.length), data.length);
    if (this.corrupt) data[0] ^= 0xff;
    this.put(remotePath, data);
  }
}

let dir: string;
let local: string;
let content: Buffer;
let remote: FakeRemote;
let log: string[];
const FINAL = "/opt/emqx/releases/emqx-4.4.16-otp24.3.4.2-1-debian12-amd64.zip";
/** The stamp of the test content's sha256 (computed in beforeAll). */
let STAMP: string;
const TEMP_RE = /^\/opt\/emqx\/releases\/\.emqx-release-upload-[0-9a-f]{16}\.part$/;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "upload-"));
  local = path.join(dir, path.basename(FINAL));
  content = Buffer.from(Array.from({ length: 10 * 1024 }, (_, i) => i % 251));
  fs.writeFileSync(local, content);
  STAMP = `/opt/emqx/releases/.${path.basename(FINAL)}.${sha(content)}.emqx-release-stamp`;
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  remote = new FakeRemote();
  log = [];
});

const request = (over: Partial<UploadRequest> = {}): UploadRequest => ({
  localPath: local,
  remoteDir: "/opt/emqx/releases",
  finalName: path.basename(FINAL),
  sha256: sha(content),
  log: (l) => log.push(l),
  ...over,
});
/** Every path the remote side holds besides the final file and its stamp. */
const leftovers = () => [...remote.files.keys()].filter((f) => f !== FINAL && f !== STAMP);

test("uploads under a hidden .part name EMQX's glob cannot match, verifies it on the host, then renames it", async () => {
  const r = await uploadVerified(remote, request());
  expect(r).toMatchObject({ skipped: false, bytesSent: content.length });
  expect(remote.files.get(FINAL)).toEqual(content);
  expect(leftovers()).toEqual([]);
  const [check, sweep, put, verify, rename, ...stamp] = remote.calls;
  expect(sweep).toBe("ls -1a -- /opt/emqx/releases");
  expect(check).toBe(`stat -c %z %n -- ${FINAL} ${STAMP}`);
  const temp = put.replace("sftp-put ", "");
  expect(temp).toMatch(TEMP_RE);
  expect([verify, rename]).toEqual([`openssl dgst -sha256 -r -- ${temp}`, `mv -f -- ${temp} ${FINAL}`]);
  expect(stamp).toEqual([`touch -- ${STAMP}`]);
  expect(log[log.length - 1]).toMatch(
    /^uploaded emqx-4\.4\.16-.*\.zip to 10\.0\.0\.7:\/opt\/emqx\/releases \(0\.0 MiB in \d+\.\d s\), sha256 verified$/,
  );
});

test("logs progress once per tenth of the file", async () => {
  await uploadVerified(remote, request());
  const progress = log.filter((l) => l.startsWith("upload "));
  expect(progress.map((l) => /: (\d+)%/.exec(l)![1])).toEqual([
    "10",
    "20",
    "30",
    "40",
    "50",
    "60",
    "70",
    "80",
    "90",
    "100",
  ]);
});

test("skips the upload when the host already has the file with the same sha256", async () => {
  remote.put(FINAL, content);
  const r = await uploadVerified(remote, request({ sha256: sha(content).toUpperCase() }));
  expect(r).toMatchObject({ skipped: true, bytesSent: 0 });
  expect(remote.calls.filter((c) => c.startsWith("sftp-put"))).toEqual([]);
  expect(remote.calls.filter((c) => c.startsWith("openssl"))).toEqual([`openssl dgst -sha256 -r -- ${FINAL}`]);
});

test("a rerun trusts the stamp of its own verified upload and reads no package byte on the host", async () => {
  await uploadVerified(remote, request());
  remote.calls.length = 0;
  const r = await uploadVerified(remote, request());
  expect(r).toMatchObject({ skipped: true, bytesSent: 0 });
  expect(remote.calls).toEqual([`stat -c %z %n -- ${FINAL} ${STAMP}`]);
});

test("a stamp older than its file (rewritten since: new ctime) is not trusted: the file is hashed again", async () => {
  await uploadVerified(remote, request());
  remote.put(FINAL, Buffer.from("replaced by hand, same name"));
  remote.calls.length = 0;
  await uploadVerified(remote, request());
  expect(remote.calls.slice(0, 2)).toEqual([
    `stat -c %z %n -- ${FINAL} ${STAMP}`,
    `openssl dgst -sha256 -r -- ${FINAL}`,
  ]);
  expect(remote.files.get(FINAL)).toEqual(content);
});

test("falls back to sha256sum on a host without openssl, as runAs too", async () => {
  remote.noOpenssl = true;
  await uploadVerified(remote, request());
  expect(remote.calls.filter((c) => /openssl|sha256sum/.test(c)).map((c) => c.split(" ")[0])).toEqual([
    "openssl",
    "sha256sum",
  ]);
  remote.files.clear();
  remote.calls.length = 0;
  await uploadVerified(remote, request({ runAs: "emqx" }));
  expect(remote.calls.filter((c) => /openssl|sha256sum/.test(c)).map((c) => c.split(" ")[5])).toEqual([
    "openssl",
    "sha256sum",
  ]);
  expect(remote.files.get(FINAL)).toEqual(content);
});

test("replaces a file of the same name with other content, saying so", async () => {
  remote.put(FINAL, Buffer.from("older build"));
  await uploadVerified(remote, request());
  expect(remote.files.get(FINAL)).toEqual(content);
  expect(log[0]).toBe(`${FINAL} on 10.0.0.7 has sha256 ${sha("older build")}, not ${sha(content)}; replacing it`);
});

test("as runAs: stages in /tmp as the SSH user, then copies, verifies and renames through sudo", async () => {
  await uploadVerified(remote, request({ runAs: "emqx" }));
  expect(remote.files.get(FINAL)).toEqual(content);
  expect(leftovers()).toEqual([]);
  const sudo = "sudo -n -u emqx --";
  expect(remote.calls.map((c) => c.replace(/\.emqx-release-upload-[0-9a-f]{16}\.part/, "<part>"))).toEqual([
    `${sudo} stat -c %z %n -- ${FINAL} ${STAMP}`,
    "ls -1a -- /opt/emqx/releases",
    "mktemp /tmp/.emqx-release-upload-XXXXXXXXXX",
    "sftp-put /tmp/.emqx-release-upload-abcdefghij",
    "chmod 0644 /tmp/.emqx-release-upload-abcdefghij",
    `${sudo} cp -- /tmp/.emqx-release-upload-abcdefghij /opt/emqx/releases/<part>`,
    `${sudo} openssl dgst -sha256 -r -- /opt/emqx/releases/<part>`,
    `${sudo} mv -f -- /opt/emqx/releases/<part> ${FINAL}`,
    `${sudo} touch -- ${STAMP}`,
    "rm -f -- /tmp/.emqx-release-upload-abcdefghij",
  ]);
});

test("removes the temporary file an interrupted upload left, and nothing else", async () => {
  const stale = "/opt/emqx/releases/.emqx-release-upload-0123456789abcdef.part";
  remote.put(stale, Buffer.from("half"));
  remote.put("/opt/emqx/releases/.other.part", Buffer.from("not ours"));
  await uploadVerified(remote, request());
  expect(remote.files.has(stale)).toBe(false);
  expect(leftovers()).toEqual(["/opt/emqx/releases/.other.part"]);
  expect(log).toContain(`removed ${stale}, left by an interrupted upload`);
});

test("fails on a checksum mismatch and removes only its own temporary file", async () => {
  remote.corrupt = true;
  remote.files.set("/opt/emqx/releases/other.zip", Buffer.from("not ours"));
  const err = await uploadVerified(remote, request()).catch((e) => e);
  expect(EmqxProviderError.isInstance(err)).toBe(true);
  expect(err.message).toMatch(
    /^checksum mismatch after upload to 10\.0\.0\.7:\/opt\/emqx\/releases\/\.emqx-release-upload-[0-9a-f]{16}\.part: expected sha256 [0-9a-f]{64}, got [0-9a-f]{64}; the copy was removed\. Retry; .*df -h \/opt\/emqx\/releases/,
  );
  expect(leftovers()).toEqual(["/opt/emqx/releases/other.zip"]);
  expect(remote.files.has(FINAL)).toBe(false);
});

test("fails with the transfer's error after removing the temporary file", async () => {
  remote.putError = new Error("upload of x failed: No space left on device");
  await expect(uploadVerified(remote, request())).rejects.toThrow("No space left on device");
  expect(remote.calls[remote.calls.length - 1]).toMatch(
    /^rm -f -- \/opt\/emqx\/releases\/\.emqx-release-upload-[0-9a-f]{16}\.part$/,
  );
});

test("fails with the sudoers line to add when sudo wants a password", async () => {
  remote.sudoNeedsPassword = true;
  const err = await uploadVerified(remote, request({ runAs: "emqx" })).catch((e) => e);
  expect(RemoteCommandError.isInstance(err)).toBe(true);
  expect(err.message).toContain("sudo wants a password to run commands as emqx");
  expect(err.message).toContain(
    '"deploy ALL=(emqx) NOPASSWD: /usr/bin/stat, /usr/bin/touch, /usr/bin/openssl, /usr/bin/sha256sum, /bin/cp, /bin/mv, /bin/rm"',
  );
});

test("fails when sha256sum prints something else", async () => {
  remote.put(FINAL, content);
  remote.noOpenssl = true;
  remote.sha256sumOutput = "sha256sum: invalid option\n";
  await expect(uploadVerified(remote, request())).rejects.toThrow(
    `cannot read the sha256 of 10.0.0.7:${FINAL}: sha256sum printed "sha256sum: invalid option\\n"`,
  );
});

// Row: [case, request change, error fragment]
const BAD_REQUESTS: [string, Partial<UploadRequest>, string][] = [
  ["fails for a sha256 that is not 64 hex digits", { sha256: "abc" }, 'sha256 must be 64 hex digits, got "abc"'],
  [
    "fails for a finalName with a directory",
    { finalName: "../bin/emqx" },
    'finalName must be a plain file name, got "../bin/emqx"',
  ],
  ["fails for finalName ..", { finalName: ".." }, "finalName must be a plain file name"],
];
test.each(BAD_REQUESTS)("%s, before running anything", async (_name, over, fragment) => {
  await expect(uploadVerified(remote, request(over))).rejects.toThrow(fragment);
  expect(remote.calls).toEqual([]);
});
