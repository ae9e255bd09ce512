// The node downloads the package itself (`packageUrl`): curl or wget, whichever the host probe
// found, writes it under a temporary name in the target directory; the sha256 is checked on the
// node, then it is renamed into place and stamped like an upload (ssh/remote-file.ts), so a rerun
// downloads nothing. Secrets stay out of argv (visible in `ps`): the URL (a presigned one carries a
// token), the request headers and the proxy go to curl as a config on stdin (`curl --config -`),
// and to wget in a config file that only the user running it can read (mode 0600 in a mktemp -d
// directory, removed on exit). Redirects are followed up to MAX_REDIRECTS; TLS certificates are
// verified (neither tool is ever told otherwise); a download that stalls for `stallTimeoutMs` stops.
import { describeUrl } from "../plan/package-source";
import { CommandResult } from "../runner";
import {
  commitTransfer,
  prepareTransfer,
  remoteFileOps,
  SUDO_COMMANDS,
  temporaryPath,
  TransferSession,
} from "./remote-file";
import { ProgressLogger } from "./types";

/** Redirects followed before a download fails (curl's --max-redirs, wget's --max-redirect). */
export const MAX_REDIRECTS = 5;

/** What to download where. */
export interface DownloadRequest {
  url: string;
  /** Request headers (secrets: never in argv, logs or messages). */
  headers?: Record<string, string>;
  /** Proxy URL for the download. @default the tool's own (http_proxy/https_proxy of the session) */
  proxy?: string;
  remoteDir: string;
  finalName: string;
  sha256: string;
  /** curl or wget (the host probe says which the node has; curl when both). */
  tool: "curl" | "wget";
  /** The download stops when no byte arrives for this long (and a connection attempt after it). */
  stallTimeoutMs: number;
  /** The whole download may take at most this long. */
  timeoutMs: number;
  log?: ProgressLogger;
  runAs?: string;
  sudoPassword?: string;
}

/** What a download did. */
export interface DownloadResult {
  skipped: boolean;
  /** Bytes the node received (curl reports it; 0 when skipped, undefined when the tool does not say). */
  bytesReceived?: number;
  durationMs: number;
}

