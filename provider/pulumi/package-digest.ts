// Program-side package hashing: once per (path, size, mtime) per program run, shared by every
// EmqxRelease that names the same file. Not part of the serialized provider.
import * as fs from "fs";
import { sha256File } from "../package/hash";

const digests = new Map<string, Promise<string | undefined>>();

/** sha256 of the file, or undefined when it cannot be read (check then reports why). */
export function packageDigest(path: string): Promise<string | undefined> {
  let key: string;
  try {
    const st = fs.statSync(path);
    key = `${path}\0${st.size}\0${st.mtimeMs}`;
  } catch {
    return Promise.resolve(undefined);
  }
  const known = digests.get(key);
  if (known) return known;
  const digest = sha256File(path).catch(() => undefined);
  digests.set(key, digest);
  return digest;
}
