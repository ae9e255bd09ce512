import { diffRelease } from "../../../provider/plan/diff";
import { UNKNOWN_VALUE } from "../../../provider/plan/check-inputs";

const inputs = {
  connection: { host: "10.0.0.7", port: 22 },
  version: "4.4.16",
  packagePath: "a/emqx-4.4.16-otp24.3.4.2-1-debian12-amd64.zip",
};
const state = {
  ...inputs,
  currentVersion: "4.4.16",
  permanentVersion: "4.4.16",
  packageSha256: "aa",
  __provider: "code",
};

// Row: [case, state overrides, new input overrides, new digest, expected {changes, replaces}]
const ROWS: [
  string,
  Record<string, unknown>,
  Record<string, unknown>,
  string | undefined,
  { changes: boolean; replaces: string[] },
][] = [
  ["nothing changed", {}, {}, "aa", { changes: false, replaces: [] }],
  ["provider code changed only", { __provider: "old code" }, {}, "aa", { changes: false, replaces: [] }],
  [
    "version changed",
    {},
    { version: "4.4.17", packagePath: "a/emqx-4.4.17-otp24.3.4.2-1-debian12-amd64.zip" },
    "bb",
    { changes: true, replaces: [] },
  ],
  ["same name, other bytes", {}, {}, "bb", { changes: true, replaces: [] }],
  [
    "package moved, same bytes: still an update of the echoed input",
    {},
    { packagePath: "b/emqx-4.4.16-otp24.3.4.2-1-debian12-amd64.zip" },
    "aa",
    { changes: true, replaces: [] },
  ],
  [
    "host changed: replace",
    {},
    { connection: { host: "10.0.0.8", port: 22 } },
    "aa",
    { changes: true, replaces: ["connection"] },
  ],
  [
    "port changed: replace",
    {},
    { connection: { host: "10.0.0.7", port: 2222 } },
    "aa",
    { changes: true, replaces: ["connection"] },
  ],
  [
    "host unknown in preview: replace",
    {},
    { connection: { host: UNKNOWN_VALUE } },
    "aa",
    { changes: true, replaces: ["connection"] },
  ],
  [
    "node drifted to another version (refresh saw a manual downgrade)",
    { currentVersion: "4.4.0", permanentVersion: "4.4.0" },
    {},
    "aa",
    { changes: true, replaces: [] },
  ],
  [
    "non-permanent release lost in a restart",
    { currentVersion: "4.4.0", permanentVersion: "4.4.0" },
    { permanent: false },
    "aa",
    { changes: true, replaces: [] },
  ],
  [
    "last result failed (a fleet member): retried",
    { lastResult: { action: "none", error: "exit 2" } },
    {},
    "aa",
    { changes: true, replaces: [] },
  ],
  [
    "last health gate failed: checked again",
    { lastResult: { action: "upgrade", gate: { passed: false, detail: "x" } } },
    {},
    "aa",
    { changes: true, replaces: [] },
  ],
  [
    "last result fine: nothing to do",
    { lastResult: { action: "upgrade", gate: { passed: true, detail: "x" } } },
    {},
    "aa",
    { changes: false, replaces: [] },
  ],
  [
    "a client-impact gate that failed: checked again",
    { lastResult: { action: "upgrade", clientImpact: { passed: false } } },
    {},
    "aa",
    { changes: true, replaces: [] },
  ],
  [
    "rolled back after a failed gate: left alone although the node runs the previous version",
    {
      currentVersion: "4.4.15",
      permanentVersion: "4.4.15",
      lastResult: { action: "upgrade", clientImpact: { passed: false }, rolledBack: { from: "4.4.16", to: "4.4.15" } },
    },
    {},
    "aa",
    { changes: false, replaces: [] },
  ],
  [
    "rolled back, then retryAfterRollback set: tried again",
    {
      currentVersion: "4.4.15",
      permanentVersion: "4.4.15",
      lastResult: { action: "upgrade", rolledBack: { from: "4.4.16", to: "4.4.15" } },
    },
    { retryAfterRollback: true },
    "aa",
    { changes: true, replaces: [] },
  ],
  [
    "rolled back, then another version declared: upgraded",
    {
      currentVersion: "4.4.15",
      permanentVersion: "4.4.15",
      lastResult: { action: "upgrade", rolledBack: { from: "4.4.16", to: "4.4.15" } },
    },
    { version: "4.4.17", packagePath: "a/emqx-4.4.17-otp24.3.4.2-1-debian12-amd64.zip" },
    "bb",
    { changes: true, replaces: [] },
  ],
  [
    "rolled back, same declaration, new package bytes: upgraded",
    {
      currentVersion: "4.4.15",
      permanentVersion: "4.4.15",
      lastResult: { action: "upgrade", rolledBack: { from: "4.4.16", to: "4.4.15" } },
    },
    {},
    "bb",
    { changes: true, replaces: [] },
  ],
  [
    "running but not permanent while permanent wanted",
    { permanentVersion: "4.4.0" },
    {},
    "aa",
    { changes: true, replaces: [] },
  ],
];

test.each(ROWS)("diffRelease: %s", (_name, stateOverrides, newOverrides, digest, expected) => {
  const olds = { ...state, ...stateOverrides } as Record<string, unknown>;
  const news = { ...inputs, __provider: "code", ...newOverrides } as Record<string, unknown>;
  expect(diffRelease(olds, news, digest)).toEqual({ ...expected, deleteBeforeReplace: true });
});
