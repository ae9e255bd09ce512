// Where the package comes from: a local file the runner uploads (`packagePath`), or a URL each node
// downloads itself (`packageUrl` with a pinned `packageSha256`, optional secret `packageHeaders`
// and `packageProxy`). Shape rules, reported as {property, reason}; header values are secrets and
// are never echoed; URLs are shown without their query string (a presigned URL's token).
import { parsePackageName } from "./package-name";
import type { Refusal } from "./upgrade-plan";
import { isUnknown } from "./unknown-value";

const known = (v: unknown) => v !== undefined && !isUnknown(v);

/** Longest packagePath looked at (PATH_MAX on Linux). */
const MAX_PACKAGE_PATH_LENGTH = 4096;
const MAX_URL_LENGTH = 4096;
const MAX_HEADERS = 32;
const MAX_HEADER_VALUE_LENGTH = 8192;
// RFC 9110 token characters.
const HEADER_NAME_RE = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;
// Headers curl and wget set themselves (and that would break a range or redirect if overridden).
const RESERVED_HEADERS = ["host", "range", "content-length", "transfer-encoding", "connection"];

/** The package file name a source names: the basename of packagePath, or the last segment of the
 * URL's path (percent-decoded); undefined when it cannot be told. */
export function packageFileName(news: Record<string, unknown>): string | undefined {
  if (typeof news.packageUrl === "string" && known(news.packageUrl)) {
    const u = parseHttpUrl(news.packageUrl);
    return typeof u === "string" ? undefined : u.fileName;
  }
  if (typeof news.packagePath === "string" && known(news.packagePath))
    return news.packagePath.split("/").pop() as string;
  return undefined;
}

/** The property that names the package: `packageUrl` when given, else `packagePath`. */
export function packageProperty(news: Record<string, unknown>): "packageUrl" | "packagePath" {
  return news.packageUrl !== undefined ? "packageUrl" : "packagePath";
}

/** A URL for messages and logs: scheme, host, port and path; no user info, query or fragment.
 * `https://u:p@repo.example/emqx-4.4.16-....zip?X-Amz-Signature=...` ->
 * `https://repo.example/emqx-4.4.16-....zip`. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return "(an unparsable URL)";
  }
}

/** An http(s) URL, parsed, with the package file name its path ends in; a reason when it is not one. */
export function parseHttpUrl(url: string): { url: URL; fileName: string } | string {
  if (url.length > MAX_URL_LENGTH) return `is ${url.length} characters long, over ${MAX_URL_LENGTH}`;
  if (/[\0\r\n\s]/.test(url)) return "must not contain spaces, newlines or NUL (percent-encode them)";
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `is not a URL: give an absolute http:// or https:// URL, e.g. https://packages.example/emqx-4.4.16-otp24.3.4.2-1-ubuntu20.04-amd64.zip`;
  }
  if (u.protocol !== "https:" && u.protocol !== "http:")
    return `must be an http:// or https:// URL, got a ${u.protocol} URL`;
  if (u.username || u.password)
    return `${describeUrl(url)} carries a user name or password: put credentials in packageHeaders (a secret, e.g. { Authorization: "Bearer ..." }), never in the URL`;
  let fileName: string;
  try {
    fileName = decodeURIComponent(u.pathname.split("/").pop() ?? "");
  } catch {
    return `the last segment of ${describeUrl(url)} is not valid percent-encoding`;
  }
  return { url: u, fileName };
}

/** Rules for packagePath / packageUrl / packageSha256 / packageHeaders / packageProxy, and the
 * package name against version and edition. */
