// The shared steps of a transfer, through a fake session (the full upload against a fake remote
// file system is test/unit/ssh/upload.test.ts; the download against real sshd is
// test/integration/pulumi/release-provider.package-url.test.ts).
import type { CommandResult } from "../../../provider/runner";
import { prepareTransfer, remoteFileOps, temporaryPath } from "../../../provider/ssh/remote-file";

const ok = (stdout = "", stderr = "", exitCode = 0): CommandResult => ({
  exitCode,
  signal: null,
  stdout,
  stderr,
  timedOut: false,
});

function fakeSession(answers: (argv: string[]) => CommandResult) {
  const calls: string[][] = [];
  return {
    calls,
    session: {
      host: "10.0.0.7",
      user: "deploy",
      run: async (argv: string[]) => (calls.push(argv), answers(argv)),
      sftpPut: async () => undefined,
    },
  };
}

test("a temporary name never matches EMQX's glob and is what the next transfer cleans up", () => {
  const p = temporaryPath("/opt/emqx/releases");
  expect(p).toMatch(/^\/opt\/emqx\/releases\/\.emqx-release-upload-[0-9a-f]{16}\.part$/);
});

test("prepareTransfer removes the temporary files an interrupted transfer left, then says where to write", async () => {
  const left = ".emqx-release-upload-0011223344556677.part";
  const { session, calls } = fakeSession((argv) =>
    argv[0] === "stat"
      ? ok("", "stat: cannot statx: No such file or directory\n", 1)
      : argv[0] === "ls"
        ? ok(`.\n..\n${left}\nother.part\n`)
        : ok(),
  );
  const t = await prepareTransfer(
    remoteFileOps(session, undefined, undefined),
    "10.0.0.7",
    { remoteDir: "/r", finalName: "emqx-x.zip", sha256: "A".repeat(64) },
    "test",
    () => undefined,
  );
  expect(t).toEqual({
    skipped: false,
    want: "a".repeat(64),
    finalPath: "/r/emqx-x.zip",
    stampPath: `/r/.emqx-x.zip.${"a".repeat(64)}.emqx-release-stamp`,
  });
  expect(calls.filter((c) => c[0] === "rm")).toEqual([["rm", "-f", "--", `/r/${left}`]]);
});

test("fails for a finalName with a slash, before any command", async () => {
  const { session, calls } = fakeSession(() => ok());
  await expect(
    prepareTransfer(
      remoteFileOps(session, undefined, undefined),
      "h",
      { remoteDir: "/r", finalName: "../x.zip", sha256: "a".repeat(64) },
      "download of u",
      () => undefined,
    ),
  ).rejects.toThrow('download of u: finalName must be a plain file name, got "../x.zip"');
  expect(calls).toEqual([]);
});
