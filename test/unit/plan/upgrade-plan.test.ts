import { HostFacts } from "../../../provider/plan/host-facts";
import { parsePackageName, PackageName } from "../../../provider/plan/package-name";
import { InstalledRelease, planRelease, runningVersion } from "../../../provider/plan/upgrade-plan";

const FACTS: HostFacts = {
  osId: "debian12",
  arch: "amd64",
  otpMajor: 24,
  edition: "ce",
  binScriptsVersion: "4.4.0",
  relupDownTo: [],
};
const pkgName = (f: string) => parsePackageName(f) as PackageName;
const PKG16 = pkgName("emqx-4.4.16-otp24.3.4.2-1-debian12-amd64.zip");
const ALL_BELOW_16 = Array.from({ length: 16 }, (_, i) => `4.4.${i}`);

interface Row {
  name: string;
  target?: string;
  running?: string;
  installed?: InstalledRelease[];
  facts?: Partial<HostFacts>;
  pkg?: PackageName;
  relupUpFrom?: string[] | null;
  /** The input naming the package (planRelease's default: packagePath). */
  property?: "packagePath" | "packageUrl";
  permanent?: boolean;
  allowDowngrade?: boolean;
  edition?: "ce" | "ee";
  expect: string; // action kind, or "refuse:<property>:<fragment>"
}

// Row: one situation on a node and the decision: an action kind or a refusal.
const ROWS: Row[] = [
  { name: "first upgrade", expect: "upgrade" },
  {
    name: "already permanent at target: adopt",
    running: "4.4.16",
    installed: [
      { version: "4.4.16", status: "permanent" },
      { version: "4.4.0", status: "old" },
    ],
    expect: "adopt",
  },
  {
    name: "current, not permanent, permanent wanted: make permanent",
    running: "4.4.16",
    installed: [
      { version: "4.4.16", status: "current" },
      { version: "4.4.0", status: "permanent" },
    ],
    expect: "make-permanent",
  },
  {
    name: "current and --no-permanent wanted: adopt",
    permanent: false,
    running: "4.4.16",
    installed: [
      { version: "4.4.16", status: "current" },
      { version: "4.4.0", status: "permanent" },
    ],
    expect: "adopt",
  },
  {
    name: "revert: the target is permanent and the node runs a --no-permanent release",
    target: "4.4.0",
    running: "4.4.16",
    installed: [
      { version: "4.4.16", status: "current" },
      { version: "4.4.0", status: "permanent" },
    ],
    pkg: pkgName("emqx-4.4.0-otp24.1.5-3-debian12-amd64.zip"),
    expect: "revert",
  },
  {
    name: "revert also when the trial is still declared non-permanent",
    permanent: false,
    target: "4.4.0",
    running: "4.4.16",
    installed: [
      { version: "4.4.16", status: "current" },
      { version: "4.4.0", status: "permanent" },
    ],
    pkg: pkgName("emqx-4.4.0-otp24.1.5-3-debian12-amd64.zip"),
    expect: "revert",
  },
  {
    name: "no revert from a permanent release: that is a downgrade",
    target: "4.4.0",
    running: "4.4.16",
    installed: [
      { version: "4.4.16", status: "permanent" },
      { version: "4.4.0", status: "old" },
    ],
    pkg: pkgName("emqx-4.4.0-otp24.1.5-3-debian12-amd64.zip"),
    expect: "refuse:version:allowDowngrade",
  },
  {
    name: "fails for a node running an untagged build (-<sha>)",
    running: "4.4.0-a6d2367f",
    installed: [{ version: "4.4.0-a6d2367f", status: "permanent" }],
    expect: "refuse:version:runs 4.4.0-a6d2367f, an untagged build (git sha suffix)",
  },
  { name: "fails for an untagged target (-<sha>)", target: "4.4.16-0123abcd", expect: "refuse:version:untagged build" },
  {
    name: "fails for cross-minor",
    running: "4.3.5",
    installed: [{ version: "4.3.5", status: "permanent" }],
    expect: "refuse:version:only hot-upgrades between patch versions",
  },
  {
    name: "fails for CE package on EE node",
    facts: { edition: "ee" },
    expect: "refuse:packagePath:EMQX and EMQX Enterprise",
  },
  { name: "fails for OTP major mismatch", facts: { otpMajor: 25 }, expect: "refuse:packagePath:OTP 25" },
  { name: "fails for OS mismatch", facts: { osId: "ubuntu20.04" }, expect: "refuse:packagePath:built for debian12" },
  { name: "fails for arch mismatch", facts: { arch: "arm64" }, expect: "refuse:packagePath:built for amd64" },
  {
    name: "fails when the relup does not cover the running version",
    relupUpFrom: ["4.4.15"],
    expect: "refuse:version:cannot hot-upgrade from 4.4.0",
  },
  { name: "fails when the package has no relup", relupUpFrom: null, expect: "refuse:packagePath:no relup file" },
  {
    name: "a package named by packageUrl: its refusals point at packageUrl",
    property: "packageUrl",
    facts: { osId: "ubuntu20.04", arch: "arm64" },
    expect: "refuse:packageUrl:built for debian12",
  },
  {
    name: "a packageUrl package without a relup: the refusal points at packageUrl",
    property: "packageUrl",
    relupUpFrom: null,
    expect: "refuse:packageUrl:no relup file",
  },
  {
    name: "fails for a downgrade without allowDowngrade",
    target: "4.4.0",
    running: "4.4.16",
    installed: [
      { version: "4.4.16", status: "permanent" },
      { version: "4.4.0", status: "old" },
    ],
    pkg: pkgName("emqx-4.4.0-otp24.1.5-3-debian12-amd64.zip"),
    expect: "refuse:version:allowDowngrade",
  },
  {
    name: "downgrade to an old release",
    allowDowngrade: true,
    target: "4.4.0",
    running: "4.4.16",
    installed: [
      { version: "4.4.16", status: "permanent" },
      { version: "4.4.0", status: "old" },
    ],
    pkg: pkgName("emqx-4.4.0-otp24.1.5-3-debian12-amd64.zip"),
    expect: "downgrade",
  },
  {
    name: "downgrade through the running relup's down list",
    allowDowngrade: true,
    target: "4.4.3",
    running: "4.4.16",
    installed: [{ version: "4.4.16", status: "permanent" }],
    facts: { relupDownTo: ["4.4.3"] },
    pkg: pkgName("emqx-4.4.3-otp24.1.5-3-debian12-amd64.zip"),
    expect: "downgrade",
  },
  {
    name: "fails for a downgrade with no path",
    allowDowngrade: true,
    target: "4.4.3",
    running: "4.4.16",
    installed: [{ version: "4.4.16", status: "permanent" }],
    pkg: pkgName("emqx-4.4.3-otp24.1.5-3-debian12-amd64.zip"),
    expect: "refuse:version:no down path",
  },
  {
    name: "upgrade back to an old release needs no relup check",
    target: "4.4.16",
    running: "4.4.0",
    installed: [
      { version: "4.4.0", status: "permanent" },
      { version: "4.4.16", status: "old" },
    ],
    relupUpFrom: null,
    expect: "upgrade",
  },
  {
    name: "fails for declared edition differing from the node",
    edition: "ee",
    expect: "refuse:edition:EMQX and EMQX Enterprise",
  },
];

