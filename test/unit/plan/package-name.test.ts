import { matchesEmqxZipGlob, parsePackageName, PackageName } from "../../../provider/plan/package-name";

// Row: [file name, expected {edition, version, otpMajor, os, arch} or a fragment of the refusal]
const ROWS: [string, Partial<Record<string, unknown>> | string][] = [
  [
    "emqx-4.4.16-otp24.3.4.2-1-ubuntu20.04-amd64.zip",
    { edition: "ce", version: "4.4.16", otp: "24.3.4.2-1", otpMajor: 24, os: "ubuntu20.04", arch: "amd64" },
  ],
  ["emqx-ee-4.4.16-otp24.3.4.2-1-ubuntu20.04-amd64.zip", { edition: "ee", version: "4.4.16", os: "ubuntu20.04" }],
  ["emqx-4.4.0-otp24.1.5-3-el8-arm64.zip", { version: "4.4.0", otp: "24.1.5-3", os: "el8", arch: "arm64" }],
  ["emqx-4.4.2-otp25.3-debian12-amd64.zip", { otpMajor: 25, os: "debian12" }],
  ["emqx-4.4.17-rc.1-otp24.3.4.2-1-amzn2-arm.zip", { version: "4.4.17-rc.1", os: "amzn2", arch: "arm" }],
  ["emqx-4.4.16-otp24.3.4.2-1-macos12-amd64.zip", "cannot hot-upgrade on macOS or Windows"],
  ["emqx-4.4.16-otp24.3.4.2-1-windows-amd64.zip", "cannot hot-upgrade on macOS or Windows"],
  ["emqx-edge-4.4.16-otp24.3.4.2-1-ubuntu20.04-amd64.zip", "Edge"],
  ["emqx-4.4.0-a6d2367f-otp24.1.5-3-ubuntu20.04-amd64.zip", "untagged build"],
  ["emqx-4.4.16.zip", "not named as EMQX names"],
  ["emqx-4.4.16-otp24.3.4.2-1-ubuntu20.04-amd64.tar.gz", "not named as EMQX names"],
  ["emqx-4.4.16-otp24.3.4.2-1-ubuntu20.04-x86_64.zip", "not named as EMQX names"],
  ["emqx-4.4.16-otp24.3.4.2-1-ubuntu20.04-amd64.zip; rm -rf /", "not named as EMQX names"],
  ["emqx 4.4.16-otp24.3.4.2-1-ubuntu20.04-amd64.zip", "not named as EMQX names"],
  ["x".repeat(5000), "characters long"],
];

describe("parsePackageName", () => {
  test.each(ROWS)("%s", (fileName, expected) => {
    const r = parsePackageName(fileName);
    if (typeof expected === "string") {
      expect(r).toEqual(expect.stringContaining(expected));
      return;
    }
    expect(typeof r).toBe("object");
    const p = r as PackageName;
    const flat = {
      edition: p.edition,
      version: p.version.raw,
      otp: p.otp,
      otpMajor: p.otpMajor,
      os: p.os,
      arch: p.arch,
    };
    expect(flat).toMatchObject(expected);
  });

  test("fails fast on pathological input for the name regex", () => {
    const start = Date.now();
    parsePackageName("emqx-" + "4.".repeat(70) + "zip");
    parsePackageName("emqx-4.4.16-otp" + "2.".repeat(70));
    parsePackageName("emqx-4.4.1" + "-".repeat(140) + ".zip");
    expect(Date.now() - start).toBeLessThan(500);
  });
});

// Row: [file in releases/, target version, does EMQX's glob emqx-*<V>*.zip match it]
const GLOB_ROWS: [string, string, boolean][] = [
  ["emqx-4.4.1-otp24.1.5-3-debian12-amd64.zip", "4.4.1", true],
  ["emqx-4.4.16-otp24.3.4.2-1-debian12-amd64.zip", "4.4.1", true],
  ["emqx-ee-4.4.1-otp24.1.5-3-debian12-amd64.zip", "4.4.1", true],
  ["emqx-4.4.2-otp24.1.5-3-debian12-amd64.zip", "4.4.1", false],
  [".emqx-release-upload-1a2b.part", "4.4.1", false],
  ["emqx-4.4.1.tar.gz", "4.4.1", false],
];

test.each(GLOB_ROWS)("matchesEmqxZipGlob(%s, %s) is %s", (file, version, expected) => {
  expect(matchesEmqxZipGlob(file, version)).toBe(expected);
});
