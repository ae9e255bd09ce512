// The escript's package lookup (docs/emqx-4.4-hot-upgrade.md §2.5): repack the `releases/emqx-*<V>*.zip`
// matches (byte order) into `releases/emqx-<V>.tar.gz` via /tmp/emqx_untar_<n>/ (left behind), find
// the first tarball of the lookup order, and link it to `releases/<V>/emqx.tar.gz`. With several
// matches the real escript crashes on the second one (correction 1 at the top of that page).
"use strict";

const fs = require("fs");
const path = require("path");
const yauzl = require("yauzl");
const { fmtStringList } = require("./erlang-term");
const { installPaths, readRelFile, releasesFileText, posixReason } = require("./state");
const { createTarGz, readTar, extractKeepOld } = require("./tar");
const { Crash, out, mustOk, atLeast } = require("./io");

let lastTmpStamp = 0n;
/** `erlang:system_time()` in native units (ns on Linux), strictly increasing within a run. */
function systemTimeNative() {
  const ns = BigInt(Date.now()) * 1000000n + (process.hrtime.bigint() % 1000000n);
  lastTmpStamp = ns > lastTmpStamp ? ns : lastTmpStamp + 1n;
  return lastTmpStamp;
}

/** `zip:unzip` of `zipFile` into `dir` (modes are not kept, as with Erlang's zip module). */
function unzipTo(zipFile, dir) {
  return new Promise((resolve, reject) => {
    yauzl.open(zipFile, { lazyEntries: true }, (openErr, zip) => {
      if (openErr) return reject(openErr);
      zip.on("error", reject);
      zip.on("end", resolve);
      zip.on("entry", (entry) => {
        const dest = path.join(dir, entry.fileName);
        if (entry.fileName.endsWith("/")) {
          fs.mkdirSync(dest, { recursive: true });
          return zip.readEntry();
        }
        fs.mkdirSync(path.dirname(dest), { recursive: true });
        zip.openReadStream(entry, (streamErr, stream) => {
          if (streamErr) return reject(streamErr);
          const ws = fs.createWriteStream(dest);
          ws.on("error", reject);
          ws.on("finish", () => zip.readEntry());
          stream.on("error", reject);
          stream.pipe(ws);
        });
      });
      zip.readEntry();
    });
  });
}

/** Names in `releases/` matching `emqx-*<V>*.zip`, in `filelib:wildcard` (byte) order. */
function matchingZips(root, V) {
  let names = [];
  try {
    names = fs.readdirSync(installPaths(root).releases);
  } catch {
    /* no releases dir */
  }
  return names
    .filter(
      (n) => n.startsWith("emqx-") && n.endsWith(".zip") && n.length >= 9 + V.length && n.slice(5, -4).includes(V),
    )
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .map((n) => `releases/${n}`);
}

const DISK_FILLER_SLACK_BYTES = 256 * 1024;

/** Faults of the disk that strike after the upload and before EMQX reads the zips: a full disk
 * (`fillDiskBeforeUnpack`: a filler file in .emulator/ takes all free space of the root's
 * filesystem) and a damaged package (`corruptZipBeforeUnpack`: each matching zip cut to half). */
function diskFaults(ctx, zips) {
  if (ctx.faults.fillDiskBeforeUnpack) {
    const fd = fs.openSync(path.join(installPaths(ctx.root).emu, "disk-filler"), "a");
    const block = Buffer.alloc(1024 * 1024);
    try {
      for (let size = block.length; size >= 512;) {
        try {
          fs.writeSync(fd, block, 0, size);
        } catch (e) {
          if (e.code !== "ENOSPC") throw e;
          size = Math.floor(size / 2);
        }
      }
      // Leave a little room, as a disk that another process filled does: the call log still gets
      // its line, the tar.gz of any real package does not fit.
      fs.ftruncateSync(fd, Math.max(0, fs.fstatSync(fd).size - DISK_FILLER_SLACK_BYTES));
    } finally {
      fs.closeSync(fd);
    }
  }
  if (ctx.faults.corruptZipBeforeUnpack) {
    for (const z of zips) {
      const file = path.join(ctx.root, z);
      fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
    }
  }
}

/** `unpack_zipballs`: prints `unzip [...]`, then repacks each match. The escript changes its working
 * directory into the first match's untar dir and never back, so the second match's relative
 * `releases/<zip>` is not found: it crashes with {error,enoent} (exit 127), leaving the tar.gz of
 * the FIRST match and an empty second untar dir, nothing unpacked or registered. */
