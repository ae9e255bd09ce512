// checkPackage: what `check` reads from the local package (digest, sidecar, manifest), returned as
// the package or as refusals against packagePath/packageSha256.
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { checkPackage } from "../../../provider/package/package-check";
import { buildPackageZip } from "../../../sandbox/package-zip";

let dir: string;
let pkg: string;
let digest: string;
const sub = () => fs.mkdtempSync(path.join(dir, "p-"));

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "package-check-"));
  pkg = await buildPackageZip(sub(), { version: "4.4.16", relupFrom: ["4.4.15", "4.4.0"] });
  digest = createHash("sha256").update(fs.readFileSync(pkg)).digest("hex");
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test("describes a good package: name, digest, sizes, relup keys", async () => {
  expect(await checkPackage(pkg, "4.4.16", undefined, undefined)).toEqual({
    fileName: path.basename(pkg),
    sha256: digest,
    sizeBytes: fs.statSync(pkg).size,
    uncompressedBytes: expect.any(Number),
    relupUpFrom: ["4.4.15", "4.4.0"],
    relupDownTo: ["4.4.15", "4.4.0"],
  });
});

test("accepts a pin in upper case and a matching sidecar", async () => {
  const withSidecar = await buildPackageZip(sub(), { version: "4.4.16", sidecar: true });
  const r = await checkPackage(
    withSidecar,
    "4.4.16",
    ((await checkPackage(withSidecar, "4.4.16", undefined, undefined)) as { sha256: string }).sha256.toUpperCase(),
    undefined,
  );
  expect(Array.isArray(r)).toBe(false);
});

test("reports null relup keys for a package without relup (create decides with the node's facts)", async () => {
  const first = await buildPackageZip(sub(), { version: "4.4.0", relupFrom: [] });
  expect(await checkPackage(first, "4.4.0", undefined, undefined)).toMatchObject({
    relupUpFrom: null,
    relupDownTo: null,
  });
});

test("uses the known digest instead of reading the file again", async () => {
  const known = "22".repeat(32);
  expect(await checkPackage(pkg, "4.4.16", known, known)).toMatchObject({ sha256: known });
});

test("fails for a pin that does not match, naming both digests", async () => {
  const pin = "0".repeat(64);
  expect(await checkPackage(pkg, "4.4.16", pin, undefined)).toEqual([
    {
      property: "packageSha256",
      reason: `${path.basename(pkg)} has sha256 ${digest}, not the pinned ${pin}: use the package you pinned, or update packageSha256 after verifying the new one`,
    },
  ]);
});

test("fails for a sidecar that does not match, and for the pin too, in one answer", async () => {
  const copy = path.join(sub(), path.basename(pkg));
  fs.copyFileSync(pkg, copy);
  fs.writeFileSync(`${copy}.sha256`, "f".repeat(64));
  const r = await checkPackage(copy, "4.4.16", "e".repeat(64), undefined);
  expect(r).toEqual([
    {
      property: "packagePath",
      reason: expect.stringContaining(
        `but its .sha256 file says ${"f".repeat(64)}: the download is corrupt or was replaced`,
      ),
    },
    { property: "packageSha256", reason: expect.stringContaining(`not the pinned ${"e".repeat(64)}`) },
  ]);
});

// Row: [case, how to make the path, fragment of the packagePath reason]
const FAILURES: [string, () => string, string][] = [
  [
    "fails for a missing file, naming the working directory",
    () => path.join(dir, "missing.zip"),
    `(ENOENT) from ${process.cwd()}`,
  ],
  ["fails for a directory", () => sub(), "is not a file"],
  [
    "fails for a file that is not a zip",
    () => {
      const f = path.join(sub(), path.basename(pkg));
      fs.writeFileSync(f, "not a zip");
      return f;
    },
    "cannot read it as a zip archive",
  ],
  [
    "fails for an unreadable sidecar",
    () => {
      const f = path.join(sub(), path.basename(pkg));
      fs.copyFileSync(pkg, f);
      fs.writeFileSync(`${f}.sha256`, "not a digest");
      return f;
    },
    "does not start with a 64-digit hex SHA-256",
  ],
];
test.each(FAILURES)("%s", async (_name, make, fragment) => {
  const r = await checkPackage(make(), "4.4.16", undefined, undefined);
  expect(r).toEqual([{ property: "packagePath", reason: expect.stringContaining(fragment) }]);
});

test("fails when the package does not hold the declared version", async () => {
  const r = await checkPackage(pkg, "4.4.15", undefined, undefined);
  expect(r).toEqual([{ property: "packagePath", reason: expect.stringContaining("4.4.15") }]);
});
