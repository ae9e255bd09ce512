import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PackageError } from "../../../provider/errors";
import { MAX_MANIFEST_ENTRY_BYTES, readPackageManifest } from "../../../provider/package/read-package";
import { buildPackageZip, PackageSpec, packageEntries } from "../../../sandbox/package-zip";
import { writeZip, ZipEntrySpec } from "../../../sandbox/zip-writer";

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "read-package-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const ALL_SCRIPTS = ["emqx", "emqx_ctl", "nodetool", "cuttlefish", "install_upgrade.escript"];
const below = (n: number): string[] => Array.from({ length: n }, (_, i) => `4.4.${n - 1 - i}`);

/** Writes a zip of the package entries of `spec`, edited by `edit`, and returns its path. */
async function craft(
  name: string,
  spec: PackageSpec,
  edit: (entries: ZipEntrySpec[]) => ZipEntrySpec[],
): Promise<string> {
  const zipPath = path.join(dir, name);
  await writeZip(zipPath, edit(packageEntries(spec)));
  return zipPath;
}

/** Replaces the data (and optionally the declared size) of the entry whose name ends with `suffix`. */
function replaceEntry(suffix: string, change: Partial<ZipEntrySpec>): (entries: ZipEntrySpec[]) => ZipEntrySpec[] {
  return (entries) => entries.map((e) => (e.name.endsWith(suffix) ? { ...e, ...change } : e));
}

describe("readPackageManifest", () => {
  // [description, spec, version asked for, expected manifest fields]
  const cases: Array<[string, PackageSpec, string, Record<string, unknown>]> = [
    [
      "a CE 4.4.16 package",
      { version: "4.4.16" },
      "4.4.16",
      {
        topFolder: "emqx",
        releaseVersion: "4.4.16",
        ertsVersion: "12.3.2.2",
        relup: { upFrom: below(16), downTo: below(16) },
        binScripts: ALL_SCRIPTS,
      },
    ],
    [
      "an EE 4.4.3 package",
      { version: "4.4.3", edition: "ee" },
      "4.4.3",
      { releaseVersion: "4.4.3", ertsVersion: "12.1.5", relup: { upFrom: below(3), downTo: below(3) } },
    ],
    [
      "a package without a relup",
      { version: "4.4.16", relupFrom: [], fileName: "norelup.zip" },
      "4.4.16",
      { relup: null },
    ],
    [
      "a relup with only an up path",
      { version: "4.4.16", relupFrom: ["4.4.15"], relupDownTo: [], fileName: "uponly.zip" },
      "4.4.16",
      { relup: { upFrom: ["4.4.15"], downTo: [] } },
    ],
    ["the first 4.4 release (empty relup)", { version: "4.4.0" }, "4.4.0", { relup: null, ertsVersion: "12.1.5" }],
  ];
  it.each(cases)("reads %s", async (_name, spec, version, expected) => {
    const manifest = await readPackageManifest(await buildPackageZip(dir, spec), version);
    expect(manifest).toMatchObject(expected);
  });

  it("counts every entry and sums their uncompressed sizes", async () => {
    const spec: PackageSpec = { version: "4.4.16", extraBytes: 100_000, fileName: "padded.zip" };
    const entries = packageEntries(spec);
    const bytes = entries.reduce(
      (sum, e) =>
        sum +
        (e.data === undefined
          ? 0
          : typeof e.data === "string"
            ? Buffer.byteLength(e.data)
            : Buffer.isBuffer(e.data)
              ? e.data.length
              : e.data.randomBytes),
      0,
    );
    const manifest = await readPackageManifest(await buildPackageZip(dir, spec), "4.4.16");
    expect(manifest.entryCount).toBe(entries.length);
    expect(manifest.uncompressedBytes).toBe(bytes);
    expect(bytes).toBeGreaterThan(100_000);
  });

  it("lists only the versioned bin scripts that are present", async () => {
    const zipPath = await craft("no-nodetool.zip", { version: "4.4.16" }, (es) =>
      es.filter((e) => e.name !== "emqx/bin/nodetool-4.4.16"),
    );
    expect((await readPackageManifest(zipPath, "4.4.16")).binScripts).toEqual([
      "emqx",
      "emqx_ctl",
      "cuttlefish",
      "install_upgrade.escript",
    ]);
  });

  it("reads a relup that is deflated but near the cap", async () => {
    const big = `{"4.4.16",[{"4.4.15",[],[${"point_of_no_return,".repeat(150_000)}point_of_no_return]}],[]}.`;
    expect(big.length).toBeLessThan(MAX_MANIFEST_ENTRY_BYTES);
    const zipPath = await craft("big-relup.zip", { version: "4.4.16" }, replaceEntry("/relup", { data: big }));
    expect((await readPackageManifest(zipPath, "4.4.16")).relup).toEqual({ upFrom: ["4.4.15"], downTo: [] });
  });
});

