// The error classes: names, fields, messages (reason first, output trimmed), and identity checks
// that work across two copies of the module (as Pulumi's serialized provider can load).
import * as errors from "../../provider/errors";
import {
  EmqxOutputParseError,
  EmqxProviderError,
  HostLockedError,
  HostStateError,
  InvalidInputError,
  isRefusal,
  NodeChangedError,
  recordNodeState,
  MAX_MESSAGE_OUTPUT_LINES,
  PackageError,
  messageOf,
  RemoteCommandError,
  RolloutHaltedError,
  SshConnectError,
  trimLines,
  UnsupportedUpgradeError,
} from "../../provider/errors";

const lines = (n: number, prefix = "line") => Array.from({ length: n }, (_, i) => `${prefix} ${i + 1}`).join("\n");

// Row: [class name, a constructed error, its isInstance, the expected message]
const ROWS: [string, EmqxProviderError, (e: unknown) => boolean, string][] = [
  [
    "SshConnectError",
    new SshConnectError({
      host: "h",
      port: 22,
      stage: "client-socket",
      attempts: 3,
      message: "h:22: cannot reach the SSH server: ECONNREFUSED",
    }),
    SshConnectError.isInstance,
    "h:22: cannot reach the SSH server: ECONNREFUSED",
  ],
  [
    "RemoteCommandError",
    new RemoteCommandError({
      host: "h",
      argv: ["emqx", "versions"],
      exitCode: 1,
      stdout: "",
      stderr: "",
      reason: "h: `emqx versions` failed (exit 1)",
    }),
    RemoteCommandError.isInstance,
    "h: `emqx versions` failed (exit 1)",
  ],
  [
    "EmqxOutputParseError",
    new EmqxOutputParseError({ argv: ["emqx", "versions"], output: "garbage\n", what: "no header" }),
    EmqxOutputParseError.isInstance,
    "could not parse the output of `emqx versions`: no header; output was:\ngarbage",
  ],
  [
    "UnsupportedUpgradeError",
    new UnsupportedUpgradeError({ from: "4.3.5", to: "4.4.16", reason: "cross-minor", host: "h" }),
    UnsupportedUpgradeError.isInstance,
    "h: cross-minor",
  ],
  [
    "InvalidInputError",
    new InvalidInputError({ property: "version", reason: "must be 4.4.x" }),
    InvalidInputError.isInstance,
    "version: must be 4.4.x",
  ],
  [
    "PackageError",
    new PackageError({ path: "/p.zip", reason: "not a zip" }),
    PackageError.isInstance,
    "package /p.zip: not a zip",
  ],
  ["HostStateError", new HostStateError({ host: "h", reason: "node down" }), HostStateError.isInstance, "h: node down"],
  [
    "NodeChangedError",
    new NodeChangedError({
      host: "h",
      reason: "ctl status reports 4.4.0",
      installedVersions: [
        { version: "4.4.16", status: "permanent" },
        { version: "4.4.0", status: "old" },
      ],
    }),
    NodeChangedError.isInstance,
    "h: ctl status reports 4.4.0\nthe node now lists: 4.4.16 permanent, 4.4.0 old",
  ],
  [
    "HostLockedError",
    new HostLockedError({ host: "h", lockId: "ab", holder: "ci", message: "h: locked by ci" }),
    HostLockedError.isInstance,
    "h: locked by ci",
  ],
  [
    "RolloutHaltedError",
    new RolloutHaltedError({ fleet: "f", batch: 2, failedHosts: ["h"], message: "f: batch 2 failed on h" }),
    RolloutHaltedError.isInstance,
    "f: batch 2 failed on h",
  ],
];

test.each(ROWS)(
  "%s carries its name and message and is recognised by its own isInstance only",
  (name, err, isInstance, message) => {
    expect(err.name).toBe(name);
    expect(err.message).toBe(message);
    expect(String(err)).toBe(`${name}: ${message}`);
    expect(err).toBeInstanceOf(Error);
    expect(isInstance(err)).toBe(true);
    expect(EmqxProviderError.isInstance(err)).toBe(true);
    for (const [other, , otherIsInstance] of ROWS) if (other !== name) expect(otherIsInstance(err)).toBe(false);
  },
);

test("isInstance recognises errors from a second copy of the module, where instanceof does not", () => {
  let copy: typeof errors | undefined;
  jest.isolateModules(() => {
    copy = require("../../provider/errors");
  });
  const theirs = new copy!.HostStateError({ host: "h", reason: "node down" });
  expect(theirs instanceof HostStateError).toBe(false);
  expect(HostStateError.isInstance(theirs)).toBe(true);
  expect(EmqxProviderError.isInstance(theirs)).toBe(true);
  expect(copy!.HostStateError.isInstance(new HostStateError({ host: "h", reason: "r" }))).toBe(true);
});

