// HTTP GET for the runner's plan-time look at a remote package (Node's own http/https: TLS
// verified, redirects followed up to MAX_REDIRECTS, the request headers dropped when a redirect
// leaves the origin, as curl does), and a yauzl RandomAccessReader that reads a remote zip by
// HTTP range requests: yauzl asks for the end of central directory, the central directory and the
// two entries it needs, each read ahead by READ_AHEAD_BYTES and kept, so a package of tens of MB is
// checked with a handful of requests and a fraction of its bytes.
// The runner's requests go through the proxy its environment names, as curl's would
// (https_proxy / http_proxy, no_proxy; see runnerProxy): `packageProxy` is the nodes' proxy, and
// the runner usually sits on another network.
// `import x = require()` keeps plain requires (see read-package.ts): Pulumi serializes them as
// module references.
import http = require("http");
import https = require("https");
import net = require("net");
import tls = require("tls");
import yauzl = require("yauzl");
import { PassThrough } from "stream";
import { PackageError, messageOf } from "../errors";
import { describeUrl } from "../plan/package-source";

/** Redirects followed (the same limit as the node's download, ssh/download.ts). */
export const MAX_REDIRECTS = 5;
/** The least a range request asks for: yauzl reads the central directory a record at a time. */
export const READ_AHEAD_BYTES = 64 * 1024;

/** How to reach the URL. */
export interface HttpOptions {
  /** Request headers (secrets: never in messages). */
  headers?: Record<string, string>;
  /** A request fails when no byte arrives for this long. */
  idleTimeoutMs: number;
}

/** A response whose headers arrived, and the URL that answered (after redirects). */
export interface HttpAnswer {
  response: http.IncomingMessage;
  url: string;
}

/** GETs `url` with `extra` headers (e.g. Range), following redirects; resolves once the final
 * response's headers arrive (any status). Fails with a PackageError naming the URL without its
 * query string. */
export async function httpGet(url: string, opts: HttpOptions, extra: Record<string, string> = {}): Promise<HttpAnswer> {
  const shown = describeUrl(url);
  const origin = new URL(url).origin;
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const sameOrigin = new URL(current).origin === origin;
    const response = await request(
      current,
      { ...(sameOrigin ? opts.headers : {}), ...extra },
      opts.idleTimeoutMs,
      shown,
    );
    const location = response.headers.location;
    if ([301, 302, 303, 307, 308].includes(response.statusCode ?? 0) && location) {
      response.resume();
      current = new URL(location, current).toString();
      const proto = new URL(current).protocol;
      if (proto !== "http:" && proto !== "https:")
        throw new PackageError({
          path: shown,
          reason: `redirects to a ${proto} URL; only http and https are followed`,
        });
      continue;
    }
    return { response, url: current };
  }
  throw new PackageError({
    path: shown,
    reason: `more than ${MAX_REDIRECTS} redirects (a redirect loop?): check packageUrl and the server's redirects`,
  });
}

/** The proxy the runner's request for `url` goes through, from the environment as curl reads it:
 * `https_proxy`/`HTTPS_PROXY` for https URLs, `http_proxy` (lower case only, as curl) for http ones,
 * none when `no_proxy`/`NO_PROXY` names the host (`*`, the host itself, or a domain it ends in,
 * with or without a leading dot; an entry with a port matches that port only). */
export function runnerProxy(url: URL, env: NodeJS.ProcessEnv = process.env): URL | undefined {
  const raw = url.protocol === "https:" ? (env.https_proxy ?? env.HTTPS_PROXY) : env.http_proxy;
  if (!raw) return undefined;
  const noProxy = (env.no_proxy ?? env.NO_PROXY ?? "")
    .split(",")
    .map((e) => e.trim().toLowerCase())
    .filter(Boolean);
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  for (const entry of noProxy) {
    if (entry === "*") return undefined;
    const m = /^(.*?)(?::(\d+))?$/.exec(entry.replace(/^\[(.*)\](:\d+)?$/, "$1$2")) as RegExpExecArray;
    const name = m[1].replace(/^\*?\./, "");
    if (m[2] !== undefined && m[2] !== port) continue;
    if (host === name || host.endsWith(`.${name}`)) return undefined;
  }
  try {
    const proxy = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`);
    if (proxy.protocol !== "http:" && proxy.protocol !== "https:") throw new Error(proxy.protocol);
    return proxy;
  } catch {
    throw new PackageError({
      path: describeUrl(url.toString()),
      reason: `the runner's ${url.protocol === "https:" ? "https_proxy" : "http_proxy"} is not an http:// or https:// proxy URL: fix it, or name the package server in no_proxy`,
    });
  }
}

