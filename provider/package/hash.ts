// Checksums of package zips: the SHA-256 of the file (streamed, packages are tens of MB) and the
// digest EMQX publishes next to each package as `<file>.sha256` (64 hex digits, no file name,
// no newline: `sha256sum … | head -c 64`, docs/emqx-4.4-hot-upgrade.md §3.1).
import { createHash } from "crypto";
import { createReadStream, promises as fsp } from "fs";
import { PackageError, messageOf } from "../errors";

/** A sidecar longer than this is not a checksum file; we do not read further. */
const MAX_SIDECAR_BYTES = 4096;

// SHA-256 of the file at `path`, lowercase hex, read as a stream.
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch (e) {
    throw new PackageError({ path, reason: `cannot read the file to checksum it (${messageOf(e)})`, cause: e });
  }
  return hash.digest("hex");
}

// The digest in `<zipPath>.sha256`, lowercase; undefined when there is no such file.
// Accepts `sha256sum` output too ("<hex>  <name>\n"): only the first 64 characters count.
export async function readSidecarSha256(zipPath: string): Promise<string | undefined> {
  const sidecar = `${zipPath}.sha256`;
  let text: string;
  try {
    const fh = await fsp.open(sidecar, "r");
    try {
      const buf = Buffer.alloc(MAX_SIDECAR_BYTES);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      text = buf.subarray(0, bytesRead).toString("latin1");
    } finally {
      await fh.close();
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new PackageError({ path: sidecar, reason: `cannot read the checksum file (${messageOf(e)})`, cause: e });
  }
  const digest = text.trimStart().slice(0, 64);
  const rest = text.trimStart().slice(64);
  if (!isHex64(digest) || !(rest === "" || rest.charCodeAt(0) <= 32)) {
    const shown = JSON.stringify(text.slice(0, 80));
    throw new PackageError({
      path: sidecar,
      reason: `does not start with a 64-digit hex SHA-256 (found ${shown}); download it again from the same place as the package, or delete it to skip the check`,
    });
  }
  return digest.toLowerCase();
}

/** Exactly 64 characters, each 0-9a-fA-F (checked by char code: no regex to reason about). */
function isHex64(s: string): boolean {
  if (s.length !== 64) return false;
  for (let i = 0; i < 64; i++) {
    const c = s.charCodeAt(i);
    const lower = c | 0x20; // folds A-F onto a-f (digits are tested before folding)
    if (!((c >= 48 && c <= 57) || (lower >= 97 && lower <= 102))) return false;
  }
  return true;
}
