// What `check` learns about a package named by URL without downloading it: the tail of the zip,
// then its central directory and `emqx.rel` / `relup` by HTTP range requests (http-range.ts). A
// server that ignores ranges answers the first request with the whole file: that one download goes
// into a cache keyed by the pinned sha256 (and is hashed, since the runner downloaded it), and the
// next check reads the cached copy without any request. The runner hashes nothing it did not download:
// in range mode the sha256 stays the pin, which each node checks on its download.
// Within one process (one `pulumi preview` or `up`), a package already read is not read again: every
// node of a fleet names the same URL and pin, and the engine checks them all at once, so the checks
// share the first one's reads (`via: "reused"`).
import fs = require("fs");
import os = require("os");
import path = require("path");
import yauzl = require("yauzl");
import { createHash, randomBytes } from "crypto";
import { PackageError, messageOf } from "../errors";
import { describeUrl, parseHttpUrl } from "../plan/package-source";
import type { Refusal } from "../plan/upgrade-plan";
import { createRangeReader, HttpOptions, httpGet, parseContentRange, readBody } from "./http-range";
import type { CheckedPackage } from "./package-check";
import { readManifest, readPackageManifest, ZIP_OPTIONS } from "./read-package";

/** yauzl looks for the end of central directory in the last 22 + 65535 bytes (its comment's limit). */
const TAIL_BYTES = 22 + 65535;

/** Where a server without range support leaves its one download: `$EMQX_RELEASE_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/pulumi-emqx-release/packages`, else `~/.cache/pulumi-emqx-release/packages`. */
export function packageCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.EMQX_RELEASE_CACHE_DIR) return env.EMQX_RELEASE_CACHE_DIR;
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  return path.join(base, "pulumi-emqx-release", "packages");
}

/** What to look at. */
export interface RemotePackageRequest extends HttpOptions {
  url: string;
  version: string;
  /** The pinned sha256 (required with packageUrl). */
  sha256: string;
  cacheDir?: string;
}

/** The checked package, with how it was read (for logs, tests and the benchmark). */
export interface CheckedRemotePackage extends CheckedPackage {
  /** "range": range requests; "download": the server ignored ranges, one download into the cache;
   * "cache": that cached copy, no request; "reused": this process checked the same package already,
   * no request. */
  via: "range" | "download" | "cache" | "reused";
  /** Bytes received from the server by this check. */
  bytesFetched: number;
  requests: number;
}

/** How many packages a process remembers (a program names a handful; the bound keeps a
 * long-lived process from growing). */
const MEMO_LIMIT = 64;
/** The remembered checks live on globalThis, not in a module variable: Pulumi may serialize this
 * module by value into each resource, and every copy must share one memo. */
const MEMO_GLOBAL = "__pulumiEmqxReleaseRemotePackages";

type Checked = CheckedRemotePackage | Refusal[];

function memo(): Map<string, Promise<Checked>> {
  const g = globalThis as unknown as Record<string, Map<string, Promise<Checked>> | undefined>;
  return (g[MEMO_GLOBAL] ??= new Map());
}

/** Forgets every remembered package check (tests that change what a server answers for a URL). */
export function forgetRemotePackages(): void {
  memo().clear();
}

/** What identifies a check's answer: the URL, the pin, the version and the headers (a check with
 * other credentials asks the server again). Hashed: the headers are secrets. */