test("isInstance is false for plain errors, look-alikes and non-objects", () => {
  for (const v of [
    new Error("x"),
    Object.assign(new Error("x"), { name: "HostStateError" }),
    { name: "HostStateError", message: "x" },
    null,
    undefined,
    "HostStateError",
    42,
  ]) {
    expect(EmqxProviderError.isInstance(v)).toBe(false);
    expect(HostStateError.isInstance(v)).toBe(false);
  }
});

test("keeps the original error as cause", () => {
  const cause = new Error("ECONNRESET");
  expect(new SshConnectError({ host: "h", port: 22, stage: "protocol", attempts: 1, message: "m", cause }).cause).toBe(
    cause,
  );
  expect(new HostStateError({ host: "h", reason: "r", cause }).cause).toBe(cause);
  expect("cause" in new HostStateError({ host: "h", reason: "r" })).toBe(false);
});

test("leaves the host or property prefix out when there is none", () => {
  expect(new UnsupportedUpgradeError({ from: "4.4.0", to: "4.4.16", reason: "no relup" }).message).toBe("no relup");
  expect(new UnsupportedUpgradeError({ from: "4.4.0", to: "4.4.16", reason: "no relup" }).property).toBe("");
  expect(
    new UnsupportedUpgradeError({
      from: "4.4.0",
      to: "4.4.16",
      reason: "10.0.0.7 runs OTP 24 but ...",
      host: "10.0.0.7",
    }).message,
  ).toBe("10.0.0.7 runs OTP 24 but ...");
  expect(new InvalidInputError({ property: "", reason: "bad inputs" }).message).toBe("bad inputs");
});

describe("RemoteCommandError", () => {
  test("puts the reason first, then at most 20 lines of stdout and of stderr, keeping all output in fields", () => {
    const stdout = lines(25, "out");
    const stderr = lines(3, "err") + "\n";
    const e = new RemoteCommandError({
      host: "h",
      argv: ["emqx", "upgrade", "4.4.16"],
      exitCode: 4,
      signal: null,
      stdout,
      stderr,
      reason: "h: the relup failed (exit 4)",
    });
    expect(e.message).toBe(
      `h: the relup failed (exit 4)\nstdout:\n${lines(MAX_MESSAGE_OUTPUT_LINES, "out")}\n… (5 more lines)\nstderr:\n${lines(3, "err")}`,
    );
    expect(e).toMatchObject({
      host: "h",
      argv: ["emqx", "upgrade", "4.4.16"],
      exitCode: 4,
      signal: null,
      stdout,
      stderr,
      timedOut: false,
    });
  });

  test("leaves out empty and blank output", () => {
    const e = new RemoteCommandError({
      host: "h",
      argv: ["x"],
      exitCode: null,
      signal: "KILL",
      stdout: "\n  \n",
      stderr: "",
      timedOut: true,
      reason: "h: x timed out",
    });
    expect(e.message).toBe("h: x timed out");
    expect(e).toMatchObject({ signal: "KILL", timedOut: true });
  });
});

test("EmqxOutputParseError keeps a trimmed excerpt of the output in the message and in a field", () => {
  const e = new EmqxOutputParseError({ argv: ["emqx", "versions"], output: lines(30), what: "unexpected line" });
  expect(e.excerpt).toBe(`${lines(20)}\n… (10 more lines)`);
  expect(e.message).toBe(`could not parse the output of \`emqx versions\`: unexpected line; output was:\n${e.excerpt}`);
  const wide = new EmqxOutputParseError({ argv: ["emqx"], output: "x".repeat(5000), what: "w" });
  expect(wide.excerpt).toBe("x".repeat(2000) + "…");
});

// Row: [case, text, maxLines, maxChars, expected]
const TRIM_ROWS: [string, string, number, number | undefined, string][] = [
  ["keeps short text", "a\nb", 5, undefined, "a\nb"],
  ["drops trailing newlines and folds CRLF", "a\r\nb\r\n\n\n", 5, undefined, "a\nb"],
  ["says how many lines were cut", "a\nb\nc\nd", 2, undefined, "a\nb\n… (2 more lines)"],
  ["cuts long text at maxChars", "abcdef", 5, 3, "abc…"],
  ["cuts both", "abcdef\nx\ny", 1, 3, "abc…\n… (2 more lines)"],
];
test.each(TRIM_ROWS)("trimLines %s", (_name, text, maxLines, maxChars, expected) => {
  expect(trimLines(text, maxLines, maxChars)).toBe(expected);
});

