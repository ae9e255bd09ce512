// Reads what the provider needs to know about an EMQX 4.4 package zip without unpacking it: the
// central directory (names and sizes of every entry) plus two small entries, `emqx.rel` and
// `relup` of the release (docs/emqx-4.4-hot-upgrade.md §3.2, §3.4). Each entry read is capped, so a corrupt or
// hostile zip costs at most MAX_MANIFEST_ENTRY_BYTES of memory; every failure is a `PackageError` that says what is
// wrong with the file and what to do about it. `import x = require()` keeps a plain require: Pulumi serializes it as
// a module reference, where `import * as` (__importStar) would be copied by value (and fails for yauzl).
import yauzl = require("yauzl");
import { PackageError, messageOf } from "../errors";
import {
  asAtom,
  asList,
  asString,
  asTuple,
  ErlangTerm,
  ErlangTermSyntaxError,
  parseErlangTerm,
} from "../plan/erlang-term";

/** What a package holds, as far as installing it is concerned. */
export interface PackageManifest {
  /** Always "emqx": the installer `cd`s into `emqx/` after unzipping. */
  topFolder: string;
  /** The release version from `emqx/releases/<V>/emqx.rel`, e.g. "4.4.16". */
  releaseVersion: string;
  /** The ERTS version the release runs on, e.g. "12.3.2.2". */
  ertsVersion: string;
  /** Keys of `releases/<V>/relup`: the versions it upgrades from / downgrades to; null when the
   * package ships no relup (then `emqx upgrade` fails with `no_matching_relup`). */
  relup: { upFrom: string[]; downTo: string[] } | null;
  /** Sum of the uncompressed sizes of all entries: the disk space unpacking needs. */
  uncompressedBytes: number;
  entryCount: number;
  /** The scripts `f` (of emqx, emqx_ctl, nodetool, cuttlefish, install_upgrade.escript) whose
   * versioned copy `emqx/bin/<f>-<V>` is in the package; permafy copies them over `bin/<f>`. */
  binScripts: string[];
}

/** An entry we read into memory (emqx.rel, relup) may not exceed this: real ones are a few KB. */
export const MAX_MANIFEST_ENTRY_BYTES = 4 * 1024 * 1024;

/** The versioned scripts permafy copies, in the order docs/emqx-4.4-hot-upgrade.md §2.7 lists them. */
const VERSIONED_SCRIPTS = ["emqx", "emqx_ctl", "nodetool", "cuttlefish", "install_upgrade.escript"];
const TOP = "emqx/";

// Reads the manifest of the EMQX package zip at `zipPath`, which must hold release `version`.
export async function readPackageManifest(zipPath: string, version: string): Promise<PackageManifest> {
  return readManifest(() => openZip(zipPath), zipPath, version);
}

/** Reads the manifest of the zip `open` opens (a local file, or a remote one read by HTTP ranges);
 * `label` names it in errors. */