function memoKey(req: RemotePackageRequest): string {
  const headers = Object.entries(req.headers ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash("sha256")
    .update(JSON.stringify([req.url, req.sha256.toLowerCase(), req.version, headers]))
    .digest("hex");
}

/** Reads the remote package's manifest; refusals against `packageUrl` / `packageSha256`. A package
 * this process already checked with the same URL, pin, version and headers is answered from that
 * check (`via: "reused"`, no request); only successes are remembered, so a refusal is asked again. */
export async function checkRemotePackage(req: RemotePackageRequest): Promise<Checked> {
  const key = memoKey(req);
  const known = memo().get(key);
  if (known) {
    const r = await known;
    if (!Array.isArray(r)) return { ...r, via: "reused", bytesFetched: 0, requests: 0 };
  }
  const reading = readRemotePackage(req).catch((e): Refusal[] => [
    { property: "packageUrl", reason: `${describeUrl(req.url)}: ${messageOf(e)}` },
  ]);
  memo().set(key, reading);
  const r = await reading;
  if (Array.isArray(r)) {
    if (memo().get(key) === reading) memo().delete(key);
  } else {
    for (const old of memo().keys()) {
      if (memo().size <= MEMO_LIMIT) break;
      memo().delete(old);
    }
  }
  return r;
}

/** One look at the remote package (checkRemotePackage without the memo). */
async function readRemotePackage(req: RemotePackageRequest): Promise<Checked> {
  const parsed = parseHttpUrl(req.url);
  if (typeof parsed === "string") return [{ property: "packageUrl", reason: parsed }];
  const pin = req.sha256.toLowerCase();
  const shown = describeUrl(req.url);
  const cached = path.join(req.cacheDir ?? packageCacheDir(), `${pin}.zip`);
  try {
    if (fs.existsSync(cached)) return await fromFile(cached, parsed.fileName, req, pin, "cache", 0, 0);
    const { response } = await httpGet(req.url, req, { range: `bytes=-${TAIL_BYTES}` });
    const status = response.statusCode ?? 0;
    if (status === 200) {
      const got = await downloadToCache(response, cached, shown);
      if (got.sha256 !== pin)
        return [
          {
            property: "packageSha256",
            reason: `${shown} has sha256 ${got.sha256}, not the pinned ${pin} (the server ignores range requests, so the runner downloaded it once): check packageSha256 against the package's .sha256 file, and the URL`,
          },
        ];
      return await fromFile(cached, parsed.fileName, req, pin, "download", got.bytes, 1);
    }
    const range = parseContentRange(response.headers["content-range"]);
    if (status !== 206 || !range) {
      response.resume();
      return [{ property: "packageUrl", reason: `${shown}: ${statusReason(status)}` }];
    }
    const tail = await readBody(response, TAIL_BYTES, shown);
    const { reader, stats } = createRangeReader(req.url, range.total, req, { start: range.first, data: tail });
    const m = await readManifest(() => openReader(reader, range.total), shown, req.version);
    return {
      fileName: parsed.fileName,
      sha256: pin,
      sizeBytes: range.total,
      uncompressedBytes: m.uncompressedBytes,
      relupUpFrom: m.relup ? m.relup.upFrom : null,
      relupDownTo: m.relup ? m.relup.downTo : null,
      via: "range",
      bytesFetched: stats.bytesFetched,
      requests: stats.requests,
    };
  } catch (e) {
    if (PackageError.isInstance(e)) return [{ property: "packageUrl", reason: `${shown}: ${e.reason}` }];
    return [{ property: "packageUrl", reason: `${shown}: ${messageOf(e)}` }];
  }
}

/** The manifest of a cached copy. */
async function fromFile(
  file: string,
  fileName: string,
  req: RemotePackageRequest,
  pin: string,
  via: "download" | "cache",
  bytesFetched: number,
  requests: number,
): Promise<CheckedRemotePackage> {
  const m = await readPackageManifest(file, req.version);
  return {
    fileName,
    sha256: pin,
    sizeBytes: (await fs.promises.stat(file)).size,
    uncompressedBytes: m.uncompressedBytes,
    relupUpFrom: m.relup ? m.relup.upFrom : null,
    relupDownTo: m.relup ? m.relup.downTo : null,
    via,
    bytesFetched,
    requests,
  };
}

/** Streams a 200 answer into the cache directory under a temporary name, hashing it; renames it to
 * `cached` only when complete and its sha256 is the one in the name. */
async function downloadToCache(
  response: NodeJS.ReadableStream & { complete?: boolean },
  cached: string,
  shown: string,
): Promise<{ sha256: string; bytes: number }> {
  await fs.promises.mkdir(path.dirname(cached), { recursive: true });
  const temp = path.join(path.dirname(cached), `.${randomBytes(8).toString("hex")}.part`);
  const hash = createHash("sha256");
  let bytes = 0;
  try {
    const out = fs.createWriteStream(temp, { mode: 0o600 });
    await new Promise<void>((resolve, reject) => {
      response.on("data", (c: Buffer) => {
        hash.update(c);
        bytes += c.length;
      });
      response.on("error", reject);
      response.on("aborted", () => reject(new Error("the connection was cut")));
      out.on("error", reject);
      out.on("finish", () => (response.complete === false ? reject(new Error("the connection was cut")) : resolve()));
      response.pipe(out);
    });
    const sha256 = hash.digest("hex");
    if (cached.endsWith(`${sha256}.zip`)) await fs.promises.rename(temp, cached);
    return { sha256, bytes };
  } catch (e) {
    throw new PackageError({
      path: shown,
      reason: `the download into ${path.dirname(cached)} failed (${messageOf(e)}): the server ignores range requests, so check needs the whole file once`,
      cause: e,
    });
  } finally {
    await fs.promises.rm(temp, { force: true });
  }
}

/** yauzl over the range reader. */
function openReader(reader: yauzl.RandomAccessReader, size: number): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.fromRandomAccessReader(reader, size, ZIP_OPTIONS, (err, zip) =>
      err || !zip ? reject(err ?? new Error("no zip file")) : resolve(zip),
    );
  });
}

/** What a status other than 200/206 means. */
function statusReason(status: number): string {
  if (status === 404 || status === 410)
    return `the server answered ${status}: there is no file at that URL; check packageUrl`;
  if (status === 401 || status === 403)
    return `the server answered ${status}: not allowed; check packageHeaders (e.g. the Authorization token)`;
  if (status === 416) return "the server answered 416 to a range of the file's tail: the file is empty or not a zip";
  return `the server answered ${status} to a range request (expected 206, or 200 with the whole file)`;
}