/** The proxy as messages name it: scheme, host and port (never its user name or password). */
function describeProxy(proxy: URL): string {
  return `${proxy.protocol}//${proxy.host}`;
}

/** Proxy-Authorization for a proxy URL with a user name (Basic, as curl sends it). */
function proxyAuthorization(proxy: URL): Record<string, string> {
  if (!proxy.username) return {};
  const user = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return { "proxy-authorization": `Basic ${Buffer.from(user).toString("base64")}` };
}

/** One GET, no redirects followed; through the runner's proxy when its environment names one
 * (an http URL as an absolute-form request to the proxy, an https URL in a CONNECT tunnel, with
 * TLS verified end to end against the package server's name). */
function request(
  url: string,
  headers: Record<string, string>,
  idleTimeoutMs: number,
  shown: string,
): Promise<http.IncomingMessage> {
  const u = new URL(url);
  const proxy = runnerProxy(u);
  const all = { "user-agent": "pulumi-emqx-release", ...headers };
  return new Promise((resolve, reject) => {
    const fail = (e: unknown) => {
      const reason = proxy
        ? `through the runner's proxy ${describeProxy(proxy)}: ${networkReason(e, proxy.host, u.host)}`
        : networkReason(e, u.host);
      reject(new PackageError({ path: shown, reason, cause: e }));
    };
    const timed = (req: http.ClientRequest) => {
      req.setTimeout(idleTimeoutMs, () =>
        req.destroy(new Error(`no answer for ${Math.round(idleTimeoutMs / 1000)} s (commandTimeoutMs)`)),
      );
      req.on("error", fail);
    };
    if (!proxy) {
      timed((u.protocol === "https:" ? https : http).get(u, { headers: all }, resolve));
      return;
    }
    const viaProxy = proxy.protocol === "https:" ? https : http;
    if (u.protocol === "http:") {
      // Absolute form: the proxy fetches the URL.
      timed(
        viaProxy.get(
          {
            host: proxy.hostname,
            port: proxy.port || (proxy.protocol === "https:" ? 443 : 80),
            path: u.toString(),
            headers: { ...all, host: u.host, ...proxyAuthorization(proxy) },
          },
          resolve,
        ),
      );
    } else {
      // The authority CONNECT asks for: host:port, an IPv6 address in brackets.
      const target = u.port ? u.host : `${u.host}:443`;
      const connect = viaProxy.request({
        host: proxy.hostname,
        port: proxy.port || (proxy.protocol === "https:" ? 443 : 80),
        method: "CONNECT",
        path: target,
        headers: { host: target, ...proxyAuthorization(proxy) },
      });
      timed(connect);
      connect.on("connect", (answer: http.IncomingMessage, socket: net.Socket) => {
        if (answer.statusCode !== 200) {
          socket.destroy();
          fail(proxyRefusal(answer.statusCode ?? 0));
          return;
        }
        const servername = net.isIP(u.hostname) ? undefined : u.hostname;
        timed(
          https.get(
            u,
            { headers: all, agent: false, createConnection: () => tls.connect({ socket, servername }) },
            (res) => {
              // One request per tunnel: closing it once the answer is read leaves no open socket.
              res.on("close", () => socket.destroy());
              resolve(res);
            },
          ),
        );
      });
      connect.end();
    }
  });
}

/** A proxy's answer other than 200 to CONNECT, as an error networkReason recognizes (a plain
 * Error with a field: a class of our own would make Pulumi serialize it into each resource). */
function proxyRefusal(status: number): Error {
  return Object.assign(new Error(`the proxy answered ${status} to CONNECT`), { proxyStatus: status });
}

/** What a failed request means, and what to do. `host` is what the runner connected to (the
 * proxy, when there is one), `target` the package server behind it. */
