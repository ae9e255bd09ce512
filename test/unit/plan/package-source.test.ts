import { UNKNOWN_VALUE } from "../../../provider/plan/unknown-value";
import { checkPackageSource, describeUrl, packageFileName } from "../../../provider/plan/package-source";

const NAME = "emqx-4.4.16-otp24.3.4.2-1-ubuntu20.04-amd64.zip";
const URL_OK = `https://packages.example/emqx/${NAME}`;
const SHA = "a".repeat(64);

// Row: [case, inputs (version 4.4.16 added), the refusals expected as [property, reason fragment]]
const ROWS: [string, Record<string, unknown>, [string, string][]][] = [
  ["a packagePath", { packagePath: `./${NAME}` }, []],
  ["a packageUrl with its sha256", { packageUrl: URL_OK, packageSha256: SHA }, []],
  [
    "packageUrl with headers and a proxy",
    {
      packageUrl: URL_OK,
      packageSha256: SHA,
      packageHeaders: { Authorization: "Bearer x" },
      packageProxy: "http://p:3128",
    },
    [],
  ],
  ["fails without either", {}, [["packagePath", "is required (or packageUrl)"]]],
  [
    "fails with both",
    { packagePath: `./${NAME}`, packageUrl: URL_OK, packageSha256: SHA },
    [["packageUrl", "not both"]],
  ],
  [
    "fails for packageUrl without packageSha256",
    { packageUrl: URL_OK },
    [["packageSha256", "is required with packageUrl"]],
  ],
  [
    "fails for a file:// URL",
    { packageUrl: `file:///tmp/${NAME}`, packageSha256: SHA },
    [["packageUrl", "a file: URL"]],
  ],
  ["fails for a relative URL", { packageUrl: NAME, packageSha256: SHA }, [["packageUrl", "is not a URL"]]],
  [
    "fails for credentials in the URL",
    { packageUrl: `https://u:hunter2@packages.example/${NAME}`, packageSha256: SHA },
    [["packageUrl", "put credentials in packageHeaders"]],
  ],
  [
    "fails when the URL's path does not end in a package name",
    { packageUrl: "https://packages.example/download?id=7", packageSha256: SHA },
    [["packageUrl", "is not named as EMQX names its packages"]],
  ],
  [
    "fails when the URL names another version",
    { packageUrl: URL_OK.replace("4.4.16", "4.4.15"), packageSha256: SHA },
    [["packageUrl", "is the package of EMQX 4.4.15"]],
  ],
  [
    "fails for a header value with a newline, without showing it",
    { packageUrl: URL_OK, packageSha256: SHA, packageHeaders: { Authorization: "Bearer s3cr3t\nX: y" } },
    [["packageHeaders.Authorization", "the value is not shown"]],
  ],
  [
    "fails for a header the download sets itself",
    { packageUrl: URL_OK, packageSha256: SHA, packageHeaders: { Range: "bytes=0-" } },
    [["packageHeaders", "Range is set by the download itself"]],
  ],
  [
    "fails for a socks proxy",
    { packageUrl: URL_OK, packageSha256: SHA, packageProxy: "socks5://p:1080" },
    [["packageProxy", "socks5: URL"]],
  ],
  [
    "fails for packageHeaders with packagePath",
    { packagePath: `./${NAME}`, packageHeaders: {} },
    [["packageHeaders", "applies to packageUrl only"]],
  ],
  ["skips an unknown URL", { packageUrl: UNKNOWN_VALUE, packageSha256: UNKNOWN_VALUE }, []],
];
test.each(ROWS)("%s", (_case, inputs, expected) => {
  const got = checkPackageSource({ version: "4.4.16", ...inputs });
  expect(got).toEqual(
    expected.map(([property, fragment]) => ({ property, reason: expect.stringContaining(fragment) })),
  );
  const headers = inputs.packageHeaders as Record<string, string> | undefined;
  for (const r of got) expect(r.reason).not.toContain("s3cr3t");
  expect(JSON.stringify(got)).not.toContain(headers?.Authorization ?? "\u0000");
});

test("describeUrl drops user info, query and fragment (a presigned URL's token)", () => {
  expect(describeUrl(`https://u:p@s3.example:8443/b/${NAME}?X-Amz-Signature=abc#f`)).toBe(
    `https://s3.example:8443/b/${NAME}`,
  );
  expect(describeUrl("not a url")).toBe("(an unparsable URL)");
});

test("packageFileName reads the URL's last path segment, percent-decoded, or packagePath's basename", () => {
  expect(packageFileName({ packageUrl: `https://h/a%2Fb/${NAME}?x=1` })).toBe(NAME);
  expect(packageFileName({ packagePath: `/srv/${NAME}` })).toBe(NAME);
  expect(packageFileName({ packageUrl: UNKNOWN_VALUE })).toBeUndefined();
});
