import { UnsupportedUpgradeError } from "../../../provider/errors";
import { decideOrRefuse, refuseFromState, RecordedNode } from "../../../provider/emqx/decide-release";
import type { HostFacts } from "../../../provider/plan/host-facts";
import { PackageName, parsePackageName } from "../../../provider/plan/package-name";
import type { PlanInput } from "../../../provider/plan/upgrade-plan";

const FACTS: HostFacts = {
  osId: "debian12",
  arch: "amd64",
  otpMajor: 24,
  edition: "ce",
  binScriptsVersion: "4.4.0",
  relupDownTo: [],
};
const FILE16 = "emqx-4.4.16-otp24.3.4.2-1-debian12-amd64.zip";
const INPUT: PlanInput = {
  target: "4.4.16",
  permanent: true,
  allowDowngrade: false,
  running: "4.4.0",
  installed: [{ version: "4.4.0", status: "permanent" }],
  facts: FACTS,
  pkg: { name: parsePackageName(FILE16) as PackageName, relupUpFrom: ["4.4.0"] },
};

test("decideOrRefuse returns the action planRelease decides", () => {
  expect(decideOrRefuse(INPUT, "10.0.0.7")).toEqual({ kind: "upgrade", permanent: true });
});

test("fails with one UnsupportedUpgradeError naming the host, the first property and every reason, then `after`", () => {
  const input: PlanInput = { ...INPUT, facts: { ...FACTS, arch: "arm64", otpMajor: 23 } };
  const err = thrown(() => decideOrRefuse(input, "10.0.0.7", "; nothing was changed"));
  expect(UnsupportedUpgradeError.isInstance(err)).toBe(true);
  const e = err as UnsupportedUpgradeError;
  expect([e.from, e.to, e.property]).toEqual(["4.4.0", "4.4.16", "packagePath"]);
  expect(e.reason).toMatch(/OTP 23 .*; 10\.0\.0\.7 is arm64 .*; nothing was changed$/);
  // The host is named once: the reasons already start with it.
  expect(e.message).toBe(e.reason);
  expect(e.message.startsWith("10.0.0.7 ")).toBe(true);
});

/** What `fn` threw (undefined when it returned). */
function thrown(fn: () => void): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

const NODE: RecordedNode = {
  host: "10.0.0.7",
  currentVersion: "4.4.0",
  installedVersions: [{ version: "4.4.0", status: "permanent" }],
  hostFacts: FACTS,
};
const DECLARED = { version: "4.4.16", permanent: true, allowDowngrade: false };

test("refuseFromState passes a change the recorded node can take", () => {
  expect(() => refuseFromState(NODE, DECLARED, { fileName: FILE16, relupUpFrom: ["4.4.0"] })).not.toThrow();
});

test("fails at plan time when the recorded node runs a higher version and allowDowngrade is not set", () => {
  const node = {
    ...NODE,
    currentVersion: "4.4.18",
    installedVersions: [{ version: "4.4.18", status: "permanent" as const }],
  };
  expect(() => refuseFromState(node, DECLARED, { fileName: FILE16, relupUpFrom: ["4.4.0"] })).toThrow(
    /^10\.0\.0\.7.*allowDowngrade/s,
  );
});

test("fails at plan time when the declared edition is not the recorded node's", () => {
  expect(() =>
    refuseFromState(NODE, { ...DECLARED, edition: "ee" }, { fileName: FILE16, relupUpFrom: ["4.4.0"] }),
  ).toThrow(/edition is "ee"/);
  const err = thrown(() =>
    refuseFromState(NODE, { ...DECLARED, edition: "ee" }, { fileName: FILE16, relupUpFrom: ["4.4.0"] }),
  );
  expect(UnsupportedUpgradeError.isInstance(err) && err.property).toBe("edition");
});

test("a package name that does not parse is left to check (no throw here)", () => {
  expect(() => refuseFromState(NODE, DECLARED, { fileName: "emqx.zip", relupUpFrom: null })).not.toThrow();
});