describe("readPackageManifest failures", () => {
  // [description, make the file (returns its path), version asked for, words the reason contains]
  const cases: Array<[string, () => Promise<string>, string, string]> = [
    [
      "a wrong top folder",
      () => buildPackageZip(dir, { version: "4.4.16", topFolder: "emqx-4.4.16", fileName: "top.zip" }),
      "4.4.16",
      'entry "emqx-4.4.16/" is outside the top folder emqx/',
    ],
    [
      "no top folder",
      () => buildPackageZip(dir, { version: "4.4.16", topFolder: "", fileName: "flat.zip" }),
      "4.4.16",
      "outside the top folder emqx/",
    ],
    [
      "a stray entry next to emqx/",
      () => craft("stray.zip", { version: "4.4.16" }, (es) => [...es, { name: "README.txt", data: "hi" }]),
      "4.4.16",
      'entry "README.txt" is outside',
    ],
    [
      "a package of another version",
      () => buildPackageZip(dir, { version: "4.4.15" }),
      "4.4.16",
      "no emqx/releases/4.4.16/emqx.rel inside (it holds release 4.4.15): this zip is not an EMQX 4.4.16 package; download the package for 4.4.16",
    ],
    [
      "an emqx.rel of another version",
      () =>
        craft(
          "mislabelled.zip",
          { version: "4.4.16" },
          replaceEntry("/emqx.rel", { data: '{release,{"emqx","4.4.15"},{erts,"12.3.2.2"},[]}.' }),
        ),
      "4.4.16",
      "describes release 4.4.15, not 4.4.16",
    ],
    [
      "a release not named emqx",
      () =>
        craft(
          "notemqx.zip",
          { version: "4.4.16" },
          replaceEntry("/emqx.rel", { data: '{release,{"rabbit","4.4.16"},{erts,"12.3.2.2"},[]}.' }),
        ),
      "4.4.16",
      'describes release "rabbit"',
    ],
    [
      "an emqx.rel that is not a release term",
      () => craft("relshape.zip", { version: "4.4.16" }, replaceEntry("/emqx.rel", { data: "{ok, 1}." })),
      "4.4.16",
      "is not a release file",
    ],
    [
      "an emqx.rel that is not an Erlang term",
      () => craft("relsyntax.zip", { version: "4.4.16" }, replaceEntry("/emqx.rel", { data: '{release, "emqx' })),
      "4.4.16",
      "emqx.rel is not a valid Erlang term (unterminated string at offset 10)",
    ],
    [
      "a relup of another version",
      () => craft("relupvsn.zip", { version: "4.4.16" }, replaceEntry("/relup", { data: '{"4.4.15",[],[]}.' })),
      "4.4.16",
      "is the relup of 4.4.15, not 4.4.16",
    ],
    [
      "a relup with a malformed path",
      () =>
        craft(
          "relupshape.zip",
          { version: "4.4.16" },
          replaceEntry("/relup", { data: '{"4.4.16",[{"4.4.15",[]}],[]}.' }),
        ),
      "4.4.16",
      "is not a relup file",
    ],
    [
      "a relup declaring a huge size",
      () => craft("declared.zip", { version: "4.4.16" }, replaceEntry("/relup", { declaredSize: 3_000_000_000 })),
      "4.4.16",
      `relup declares 3000000000 bytes, over the ${MAX_MANIFEST_ENTRY_BYTES}-byte limit`,
    ],
    [
      "a relup that inflates past the cap",
      () =>
        craft(
          "bomb.zip",
          { version: "4.4.16" },
          replaceEntry("/relup", { data: Buffer.alloc(MAX_MANIFEST_ENTRY_BYTES + 1, 0x20) }),
        ),
      "4.4.16",
      "over the 4194304-byte limit",
    ],
    [
      "a relup that inflates past its declared size",
      () =>
        craft(
          "liar.zip",
          { version: "4.4.16" },
          replaceEntry("/relup", { data: Buffer.alloc(5_000_000, 0x20), declaredSize: 100 }),
        ),
      "4.4.16",
      "cannot read emqx/releases/4.4.16/relup",
    ],
    [
      "an entry escaping the folder",
      () => craft("escape.zip", { version: "4.4.16" }, (es) => [...es, { name: "emqx/../../etc/passwd", data: "x" }]),
      "4.4.16",
      "the zip is damaged (invalid relative path",
    ],
    ["an empty zip", () => craft("empty.zip", { version: "4.4.16" }, () => []), "4.4.16", "the zip is empty"],
    [
      "a truncated zip",
      async () => {
        const full = await buildPackageZip(dir, { version: "4.4.16", fileName: "tobetruncated.zip" });
        const cut = path.join(dir, "truncated.zip");
        fs.writeFileSync(cut, fs.readFileSync(full).subarray(0, Math.floor(fs.statSync(full).size / 2)));
        return cut;
      },
      "4.4.16",
      "cannot read it as a zip archive (End of central directory record signature not found",
    ],
    [
      "a text file",
      async () => {
        const p = path.join(dir, "notazip.zip");
        fs.writeFileSync(p, "<html>404 Not Found</html>\n");
        return p;
      },
      "4.4.16",
      "the file is truncated, damaged or not a zip; download the package again",
    ],
    [
      "random bytes",
      async () => {
        const p = path.join(dir, "random.zip");
        fs.writeFileSync(p, randomBytes(64 * 1024));
        return p;
      },
      "4.4.16",
      "cannot read it as a zip archive",
    ],
    [
      "a zero-byte file",
      async () => {
        const p = path.join(dir, "zero.zip");
        fs.writeFileSync(p, "");
        return p;
      },
      "4.4.16",
      "cannot read it as a zip archive",
    ],
    ["a missing file", async () => path.join(dir, "does-not-exist.zip"), "4.4.16", "the file does not exist"],
  ];
  it.each(cases)("fails on %s", async (_name, make, version, reason) => {
    const zipPath = await make();
    const e = await readPackageManifest(zipPath, version).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(PackageError.isInstance(e)).toBe(true);
    const err = e as PackageError;
    expect(err.path).toBe(zipPath);
    expect(err.reason).toContain(reason);
    expect(err.message).toBe(`package ${zipPath}: ${err.reason}`);
  });

  it("fails on a damaged zip keeping the original error as cause", async () => {
    const p = path.join(dir, "cause.zip");
    fs.writeFileSync(p, "not a zip");
    const e = (await readPackageManifest(p, "4.4.16").catch((err: unknown) => err)) as PackageError & {
      cause?: unknown;
    };
    expect(e.cause).toBeInstanceOf(Error);
    expect(PackageError.isInstance(e.cause)).toBe(false);
  });
});