async function unpackZipballs(ctx, V) {
  const zips = matchingZips(ctx.root, V);
  diskFaults(ctx, zips);
  out(`unzip ${fmtStringList(zips, 6)}`);
  const gzFile = path.join(ctx.root, "releases", `emqx-${V}.tar.gz`);
  for (const [i, zip] of zips.entries()) {
    const tmpDir = path.join(ctx.untarBase, `emqx_untar_${systemTimeNative()}`);
    mustOk(() => fs.mkdirSync(tmpDir, { recursive: true }), "unpack_zipballs/2");
    if (i > 0) throw new Crash("no match of right hand side value {error,enoent}", "'-unpack_zipballs/2-fun-0-'/2");
    mustOk(() => fs.copyFileSync(path.join(ctx.root, zip), path.join(tmpDir, "emqx.zip")), "unpack_zipballs/2");
    try {
      await unzipTo(path.join(tmpDir, "emqx.zip"), tmpDir);
    } catch (e) {
      throw new Crash(
        `no match of right hand side value {error,${e.code ? posixReason(e) : "bad_eocd"}}`,
        "unpack_zipballs/2",
      );
    }
    const top = path.join(tmpDir, "emqx");
    if (!fs.existsSync(top) || !fs.statSync(top).isDirectory()) {
      throw new Crash("no match of right hand side value {error,enoent}", "unpack_zipballs/2");
    }
    const names = fs.readdirSync(top).sort();
    const gz = createTarGz(top, names);
    try {
      fs.writeFileSync(gzFile, gz);
    } catch (e) {
      throw new Crash(`no match of right hand side value {error,{"${gzFile}",${posixReason(e)}}}`, "unpack_zipballs/2");
    }
  }
}

/** `find_and_link_release_package`: the first tarball found (relative name), linked as
 * `releases/<V>/emqx.tar.gz`; undefined when there is none (-> release_package_not_found). */
async function findAndLinkReleasePackage(ctx, V) {
  await unpackZipballs(ctx, V);
  const link = `releases/${V}/emqx.tar.gz`;
  const tarballs = [`releases/emqx-${V}.tar.gz`, `releases/${V}/emqx-${V}.tar.gz`, link];
  const found = tarballs.find((t) => fs.existsSync(path.join(ctx.root, t)));
  if (found === undefined || found === link) return found;
  const linkPath = path.join(ctx.root, link);
  mustOk(() => fs.mkdirSync(path.dirname(linkPath), { recursive: true }), "find_and_link_release_package/2");
  const target = path.join(ctx.root, found);
  const makeLink = () => {
    try {
      fs.symlinkSync(target, linkPath);
      return "ok";
    } catch (e) {
      return posixReason(e);
    }
  };
  let res = makeLink();
  if (res === "eexist" && atLeast(ctx.E, "4.4.2")) {
    out(`symlink "${link}" already exists, recreate it`);
    mustOk(() => fs.unlinkSync(linkPath), "make_symlink_or_copy/2");
    res = makeLink();
  }
  if (res === "ok") return found;
  if (res === "eperm" || (res === "enotsup" && atLeast(ctx.E, "4.4.2"))) {
    mustOk(() => fs.copyFileSync(target, linkPath), "make_symlink_or_copy/2");
    return found;
  }
  if (atLeast(ctx.E, "4.4.2")) out(`create symlink "${link}" failed`);
  throw new Crash(`no case clause matching {error,${res}}`, "find_and_link_release_package/2");
}

/** The v4.4.2+ `existing_release` path (docs/emqx-4.4-hot-upgrade.md §2.5 step 4): untar `releases/<V>/emqx.tar.gz`
 * itself (keeping existing files), then `release_handler:create_RELEASES` locally, which rewrites
 * `releases/RELEASES` with only <V> permanent, then deletes the link and the `.rel`. */
function untarForUnpackedRelease(ctx, V) {
  const tar = path.join(ctx.root, "releases", V, "emqx.tar.gz");
  const relFile = path.join(ctx.root, "releases", V, "emqx.rel");
  const entries = mustOk(() => readTar(fs.readFileSync(tar)), "untar_for_unpacked_release/2");
  mustOk(() => extractKeepOld(ctx.root, entries), "untar_for_unpacked_release/2");
  const rel = mustOk(() => readRelFile(relFile, ctx.root), "untar_for_unpacked_release/2");
  mustOk(
    () => fs.writeFileSync(installPaths(ctx.root).releasesFile, releasesFileText([{ ...rel, status: "permanent" }])),
    "untar_for_unpacked_release/2",
  );
  for (const f of [tar, relFile]) {
    try {
      fs.unlinkSync(f);
    } catch {
      /* `_ = file:delete(...)` */
    }
  }
}

module.exports = { findAndLinkReleasePackage, untarForUnpackedRelease };
