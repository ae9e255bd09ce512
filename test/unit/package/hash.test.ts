import { createHash, randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PackageError } from "../../../provider/errors";
import { readSidecarSha256, sha256File } from "../../../provider/package/hash";
import { buildPackageZip } from "../../../sandbox/package-zip";

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "hash-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const HEX = "4c38174f3feebfeba75b035e64f5a949c96a997f6b48ee8c0ca7a5870b120864";

describe("sha256File", () => {
  // [description, content]
  const cases: Array<[string, Buffer]> = [
    ["an empty file", Buffer.alloc(0)],
    ["a small file", Buffer.from("emqx")],
    ["a file of several stream chunks", randomBytes(3 * 1024 * 1024 + 17)],
  ];
  it.each(cases)("hashes %s like crypto does, in lowercase hex", async (name, content) => {
    const p = path.join(dir, name.replace(/ /g, "-"));
    fs.writeFileSync(p, content);
    const digest = await sha256File(p);
    expect(digest).toBe(createHash("sha256").update(content).digest("hex"));
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it("matches the sidecar the package builder writes", async () => {
    const zipPath = await buildPackageZip(dir, { version: "4.4.16", sidecar: true });
    expect(fs.readFileSync(`${zipPath}.sha256`, "latin1")).toHaveLength(64);
    expect(await readSidecarSha256(zipPath)).toBe(await sha256File(zipPath));
  });

  it("fails on a missing file with a PackageError", async () => {
    const p = path.join(dir, "nothing-here.zip");
    await expect(sha256File(p)).rejects.toMatchObject({ name: "PackageError", path: p });
  });
});

describe("readSidecarSha256", () => {
  // [description, sidecar content (undefined: no sidecar), expected digest]
  const cases: Array<[string, string | undefined, string | undefined]> = [
    ["no sidecar", undefined, undefined],
    ["64 hex digits, no newline (as EMQX publishes)", HEX, HEX],
    ["a trailing newline", `${HEX}\n`, HEX],
    ["uppercase digits", HEX.toUpperCase(), HEX],
    ["sha256sum output", `${HEX}  emqx-4.4.16-otp24.3.4.2-1-debian12-amd64.zip\n`, HEX],
    ["leading whitespace", `  ${HEX}`, HEX],
  ];
  it.each(cases)("reads %s", async (name, content, expected) => {
    const zipPath = path.join(dir, `${name.replace(/[^a-z0-9]+/gi, "-")}.zip`);
    if (content !== undefined) fs.writeFileSync(`${zipPath}.sha256`, content);
    expect(await readSidecarSha256(zipPath)).toBe(expected);
  });

  // [description, sidecar content]
  const failures: Array<[string, string | Buffer]> = [
    ["an empty sidecar", ""],
    ["63 hex digits", HEX.slice(1)],
    ["65 hex digits", `${HEX}0`],
    ["a non-hex digit", `${HEX.slice(0, 63)}g`],
    ["an HTML error page", "<html><body>404 Not Found</body></html>"],
    ["an md5 sum", "d41d8cd98f00b204e9800998ecf8427e"],
    ["binary garbage", randomBytes(8192)],
    ["control characters that fold onto digits", "\u0010".repeat(64)],
  ];
  it.each(failures)("fails on %s", async (name, content) => {
    const zipPath = path.join(dir, `bad-${name.replace(/[^a-z0-9]+/gi, "-")}.zip`);
    fs.writeFileSync(`${zipPath}.sha256`, content);
    const e = await readSidecarSha256(zipPath).catch((err: unknown) => err);
    expect(PackageError.isInstance(e)).toBe(true);
    expect((e as PackageError).path).toBe(`${zipPath}.sha256`);
    expect((e as PackageError).reason).toContain("does not start with a 64-digit hex SHA-256");
  });

  it("fails on a sidecar that is a directory", async () => {
    const zipPath = path.join(dir, "dir-sidecar.zip");
    fs.mkdirSync(`${zipPath}.sha256`);
    await expect(readSidecarSha256(zipPath)).rejects.toMatchObject({
      name: "PackageError",
      reason: expect.stringContaining("cannot read the checksum file"),
    });
  });
});
