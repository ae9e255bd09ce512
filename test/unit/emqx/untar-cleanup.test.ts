// The cleanup script, run by sh on this machine's /tmp: it removes only the emqx_untar_* directories
// that are new since the listing taken before, and only when they hold a copy of our package.
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import { EmqxCli } from "../../../provider/emqx/cli";
import type { CommandResult, Runner } from "../../../provider/runner";
import { removeNewUntarDirs } from "../../../provider/emqx/untar-cleanup";

/** Runs argv on this machine (no shell around it), as SSH would on the node. */
class LocalRunner implements Runner {
  readonly host = "localhost";
  async run(argv: string[]): Promise<CommandResult> {
    const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8" });
    return { exitCode: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, timedOut: false };
  }
}

const cli = new EmqxCli(new LocalRunner(), { emqxPath: "emqx", commandTimeoutMs: 10_000, upgradeTimeoutMs: 10_000 });
const tag = `${process.pid}${Date.now()}`;
const dir = (n: string) => `/tmp/emqx_untar_${tag}${n}`;
const ZIP = Buffer.from("our package bytes");
const SHA = createHash("sha256").update(ZIP).digest("hex");

function unpackDir(name: string, zip: Buffer | undefined): string {
  const d = dir(name);
  fs.mkdirSync(`${d}/emqx/bin`, { recursive: true });
  if (zip) fs.writeFileSync(`${d}/emqx.zip`, zip);
  return d;
}
afterAll(() => {
  for (const n of ["1", "2", "3", "4"]) fs.rmSync(dir(n), { recursive: true, force: true });
});

test("removes the new directory holding our package; leaves older ones and other packages' alone", async () => {
  const older = unpackDir("1", ZIP);
  const before = fs
    .readdirSync("/tmp")
    .filter((n) => n.startsWith("emqx_untar_"))
    .map((n) => `/tmp/${n}`);
  const ours = unpackDir("2", ZIP);
  const other = unpackDir("3", Buffer.from("another operation's package"));
  const noZip = unpackDir("4", undefined);
  const r = await removeNewUntarDirs(cli, before, SHA);
  expect(r).toEqual({ removed: [ours], kept: expect.arrayContaining([other, noZip]) });
  expect(fs.existsSync(ours)).toBe(false);
  for (const d of [older, other, noZip]) expect(fs.existsSync(d)).toBe(true);
});

test("reports a failure instead of throwing: the upgrade's outcome stands", async () => {
  const failing: Runner = {
    host: "h",
    run: async () => ({ exitCode: 1, signal: null, stdout: "", stderr: "sh: permission denied\n", timedOut: false }),
  };
  const r = await removeNewUntarDirs(
    new EmqxCli(failing, { emqxPath: "emqx", commandTimeoutMs: 1, upgradeTimeoutMs: 1 }),
    [],
    SHA,
  );
  expect(r).toEqual({ error: "exited 1: sh: permission denied" });
});
