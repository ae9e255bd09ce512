// packageDigest: the program hashes each package once per (path, size, mtime), however many
// EmqxRelease resources name it.
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { packageDigest } from "../../../provider/pulumi/package-digest";

let dir: string;
beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "package-digest-"))));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const sha = (text: string) => createHash("sha256").update(text).digest("hex");

test("gives the sha256 of the file", async () => {
  const f = path.join(dir, "a.zip");
  fs.writeFileSync(f, "package a");
  await expect(packageDigest(f)).resolves.toBe(sha("package a"));
});

test("hashes a file once for every caller while it is unchanged", async () => {
  const f = path.join(dir, "b.zip");
  fs.writeFileSync(f, "package b");
  expect(packageDigest(f)).toBe(packageDigest(f));
});

test("hashes again when the file changed (size or mtime)", async () => {
  const f = path.join(dir, "c.zip");
  fs.writeFileSync(f, "one");
  await expect(packageDigest(f)).resolves.toBe(sha("one"));
  fs.writeFileSync(f, "three");
  await expect(packageDigest(f)).resolves.toBe(sha("three"));
  fs.writeFileSync(f, "four!");
  fs.utimesSync(f, new Date(), new Date(Date.now() + 60_000));
  await expect(packageDigest(f)).resolves.toBe(sha("four!"));
});

test("gives undefined for a file it cannot read, leaving the reason to check", async () => {
  await expect(packageDigest(path.join(dir, "missing.zip"))).resolves.toBeUndefined();
  await expect(packageDigest(dir)).resolves.toBeUndefined();
});