export async function readManifest(
  open: () => Promise<yauzl.ZipFile>,
  label: string,
  version: string,
): Promise<PackageManifest> {
  const fail = (reason: string, cause?: unknown): never => {
    throw new PackageError({ path: label, reason, cause });
  };
  let zip: yauzl.ZipFile;
  try {
    zip = await open();
  } catch (e) {
    if (PackageError.isInstance(e)) throw e;
    if ((e as NodeJS.ErrnoException).code === "ENOENT")
      return fail("the file does not exist: check the path, or download the package first", e);
    return fail(
      `cannot read it as a zip archive (${errorText(e)}): the file is truncated, damaged or not a zip; download the package again and check its .sha256`,
      e,
    );
  }
  try {
    const relName = `${TOP}releases/${version}/emqx.rel`;
    const relupName = `${TOP}releases/${version}/relup`;
    let relEntry: yauzl.Entry | undefined;
    let relupEntry: yauzl.Entry | undefined;
    const otherReleases: string[] = [];
    const binScripts = new Set<string>();
    let uncompressedBytes = 0;
    let entryCount = 0;
    const visit = (entry: yauzl.Entry): void => {
      const name = entry.fileName;
      if (!name.startsWith(TOP)) {
        fail(
          `entry ${JSON.stringify(name)} is outside the top folder emqx/: EMQX's installer unzips the package and enters emqx/, so every entry must be under it; use the package as published (or re-zip with \`zip -r <file> emqx\`)`,
        );
      }
      entryCount++;
      uncompressedBytes += entry.uncompressedSize;
      if (name === relName) relEntry = entry;
      else if (name === relupName) relupEntry = entry;
      const parts = name.split("/");
      if (parts.length === 4 && parts[1] === "releases" && parts[3] === "emqx.rel") otherReleases.push(parts[2]);
      if (parts.length === 3 && parts[1] === "bin") {
        const script = VERSIONED_SCRIPTS.find((f) => parts[2] === `${f}-${version}`);
        if (script) binScripts.add(script);
      }
    };
    try {
      await forEachEntry(zip, visit);
    } catch (e) {
      if (PackageError.isInstance(e)) throw e;
      fail(`the zip is damaged (${errorText(e)}); download the package again and check its .sha256`, e);
    }

    if (entryCount === 0)
      fail(`the zip is empty: this is not an EMQX ${version} package; download the package for ${version}`);
    if (!relEntry) {
      const seen = otherReleases.filter((v) => v !== version);
      const holds = seen.length > 0 ? ` (it holds release ${seen.join(", ")})` : "";
      return fail(
        `no ${relName} inside${holds}: this zip is not an EMQX ${version} package; download the package for ${version}`,
      );
    }
    const rel = parseRel(await readTerm(zip, relEntry, fail), version, relName, fail);
    const relup = relupEntry ? parseRelup(await readTerm(zip, relupEntry, fail), version, relupName, fail) : null;
    return {
      topFolder: "emqx",
      releaseVersion: rel.version,
      ertsVersion: rel.erts,
      relup,
      uncompressedBytes,
      entryCount,
      binScripts: VERSIONED_SCRIPTS.filter((f) => binScripts.has(f)),
    };
  } finally {
    zip.close();
  }
}

type Fail = (reason: string, cause?: unknown) => never;

/** `{release,{"emqx",V},{erts,E},Apps}` -> version and ERTS version, checked against `version`. */
function parseRel(term: ErlangTerm, version: string, name: string, fail: Fail): { version: string; erts: string } {
  const [tag, nameVsn, erts, apps] = asTuple(term, 4) ?? [];
  const [relName, relVsn] = asTuple(nameVsn, 2)?.map(asString) ?? [];
  const [ertsTag, ertsVsn] = asTuple(erts, 2) ?? [];
  if (
    asAtom(tag) !== "release" ||
    relName === undefined ||
    relVsn === undefined ||
    asAtom(ertsTag) !== "erts" ||
    !asString(ertsVsn) ||
    !asList(apps)
  ) {
    return fail(
      `${name} is not a release file ({release,{Name,Vsn},{erts,Vsn},Apps}); the package is damaged, download it again`,
    );
  }
  if (relName !== "emqx")
    fail(`${name} describes release ${JSON.stringify(relName)}, not "emqx": this is not an EMQX package`);
  if (relVsn !== version)
    fail(
      `${name} describes release ${relVsn}, not ${version}: the package is mislabelled; download the package for ${version}`,
    );
  return { version: relVsn, erts: asString(ertsVsn) as string };
}