// Row: [case, thrown value, its message]
const MESSAGE_ROWS: [string, unknown, string][] = [
  ["an Error", new Error("boom"), "boom"],
  ["one of ours", new HostStateError({ host: "h", reason: "down" }), "h: down"],
  [
    "an object with a message (an error from another realm, or a serialized class)",
    { message: "from elsewhere" },
    "from elsewhere",
  ],
  ["a string", "plain text", "plain text"],
  ["an object whose message is not a string", { message: 42 }, "[object Object]"],
  ["undefined", undefined, "undefined"],
];
test.each(MESSAGE_ROWS)("messageOf gives the message of %s", (_name, thrown, message) => {
  expect(messageOf(thrown)).toBe(message);
});

describe("refusal before any change, failure after one: told apart by class, never by message", () => {
  // Row: [error, isRefusal]. The message of each says nothing about changes: the class decides.
  const KINDS: [EmqxProviderError, boolean][] = [
    [new HostStateError({ host: "h", reason: "hot patches in /opt/emqx/data/patches" }), true],
    [new UnsupportedUpgradeError({ from: "4.4.0", to: "4.5.0", reason: "cross-minor" }), true],
    [new InvalidInputError({ property: "version", reason: "must be 4.4.x" }), true],
    [new PackageError({ path: "/p.zip", reason: "not a zip" }), true],
    [new HostLockedError({ host: "h", lockId: "ab", holder: "ci", message: "h: locked" }), true],
    [new NodeChangedError({ host: "h", reason: "nothing was changed", installedVersions: [] }), false],
    [
      new RemoteCommandError({
        host: "h",
        argv: ["emqx", "upgrade", "4.4.16"],
        exitCode: 4,
        stdout: "",
        stderr: "",
        reason: "h: nothing was changed",
      }),
      false,
    ],
    [
      new SshConnectError({
        host: "h",
        port: 22,
        stage: "protocol",
        attempts: 1,
        message: "h:22: the connection was lost; nothing was changed",
      }),
      false,
    ],
  ];
  test.each(KINDS.map(([err, refusal]) => [err.name, err, refusal] as const))(
    "%s: isRefusal %s",
    (_name, err, refusal) => {
      expect(isRefusal(err)).toBe(refusal);
    },
  );

  test("isRefusal is false for errors that are not ours, even with a refusal's name", () => {
    for (const v of [new Error("nothing was changed"), { name: "HostStateError", message: "x" }, null, undefined])
      expect(isRefusal(v)).toBe(false);
  });

  test("a NodeChangedError carries what the node lists now, also in nodeState", () => {
    const e = new NodeChangedError({ host: "h", reason: "half-done permafy", installedVersions: [] });
    expect(e.installedVersions).toEqual([]);
    expect(e.nodeState).toEqual([]);
    expect(e.message).toBe("h: half-done permafy\nthe node now lists: no release");
  });

  test("recordNodeState adds what the node lists to an error once; null says it could not be read", () => {
    const e = new RemoteCommandError({
      host: "h",
      argv: ["emqx", "upgrade", "4.4.16"],
      exitCode: 4,
      stdout: "",
      stderr: "",
      reason: "h: exit 4",
    });
    expect(e.nodeState).toBeUndefined();
    recordNodeState(e, [{ version: "4.4.0", status: "permanent" }]);
    recordNodeState(e, null);
    expect(e.nodeState).toEqual([{ version: "4.4.0", status: "permanent" }]);
    expect(e.message).toBe("h: exit 4\nthe node now lists: 4.4.0 permanent");
    const unread = new SshConnectError({ host: "h", port: 22, stage: "protocol", attempts: 1, message: "h:22: lost" });
    recordNodeState(unread, null);
    expect(unread.nodeState).toBeNull();
    expect(unread.message).toBe(
      "h:22: lost\nthe node's state could not be read afterwards: check `emqx versions` on the host",
    );
  });

  test("recordNodeState leaves a NodeChangedError's own state alone", () => {
    const e = new NodeChangedError({
      host: "h",
      reason: "r",
      installedVersions: [{ version: "4.4.16", status: "current" }],
    });
    recordNodeState(e, [{ version: "4.4.0", status: "permanent" }]);
    expect(e.message).toBe("h: r\nthe node now lists: 4.4.16 current");
  });
});
