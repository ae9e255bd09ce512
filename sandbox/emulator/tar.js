// A minimal ustar writer/reader, gzip-compressed, for the `releases/emqx-<V>.tar.gz` that
// install_upgrade.escript repacks from a zip (`erl_tar:create(GzFile, filelib:wildcard("*"),
// [compressed])`, docs/emqx-4.4-hot-upgrade.md §2.5) and that release_handler extracts with `keep_old_files`
// (docs/emqx-4.4-hot-upgrade.md §3.2). The result is a real .tar.gz (`tar tzf` reads it); modes are the ones on disk,
// which lost their executable bits when the zip was extracted, as with Erlang's zip:unzip.
"use strict";

const fs = require("fs");
const path = require("path");
const zlib = require("zlib");

function octal(n, width) {
  return n.toString(8).padStart(width - 1, "0") + "\0";
}

function header(name, { mode, size, type, linkname = "", mtime }) {
  const h = Buffer.alloc(512, 0);
  let prefix = "";
  let base = name;
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf("/", 155);
    if (cut <= 0 || Buffer.byteLength(name.slice(cut + 1)) > 100) throw new Error(`tar: name too long: ${name}`);
    prefix = name.slice(0, cut);
    base = name.slice(cut + 1);
  }
  h.write(base, 0, 100, "utf8");
  h.write(octal(mode & 0o7777, 8), 100, "ascii");
  h.write(octal(0, 8), 108, "ascii");
  h.write(octal(0, 8), 116, "ascii");
  h.write(octal(size, 12), 124, "ascii");
  h.write(octal(mtime, 12), 136, "ascii");
  h.write("        ", 148, "ascii");
  h.write(type, 156, "ascii");
  h.write(linkname, 157, 100, "utf8");
  h.write("ustar\0" + "00", 257, "ascii");
  h.write(prefix, 345, 155, "utf8");
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + " ", 148, "ascii");
  return h;
}

/** Builds a gzip'ed tar of `names` (relative to `cwd`, directories recursively). */
function createTarGz(cwd, names) {
  const chunks = [];
  const add = (rel) => {
    const full = path.join(cwd, rel);
    const st = fs.lstatSync(full);
    const mtime = Math.floor(st.mtimeMs / 1000);
    if (st.isSymbolicLink()) {
      chunks.push(header(rel, { mode: st.mode, size: 0, type: "2", linkname: fs.readlinkSync(full), mtime }));
    } else if (st.isDirectory()) {
      chunks.push(header(`${rel}/`, { mode: st.mode, size: 0, type: "5", mtime }));
      for (const n of fs.readdirSync(full).sort()) add(`${rel}/${n}`);
    } else {
      const data = fs.readFileSync(full);
      chunks.push(header(rel, { mode: st.mode, size: data.length, type: "0", mtime }), data);
      const pad = (512 - (data.length % 512)) % 512;
      if (pad) chunks.push(Buffer.alloc(pad, 0));
    }
  };
  for (const n of names) add(n);
  chunks.push(Buffer.alloc(1024, 0));
  return zlib.gzipSync(Buffer.concat(chunks));
}

/** Entries of a (gzip'ed or plain) tar: [{name, type: "file"|"dir"|"symlink", mode, data, linkname}].
 * Throws on anything that is not a tar archive. */
function readTar(buf) {
  const raw = buf[0] === 0x1f && buf[1] === 0x8b ? zlib.gunzipSync(buf) : buf;
  const entries = [];
  let off = 0;
  let longName;
  while (off + 512 <= raw.length) {
    const h = raw.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const str = (a, b) => h.subarray(a, b).toString("utf8").replace(/\0.*$/s, "");
    const num = (a, b) => parseInt(str(a, b).trim() || "0", 8);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
    if (sum !== num(148, 156)) throw new Error("bad tar header checksum");
    const size = num(124, 136);
    const type = str(156, 157) || "0";
    const prefix = str(345, 500);
    let name = prefix ? `${prefix}/${str(0, 100)}` : str(0, 100);
    const data = raw.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === "L") {
      longName = data.toString("utf8").replace(/\0.*$/s, "");
      continue;
    }
    if (longName !== undefined) {
      name = longName;
      longName = undefined;
    }
    name = name.replace(/^\.\//, "").replace(/\/+$/, "");
    if (!name) continue;
    const kind = type === "5" ? "dir" : type === "2" ? "symlink" : type === "0" || type === "7" ? "file" : undefined;
    if (kind) entries.push({ name, type: kind, mode: num(100, 108), data, linkname: str(157, 257) });
  }
  return entries;
}

/** Extracts `entries` under `root` the way erl_tar does with `keep_old_files`: an existing file
 * or link is left as it is; directories are created as needed. Names leaving `root` are skipped. */
function extractKeepOld(root, entries) {
  for (const e of entries) {
    const dest = path.resolve(root, e.name);
    if (dest !== root && !dest.startsWith(root + path.sep)) continue;
    if (e.type === "dir") {
      fs.mkdirSync(dest, { recursive: true });
      continue;
    }
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    let exists = true;
    try {
      fs.lstatSync(dest);
    } catch {
      exists = false;
    }
    if (exists) continue;
    if (e.type === "symlink") fs.symlinkSync(e.linkname, dest);
    else fs.writeFileSync(dest, e.data, { mode: e.mode & 0o777 });
  }
}

module.exports = { createTarGz, readTar, extractKeepOld };
