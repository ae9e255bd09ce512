// The pure parts of the node's download: the configs curl and wget read (never argv), what a
// failure means, and the redaction of the URL's query and header values.
import {
  curlConfig,
  curlQuote,
  downloadFailure,
  redact,
  wgetConfig,
  DownloadRequest,
} from "../../../provider/ssh/download";

const REQ: DownloadRequest = {
  url: 'https://packages.example/emqx-4.4.16-otp24.3.4.2-1-ubuntu20.04-amd64.zip?sig=T0KEN"\\x',
  headers: { Authorization: "Bearer s3cr3t-token" },
  remoteDir: "/opt/emqx/releases",
  finalName: "emqx-4.4.16-otp24.3.4.2-1-ubuntu20.04-amd64.zip",
  sha256: "a".repeat(64),
  tool: "curl",
  stallTimeoutMs: 2500,
  timeoutMs: 600_000,
};

test("curlQuote escapes backslashes and double quotes", () => {
  expect(curlQuote('a"b\\c')).toBe('"a\\"b\\\\c"');
});

test("the curl config holds the URL, the headers and the proxy; fails on HTTP errors; no TLS switch", () => {
  const c = curlConfig(
    { ...REQ, proxy: "http://proxy:3128" },
    "/opt/emqx/releases/.emqx-release-upload-0011223344556677.part",
  );
  expect(c).toContain(
    'url = "https://packages.example/emqx-4.4.16-otp24.3.4.2-1-ubuntu20.04-amd64.zip?sig=T0KEN\\"\\\\x"',
  );
  expect(c).toContain('header = "Authorization: Bearer s3cr3t-token"');
  expect(c).toContain('proxy = "http://proxy:3128"');
  expect(c.split("\n")).toEqual(
    expect.arrayContaining(["fail", "location", "max-redirs = 5", "speed-time = 3", 'proto-redir = "=http,https"']),
  );
  expect(c).not.toMatch(/insecure|^k$/m);
});

test("the wget config holds headers, proxy and timeouts, one try", () => {
  const c = wgetConfig({ ...REQ, proxy: "http://proxy:3128" });
  expect(c.split("\n")).toEqual(
    expect.arrayContaining([
      "tries = 1",
      "max_redirect = 5",
      "read_timeout = 3",
      "header = Authorization: Bearer s3cr3t-token",
      "https_proxy = http://proxy:3128",
    ]),
  );
  expect(c).not.toMatch(/check_certificate/);
});

test("redact takes out the full URL and every header value", () => {
  const text = `Downloading ${REQ.url} with Bearer s3cr3t-token`;
  const out = redact(text, REQ);
  expect(out).not.toContain("T0KEN");
  expect(out).not.toContain("s3cr3t");
  expect(out).toContain("https://packages.example/emqx-4.4.16-otp24.3.4.2-1-ubuntu20.04-amd64.zip");
});

const result = (exitCode: number, stderr = "", timedOut = false) => ({
  exitCode,
  signal: null,
  stdout: "",
  stderr,
  timedOut,
});
// Row: [case, tool, result, reason fragment]
const ROWS: [string, "curl" | "wget", ReturnType<typeof result>, string][] = [
  [
    "curl 404",
    "curl",
    result(22, "curl: (22) The requested URL returned error: 404\n"),
    "the server answered 404: there is no file at that URL",
  ],
  ["curl 403", "curl", result(22, "curl: (22) The requested URL returned error: 403\n"), "check packageHeaders"],
  ["curl refused", "curl", result(7, "curl: (7) Failed to connect\n"), "cannot connect to packages.example"],
  ["curl disk full", "curl", result(23, "curl: (23) Failure writing output to destination\n"), "disk full?"],
  ["curl stall", "curl", result(28, "curl: (28) Operation too slow\n"), "no data arrived for 3 s (commandTimeoutMs)"],
  ["curl redirect loop", "curl", result(47, "curl: (47) Maximum (5) redirects followed\n"), "more than 5 redirects"],
  ["curl cut", "curl", result(18, "curl: (18) transfer closed\n"), "the connection was cut"],
  ["curl TLS", "curl", result(60, "curl: (60) SSL certificate problem\n"), "TLS: the node does not trust"],
  ["wget 404", "wget", result(8, "ERROR 404: Not Found.\n"), "the server answered 404"],
  ["wget disk full", "wget", result(3, ""), "disk full?"],
  ["the whole download over its time", "curl", result(0, "", true), "longer than 600 s in all"],
];
test.each(ROWS)("%s", (_case, tool, r, fragment) => {
  expect(downloadFailure({ ...REQ, tool }, r)).toContain(fragment);
});
