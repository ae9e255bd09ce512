// A real HTTP server on loopback that serves package zips to the tests' nodes and to check's range
// reads, with the faults a package server has: range support switched off, a required header,
// a 404, a redirect loop, a connection cut half-way, a stall. It also answers proxy requests
// (absolute-form request lines, as curl and wget send to a proxy), marked `proxied` in the log,
// and opens CONNECT tunnels (as an https URL is asked for through a proxy), logged with `connect`
// and the target, unless `connectStatus` says to refuse them.
// Every answer is logged with the bytes of body sent.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as net from "net";
import * as path from "path";

/** What one path serves. */
export type Route =
  | {
      file: string;
      cutAfterBytes?: number;
      stallAfterBytes?: number;
      /** With stallAfterBytes: called once the first bytes are out; the rest follows when it resolves. */
      resumeWhen?: () => Promise<void>;
    }
  | { redirect: string }
  | { status: number };

/** One answered request. */
export interface ServedRequest {
  path: string;
  range?: string;
  status: number;
  bodyBytes: number;
  proxied: boolean;
  /** A CONNECT: the `host:port` asked for (`path` is the same). */
  connect?: string;
  headers: http.IncomingHttpHeaders;
}

/** A running package server. */
export interface PackageServer {
  /** `http://<address>:<port><pathname>`. */
  url(pathname: string): string;
  route(pathname: string, r: Route): void;
  /** Honour Range headers (206). @default true */
  ranges: boolean;
  /** When set, requests without this header value get 401. */
  requireHeader?: { name: string; value: string };
  /** The answer to CONNECT: 200 opens the tunnel. @default 200 */
  connectStatus: number;
  log: ServedRequest[];
  /** Body bytes sent since the last reset. */
  bytesSent(): number;
  reset(): void;
  stop(): Promise<void>;
}

/** Starts the server on `address` (a free port); HTTPS with `tls` (PEM key and certificate). */
export async function startPackageServer(
  address = "127.0.0.1",
  tls?: { key: string; cert: string },
): Promise<PackageServer> {
  const routes = new Map<string, Route>();
  const sockets = new Set<net.Socket>();
  const state: PackageServer = {
    url: () => "",
    route: (p, r) => void routes.set(p, r),
    ranges: true,
    connectStatus: 200,
    log: [],
    bytesSent: () => state.log.reduce((n, r) => n + r.bodyBytes, 0),
    reset: () => void (state.log.length = 0),
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const handler: http.RequestListener = (req, res) => {
    const proxied = /^https?:\/\//.test(req.url ?? "");
    const pathname = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const entry: ServedRequest = {
      path: pathname,
      range: req.headers.range,
      status: 0,
      bodyBytes: 0,
      proxied,
      headers: req.headers,
    };
    state.log.push(entry);
    const answer = (status: number, headers: http.OutgoingHttpHeaders = {}, body?: Buffer) => {
      entry.status = status;
      res.writeHead(status, headers);
      if (body) entry.bodyBytes += body.length;
      res.end(body);
    };
    const need = state.requireHeader;
    if (need && req.headers[need.name.toLowerCase()] !== need.value)
      return answer(401, {}, Buffer.from("unauthorized\n"));
    const route = routes.get(pathname);
    if (!route) return answer(404, {}, Buffer.from("not found\n"));
    if ("status" in route) return answer(route.status, {}, Buffer.from(`status ${route.status}\n`));
    if ("redirect" in route) return answer(302, { location: route.redirect });
    const data = fs.readFileSync(route.file);
    let start = 0;
    let end = data.length - 1;
    let status = 200;
    const headers: http.OutgoingHttpHeaders = { "content-type": "application/zip" };
    const m = state.ranges ? /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? "") : null;
    if (m) {
      if (m[1] === "") start = Math.max(0, data.length - Number(m[2]));
      else {
        start = Number(m[1]);
        if (m[2] !== "") end = Math.min(end, Number(m[2]));
      }
      if (start > end) return answer(416, { "content-range": `bytes */${data.length}` });
      status = 206;
      headers["content-range"] = `bytes ${start}-${end}/${data.length}`;
    }
    if (state.ranges) headers["accept-ranges"] = "bytes";
    headers["content-length"] = end - start + 1;
    entry.status = status;
    res.writeHead(status, headers);
    const body = data.subarray(start, end + 1);
    const cut = route.cutAfterBytes ?? route.stallAfterBytes;
    if (cut === undefined || cut >= body.length) {
      entry.bodyBytes += body.length;
      res.end(body);
      return;
    }
    // Send the first `cut` bytes, then cut the connection or keep it open sending nothing.
    entry.bodyBytes += cut;
    res.write(body.subarray(0, cut), () => {
      if (route.cutAfterBytes !== undefined) setTimeout(() => req.socket.destroy(), 50);
      else if (route.resumeWhen)
        void route.resumeWhen().then(() => {
          entry.bodyBytes += body.length - cut;
          res.end(body.subarray(cut));
        });
    });
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  server.on("connect", (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    const target = req.url ?? "";
    const entry: ServedRequest = {
      path: target,
      status: state.connectStatus,
      bodyBytes: 0,
      proxied: true,
      connect: target,
      headers: req.headers,
    };
    state.log.push(entry);
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => undefined);
    if (state.connectStatus !== 200) {
      client.end(`HTTP/1.1 ${state.connectStatus} Refused\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    const [host, port] = [target.slice(0, target.lastIndexOf(":")), Number(target.slice(target.lastIndexOf(":") + 1))];
    const upstream = net.connect(port, host.replace(/^\[|\]$/g, ""), () => {
      client.write("HTTP/1.1 200 Connection established\r\n\r\n");
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.on("error", () => client.destroy());
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, address, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  state.url = (pathname) => `${tls ? "https" : "http"}://${address}:${port}${pathname}`;
  return state;
}

/** An sshd_config line and the directory behind it: a PATH of links to every program in /usr/bin,
 * /usr/sbin, /bin and /sbin except `without` (e.g. curl, wget), so a test node lacks them. */
export function pathWithout(dir: string, without: string[]): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const d of ["/usr/local/bin", "/usr/bin", "/usr/sbin", "/bin", "/sbin"]) {
    if (!fs.existsSync(d)) continue;
    for (const f of fs.readdirSync(d)) {
      if (without.includes(f) || fs.existsSync(`${dir}/${f}`)) continue;
      fs.symlinkSync(`${d}/${f}`, `${dir}/${f}`);
    }
  }
  return `SetEnv PATH=${dir}`;
}

/** A self-signed certificate for `address` (CN and IP subjectAltName), written by openssl into
 * `dir` as key.pem and cert.pem: trusted by nobody unless handed over (NODE_EXTRA_CA_CERTS). */
export function selfSignedCert(address: string, dir: string): { key: string; cert: string; certFile: string } {
  const [keyFile, certFile] = [path.join(dir, "key.pem"), path.join(dir, "cert.pem")];
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", `/CN=${address}`].concat([
      "-addext",
      `subjectAltName=IP:${address}`,
      "-keyout",
      keyFile,
      "-out",
      certFile,
    ]),
    { stdio: "pipe" },
  );
  return { key: fs.readFileSync(keyFile, "utf8"), cert: fs.readFileSync(certFile, "utf8"), certFile };
}