describe("planRelease", () => {
  test.each(ROWS)("$name", (row) => {
    const installed = row.installed ?? [{ version: "4.4.0", status: "permanent" }];
    const r = planRelease(
      {
        target: row.target ?? "4.4.16",
        permanent: row.permanent ?? true,
        allowDowngrade: row.allowDowngrade ?? false,
        running: row.running ?? runningVersion(installed) ?? "",
        installed,
        facts: { ...FACTS, ...row.facts },
        pkg: {
          name: row.pkg ?? PKG16,
          relupUpFrom: row.relupUpFrom === undefined ? ALL_BELOW_16 : row.relupUpFrom,
          property: row.property,
        },
        edition: row.edition,
      },
      "10.0.0.7",
    );
    if (row.expect.startsWith("refuse:")) {
      const [, property, fragment] = row.expect.split(":");
      expect("refusals" in r).toBe(true);
      const refusals = (r as { refusals: { property: string; reason: string }[] }).refusals;
      expect(refusals).toEqual(
        expect.arrayContaining([expect.objectContaining({ property, reason: expect.stringContaining(fragment) })]),
      );
      // Every refusal about the package names the input the package came from.
      const other = property === "packageUrl" ? "packagePath" : "packageUrl";
      expect(refusals.filter((x) => x.property === other)).toEqual([]);
    } else {
      expect(r).toEqual({ action: expect.objectContaining({ kind: row.expect }) });
    }
  });
});

test("runningVersion prefers the current release over the permanent one", () => {
  expect(
    runningVersion([
      { version: "4.4.0", status: "permanent" },
      { version: "4.4.16", status: "current" },
    ]),
  ).toBe("4.4.16");
  expect(runningVersion([{ version: "4.4.0", status: "old" }])).toBeUndefined();
});