function networkReason(e: unknown, host: string, target = host): string {
  const code = (e as NodeJS.ErrnoException).code ?? "";
  const proxyStatus = (e as { proxyStatus?: number }).proxyStatus;
  if (proxyStatus !== undefined)
    return proxyStatus === 407
      ? `the proxy answered 407: it wants credentials; put them in the runner's https_proxy (http://user:password@proxy:port)`
      : `the proxy answered ${proxyStatus} to CONNECT ${target}: check that it allows the package server, or name the server in no_proxy`;
  if (code === "ECONNREFUSED") return `cannot connect to ${host} (connection refused): is the server up?`;
  if (code === "ENOTFOUND" || code === "EAI_AGAIN")
    return host === target
      ? `cannot resolve ${host}: check packageUrl`
      : `cannot resolve ${host}: check the runner's proxy variables`;
  if (/CERT|SSL|TLS|SELF_SIGNED/.test(code))
    return `TLS: ${target}'s certificate is not trusted (${code}); certificate checks are never turned off: use a certificate the runner trusts (NODE_EXTRA_CA_CERTS)`;
  return `the request to ${host} failed (${messageOf(e)})`;
}

/** The whole body, failing past `maxBytes` or when the connection is cut. */
export function readBody(response: http.IncomingMessage, maxBytes: number, shown: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    response.on("data", (c: Buffer) => {
      total += c.length;
      if (total > maxBytes) {
        response.destroy();
        reject(new PackageError({ path: shown, reason: `the server sent more than the ${maxBytes} bytes asked for` }));
      } else chunks.push(c);
    });
    response.on("error", (e) =>
      reject(new PackageError({ path: shown, reason: `the connection was cut (${messageOf(e)})`, cause: e })),
    );
    response.on("aborted", () => reject(new PackageError({ path: shown, reason: "the connection was cut" })));
    response.on("end", () => {
      if (!response.complete) reject(new PackageError({ path: shown, reason: "the connection was cut" }));
      else resolve(Buffer.concat(chunks));
    });
  });
}

/** `bytes <first>-<last>/<total>` of a 206 answer; undefined when absent or malformed. */
export function parseContentRange(
  value: string | undefined,
): { first: number; last: number; total: number } | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec((value ?? "").trim());
  if (!m) return undefined;
  const [first, last, total] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return first <= last && last < total ? { first, last, total } : undefined;
}

/** A remote zip read by range requests: what it fetched is kept, and counted in `stats`. */
export interface RangeReader {
  reader: yauzl.RandomAccessReader;
  /** Bytes received and requests made, the first one (the tail) included. */
  stats: { bytesFetched: number; requests: number };
}

/** A yauzl reader of the zip at `url` (`size` bytes), starting with the bytes `first` already read.
 * Built as an instance with its method set, not a subclass: Pulumi's closure serializer cannot copy a
 * class that extends one from a required module (yauzl's RandomAccessReader). */
export function createRangeReader(
  url: string,
  size: number,
  opts: HttpOptions,
  first: { start: number; data: Buffer },
): RangeReader {
  const segments = [first];
  const stats = { bytesFetched: first.data.length, requests: 1 };
  const shown = describeUrl(url);
  /** Bytes [start, end) from what was fetched, else fetched now with read-ahead. */
  const fetchRange = async (start: number, end: number): Promise<Buffer> => {
    const hit = segments.find((s) => s.start <= start && s.start + s.data.length >= end);
    if (hit) return hit.data.subarray(start - hit.start, end - hit.start);
    const last = Math.min(size, Math.max(end, start + READ_AHEAD_BYTES)) - 1;
    const { response } = await httpGet(url, opts, { range: `bytes=${start}-${last}` });
    const range = parseContentRange(response.headers["content-range"]);
    if (response.statusCode !== 206 || !range || range.first !== start || range.total !== size) {
      response.resume();
      throw new PackageError({
        path: shown,
        reason: `the server answered a range request with ${response.statusCode}${range ? ` (${response.headers["content-range"]})` : ""}, not 206 with bytes ${start}-${last}/${size}: the file changed or the server is inconsistent; rerun`,
      });
    }
    const data = await readBody(response, last - start + 1, shown);
    stats.requests++;
    stats.bytesFetched += data.length;
    segments.push({ start, data });
    if (data.length < end - start) throw new PackageError({ path: shown, reason: "the server sent a short range" });
    return data.subarray(0, end - start);
  };
  // @types/yauzl declares the class abstract; yauzl's own is a plain constructor.
  const reader = new (yauzl.RandomAccessReader as unknown as new () => yauzl.RandomAccessReader)();
  reader._readStreamForRange = (start: number, end: number) => {
    const out = new PassThrough();
    fetchRange(start, end).then(
      (data) => out.end(data),
      (e) => out.destroy(e as Error),
    );
    return out as never;
  };
  return { reader, stats };
}