/** A value in curl's config syntax: double-quoted, `\` and `"` escaped (the rules forbid newlines). */
export function curlQuote(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** The config `curl --config -` reads from stdin: everything secret lives here, not in argv. */
export function curlConfig(
  r: Pick<DownloadRequest, "url" | "headers" | "proxy" | "stallTimeoutMs">,
  output: string,
): string {
  const seconds = Math.max(1, Math.ceil(r.stallTimeoutMs / 1000));
  return [
    `url = ${curlQuote(r.url)}`,
    `output = ${curlQuote(output)}`,
    "fail",
    "silent",
    "show-error",
    "location",
    `max-redirs = ${MAX_REDIRECTS}`,
    // No file://, ftp:// or other protocols, neither asked for nor through a redirect.
    'proto = "=http,https"',
    'proto-redir = "=http,https"',
    `connect-timeout = ${seconds}`,
    // Fewer than 1 byte/s for `seconds` seconds: the server stalled.
    "speed-limit = 1",
    `speed-time = ${seconds}`,
    ...(r.proxy !== undefined ? [`proxy = ${curlQuote(r.proxy)}`] : []),
    ...Object.entries(r.headers ?? {}).map(([k, v]) => `header = ${curlQuote(`${k}: ${v}`)}`),
    'write-out = "%{http_code} %{size_download}\\n"',
    "",
  ].join("\n");
}

/** wgetrc lines (read from a 0600 file): headers, proxy, timeouts. The URL comes first on stdin. */
export function wgetConfig(r: Pick<DownloadRequest, "headers" | "proxy" | "stallTimeoutMs">): string {
  const seconds = Math.max(1, Math.ceil(r.stallTimeoutMs / 1000));
  return [
    "tries = 1",
    `max_redirect = ${MAX_REDIRECTS}`,
    `read_timeout = ${seconds}`,
    `connect_timeout = ${seconds}`,
    ...(r.proxy !== undefined ? ["use_proxy = on", `http_proxy = ${r.proxy}`, `https_proxy = ${r.proxy}`] : []),
    ...Object.entries(r.headers ?? {}).map(([k, v]) => `header = ${k}: ${v}`),
    "",
  ].join("\n");
}

/** wget through `sh -c`: stdin is the URL line, then the wgetrc; both land in files of a mktemp -d
 * directory (umask 077) that is removed on exit. Run as `sh -c <script> sh <output>`. */
export const WGET_SCRIPT = [
  "umask 077",
  "d=$(mktemp -d) || exit 125",
  "trap 'rm -rf \"$d\"' EXIT",
  "IFS= read -r url || exit 125",
  'printf "%s\\n" "$url" > "$d/url"',
  'cat > "$d/wgetrc"',
  'wget --config="$d/wgetrc" --no-verbose --input-file="$d/url" --output-document="$1"',
].join("\n");

/** Downloads `url` on the node into `<remoteDir>/<finalName>`, verified by sha256; skips it when
 * that file is already there with the same sha256 (a stamp of an upload or download counts). On
 * failure only its own temporary file is removed. */
export async function downloadVerified(session: TransferSession, req: DownloadRequest): Promise<DownloadResult> {
  const started = Date.now();
  const log = req.log ?? (() => undefined);
  const host = session.host;
  const shown = describeUrl(req.url);
  const remote = remoteFileOps(session, req.runAs, req.sudoPassword, [
    ...SUDO_COMMANDS,
    req.tool === "curl" ? "/usr/bin/curl" : "/bin/sh",
  ]);
  const target = await prepareTransfer(remote, host, req, `download of ${shown}`, log);
  if (target.skipped) {
    log(
      `${req.finalName} is already on ${host} in ${req.remoteDir} with sha256 ${req.sha256.toLowerCase()}; download skipped`,
    );
    return { skipped: true, bytesReceived: 0, durationMs: Date.now() - started };
  }
  const tempPath = temporaryPath(req.remoteDir);
  log(`download ${shown} on ${host} with ${req.tool}`);
  let bytesReceived: number | undefined;
  try {
    const r =
      req.tool === "curl"
        ? await remote.run(["curl", "--config", "-"], true, {
            stdin: curlConfig(req, tempPath),
            timeoutMs: req.timeoutMs,
          })
        : await remote.run(["sh", "-c", WGET_SCRIPT, "sh", tempPath], true, {
            stdin: `${req.url}\n${wgetConfig(req)}`,
            timeoutMs: req.timeoutMs,
          });
    if (r.exitCode !== 0) {
      // The error carries the tool's output: without the URL's query or any header value.
      const clean = { ...r, stdout: redact(r.stdout, req), stderr: redact(r.stderr, req) };
      remote.fail(
        r.argv,
        clean,
        `download ${shown}`,
        `${downloadFailure(req, clean)}; nothing was left under the package's name`,
      );
    }
    const written = /^\d{3} (\d+)$/m.exec(r.stdout);
    bytesReceived = written ? Number(written[1]) : undefined;
    await commitTransfer(
      remote,
      tempPath,
      target,
      (got) =>
        `the download of ${shown} on ${host} has sha256 ${got}, not the pinned ${target.want}; it was removed and nothing else was changed. ` +
        `The server holds another file than the one pinned: check packageSha256 against the package's .sha256 file, and the URL`,
    );
  } catch (e) {
    await remote.bestEffort(["rm", "-f", "--", tempPath], true);
    throw e;
  }
  const durationMs = Date.now() - started;
  const size = bytesReceived !== undefined ? `${(bytesReceived / (1024 * 1024)).toFixed(1)} MiB in ` : "";
  log(
    `downloaded ${req.finalName} on ${host} into ${req.remoteDir} (${size}${(durationMs / 1000).toFixed(1)} s), sha256 verified`,
  );
  return { skipped: false, bytesReceived, durationMs };
}

/** Why a download failed, from the tool's exit code and (redacted) stderr, with what to do. */
export function downloadFailure(req: DownloadRequest, r: CommandResult): string {
  const seconds = Math.ceil(req.stallTimeoutMs / 1000);
  const text = r.stderr;
  const status = /error: (\d{3})/.exec(text)?.[1] ?? /ERROR (\d{3})/.exec(text)?.[1];
  const host = (() => {
    try {
      return new URL(req.url).host;
    } catch {
      return describeUrl(req.url);
    }
  })();
  let why: string;
  if (r.timedOut)
    why = `it took longer than ${Math.round(req.timeoutMs / 1000)} s in all and was stopped; serve the package nearer to the node or raise upgradeTimeoutMs`;
  else if (status === "404" || status === "410")
    why = `the server answered ${status}: there is no file at that URL; check packageUrl`;
  else if (status === "401" || status === "403")
    why = `the server answered ${status}: the request was not allowed; check packageHeaders (e.g. the Authorization token) and its permissions`;
  else if (status !== undefined) why = `the server answered ${status}`;
  else if (req.tool === "curl") why = curlReason(r.exitCode, seconds, host, req.remoteDir);
  else why = wgetReason(r.exitCode, seconds, host, req.remoteDir);
  return why;
}

function curlReason(code: number | null, seconds: number, host: string, dir: string): string {
  switch (code) {
    case 5:
    case 6:
      return `the node cannot resolve ${host} (or the proxy): check the URL, the node's DNS, or packageProxy`;
    case 7:
      return `the node cannot connect to ${host}: is the server up and reachable from the node (firewall, packageProxy)?`;
    case 23:
      return `the node could not write the file into ${dir} (disk full? check \`df -h ${dir}\`)`;
    case 28:
      return `no data arrived for ${seconds} s (commandTimeoutMs): the server stalled or is too slow; check the server, or raise commandTimeoutMs`;
    case 47:
      return `more than ${MAX_REDIRECTS} redirects (a redirect loop?): check packageUrl and the server's redirects`;
    case 18:
    case 56:
    case 92:
      return "the connection was cut before the whole file arrived: check the server and the network, then rerun";
    case 35:
    case 60:
    case 77:
      return `TLS: the node does not trust ${host}'s certificate (or the handshake failed): install the CA into the node's trust store; certificate checks are never turned off`;
    default:
      return `curl exited with ${code}`;
  }
}

function wgetReason(code: number | null, seconds: number, host: string, dir: string): string {
  switch (code) {
    case 3:
      return `the node could not write the file into ${dir} (disk full? check \`df -h ${dir}\`)`;
    case 4:
      return `network failure talking to ${host} (refused, cut, or no data for ${seconds} s = commandTimeoutMs): check the server and the network, then rerun`;
    case 5:
      return `TLS: the node does not trust ${host}'s certificate: install the CA into the node's trust store; certificate checks are never turned off`;
    case 8:
      return "the server answered with an error";
    default:
      return `wget exited with ${code}`;
  }
}

/** The text with the full URL (and its query) and every header value replaced. */
export function redact(text: string, req: Pick<DownloadRequest, "url" | "headers">): string {
  let out = text.split(req.url).join(describeUrl(req.url));
  for (const v of Object.values(req.headers ?? {})) if (v.length >= 4) out = out.split(v).join("***");
  return out;
}