export function checkPackageSource(news: Record<string, unknown>): Refusal[] {
  const out: Refusal[] = [];
  const add = (property: string, reason: string) => out.push({ property, reason });
  const { packagePath, packageUrl } = news;
  if (packagePath !== undefined && packageUrl !== undefined) {
    add(
      "packageUrl",
      "give either packagePath (a local zip the runner uploads to every node) or packageUrl (each node downloads it), not both",
    );
    return out;
  }
  if (packagePath === undefined && packageUrl === undefined) {
    add(
      "packagePath",
      "is required (or packageUrl): the local path of the EMQX package zip, e.g. ./emqx-4.4.16-otp24.3.4.2-1-ubuntu20.04-amd64.zip",
    );
    return out;
  }
  let base: string | undefined;
  if (known(packagePath)) {
    if (typeof packagePath === "string" && packagePath.length > MAX_PACKAGE_PATH_LENGTH) {
      add(
        "packagePath",
        `is ${packagePath.length} characters long; a file path has at most ${MAX_PACKAGE_PATH_LENGTH}: give the package zip's path, e.g. ./emqx-4.4.16-otp24.3.4.2-1-ubuntu20.04-amd64.zip`,
      );
    } else if (typeof packagePath !== "string" || packagePath.length === 0 || /[\0\n\r]/.test(packagePath)) {
      add("packagePath", "must be a file path without NUL or newline characters");
    } else base = packagePath.split("/").pop() as string;
  }
  if (known(packageUrl)) {
    const u = typeof packageUrl === "string" ? parseHttpUrl(packageUrl) : "must be a string";
    if (typeof u === "string") add("packageUrl", u);
    else base = u.fileName;
    if (news.packageSha256 === undefined)
      add(
        "packageSha256",
        "is required with packageUrl: each node checks the download against it (the runner never downloads the package to hash it); take it from the package's .sha256 file",
      );
  }
  for (const k of ["packageHeaders", "packageProxy"])
    if (news[k] !== undefined && packageUrl === undefined)
      add(k, "applies to packageUrl only; packagePath is uploaded");
  out.push(...checkHeaders(news.packageHeaders), ...checkProxy(news.packageProxy));
  if (base !== undefined) out.push(...checkName(base, packageProperty(news), news.version, news.edition));
  return out;
}

/** The package name against version and edition. */
function checkName(base: string, property: string, version: unknown, edition: unknown): Refusal[] {
  const name = parsePackageName(base);
  if (typeof name === "string") return [{ property, reason: name }];
  const out: Refusal[] = [];
  if (typeof version === "string" && known(version) && name.version.raw !== version) {
    out.push({
      property,
      reason: `${base} is the package of EMQX ${name.version.raw}, but version is "${version}": point ${property} at the ${version} package or change version`,
    });
  }
  if ((edition === "ce" || edition === "ee") && name.edition !== edition) {
    out.push({
      property: "edition",
      reason: `is "${edition}" but ${base} is ${name.edition === "ee" ? "an Enterprise (emqx-ee-)" : "an open-source (emqx-)"} package`,
    });
  }
  return out;
}

/** packageHeaders: { Name: "value" }; values are secrets, so a reason names the header, never its value. */
function checkHeaders(h: unknown): Refusal[] {
  if (h === undefined || (isUnknown(h) && typeof h !== "object")) return [];
  const property = "packageHeaders";
  if (!h || typeof h !== "object" || Array.isArray(h))
    return [{ property, reason: 'must be an object of header names to values, e.g. { Authorization: "Bearer ..." }' }];
  const entries = Object.entries(h as Record<string, unknown>);
  if (entries.length > MAX_HEADERS) return [{ property, reason: `has ${entries.length} headers, over ${MAX_HEADERS}` }];
  const out: Refusal[] = [];
  for (const [name, value] of entries) {
    if (!HEADER_NAME_RE.test(name))
      out.push({ property, reason: `${JSON.stringify(name.slice(0, 64))} is not an HTTP header name` });
    else if (RESERVED_HEADERS.includes(name.toLowerCase()))
      out.push({ property, reason: `${name} is set by the download itself and cannot be given` });
    else if (isUnknown(value)) continue;
    else if (typeof value !== "string" || value.length > MAX_HEADER_VALUE_LENGTH || /[\0\r\n]/.test(value))
      out.push({
        property: `${property}.${name}`,
        reason: `must be a string of at most ${MAX_HEADER_VALUE_LENGTH} characters without newlines or NUL (the value is not shown: it is a secret)`,
      });
  }
  return out;
}

/** packageProxy: an http(s) proxy URL such as http://proxy.internal:3128. */
function checkProxy(p: unknown): Refusal[] {
  if (!known(p)) return [];
  const property = "packageProxy";
  if (typeof p !== "string" || /[\0\r\n\s"\\]/.test(p))
    return [{ property, reason: "must be a proxy URL such as http://proxy.internal:3128" }];
  try {
    const u = new URL(p);
    if (u.protocol !== "http:" && u.protocol !== "https:")
      return [{ property, reason: `must be an http:// or https:// proxy URL, got a ${u.protocol} URL` }];
    if (u.username || u.password)
      return [{ property, reason: "must not carry a user name or password (the proxy URL is not a secret)" }];
  } catch {
    return [{ property, reason: "must be a proxy URL such as http://proxy.internal:3128" }];
  }
  return [];
}