/** `{V,[{From,Descr,Instrs}...],[{To,Descr,Instrs}...]}` -> the From and To keys. */
function parseRelup(
  term: ErlangTerm,
  version: string,
  name: string,
  fail: Fail,
): { upFrom: string[]; downTo: string[] } {
  const [vsn, up, down] = asTuple(term, 3) ?? [];
  const keys = (paths: ErlangTerm | undefined): string[] | undefined => {
    const found = asList(paths)?.map((p) => asString(asTuple(p, 3)?.[0]));
    return found?.every((k): k is string => k !== undefined) ? found : undefined;
  };
  const upFrom = keys(up);
  const downTo = keys(down);
  if (asString(vsn) === undefined || !upFrom || !downTo) {
    return fail(
      `${name} is not a relup file ({Vsn,[{UpFrom,Descr,Instrs}],[{DownTo,Descr,Instrs}]}); the package is damaged, download it again`,
    );
  }
  if (asString(vsn) !== version)
    fail(`${name} is the relup of ${asString(vsn)}, not ${version}: the package is damaged or repacked by hand`);
  return { upFrom, downTo };
}

/** Reads `entry` (at most MAX_MANIFEST_ENTRY_BYTES) and parses it as one Erlang term. */
async function readTerm(zip: yauzl.ZipFile, entry: yauzl.Entry, fail: Fail): Promise<ErlangTerm> {
  const name = entry.fileName;
  if (entry.uncompressedSize > MAX_MANIFEST_ENTRY_BYTES) {
    fail(
      `${name} declares ${entry.uncompressedSize} bytes, over the ${MAX_MANIFEST_ENTRY_BYTES}-byte limit for that file (real ones are a few KB): the package is damaged or not an EMQX package`,
    );
  }
  let data: Buffer;
  try {
    data = await readEntryCapped(zip, entry, MAX_MANIFEST_ENTRY_BYTES);
  } catch (e) {
    return fail(
      `cannot read ${name} (${errorText(e)}): the zip is damaged; download the package again and check its .sha256`,
      e,
    );
  }
  try {
    return parseErlangTerm(data.toString("utf8"));
  } catch (e) {
    if (!ErlangTermSyntaxError.isInstance(e)) throw e;
    return fail(
      `${name} is not a valid Erlang term (${e.reason} at offset ${e.offset}): the package is damaged; download it again`,
      e,
    );
  }
}

/** How every zip is opened: lazy entries, size validation, closed by us. */
export const ZIP_OPTIONS: yauzl.Options = {
  lazyEntries: true,
  autoClose: false,
  validateEntrySizes: true,
  strictFileNames: false,
};

/** yauzl.open with ZIP_OPTIONS, as a promise. */
function openZip(zipPath: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(zipPath, ZIP_OPTIONS, (err, zip) =>
      err || !zip ? reject(err ?? new Error("no zip file")) : resolve(zip),
    );
  });
}

/** Calls `visit` for each central-directory entry in order; rejects with what `visit` throws. */
function forEachEntry(zip: yauzl.ZipFile, visit: (entry: yauzl.Entry) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err?: unknown): void => {
      if (done) return;
      done = true;
      zip.removeAllListeners("entry").removeAllListeners("end");
      zip.on("error", () => undefined); // errors after we stopped listening must not crash the process
      if (err) reject(err);
      else resolve();
    };
    zip.on("entry", (entry: yauzl.Entry) => {
      try {
        visit(entry);
      } catch (e) {
        return finish(e);
      }
      zip.readEntry();
    });
    zip.on("end", () => finish());
    zip.on("error", (e: unknown) => finish(e));
    zip.readEntry();
  });
}

/** The content of `entry`, rejecting as soon as more than `maxBytes` come out (a lying size). */
function readEntryCapped(zip: yauzl.ZipFile, entry: yauzl.Entry, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err || !stream) return reject(err ?? new Error("no stream"));
      const chunks: Buffer[] = [];
      let total = 0;
      stream.on("data", (chunk: Buffer) => {
        total += chunk.length;
        if (total > maxBytes) {
          stream.destroy();
          reject(new Error(`more than ${maxBytes} bytes`));
        } else chunks.push(chunk);
      });
      stream.on("error", reject);
      stream.on("end", () => resolve(Buffer.concat(chunks)));
    });
  });
}

function errorText(e: unknown): string {
  return messageOf(e);
}
