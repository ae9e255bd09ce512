// The proxy the runner's own requests (check's range reads) go through, read from its environment
// as curl reads it.
import { runnerProxy } from "../../../provider/package/http-range";

const HTTPS = new URL("https://packages.internal/emqx/emqx-4.4.16-otp24.3.4.2-1-debian12-amd64.zip");
const HTTP = new URL("http://packages.internal:8080/emqx.zip");
const at = (u: URL, env: NodeJS.ProcessEnv) => runnerProxy(u, env)?.toString();

test("https URLs use https_proxy, else HTTPS_PROXY; http URLs use http_proxy only (curl ignores HTTP_PROXY)", () => {
  expect(at(HTTPS, { https_proxy: "http://proxy.internal:3128" })).toBe("http://proxy.internal:3128/");
  expect(at(HTTPS, { HTTPS_PROXY: "http://upper:3128" })).toBe("http://upper:3128/");
  expect(at(HTTPS, { https_proxy: "http://lower:1", HTTPS_PROXY: "http://upper:2" })).toBe("http://lower:1/");
  expect(at(HTTPS, { http_proxy: "http://proxy.internal:3128" })).toBeUndefined();
  expect(at(HTTP, { http_proxy: "http://proxy.internal:3128" })).toBe("http://proxy.internal:3128/");
  expect(at(HTTP, { HTTP_PROXY: "http://proxy.internal:3128" })).toBeUndefined();
  expect(at(HTTP, {})).toBeUndefined();
});

test("a proxy without a scheme is http://, as curl reads it; another scheme is an error naming the variable", () => {
  expect(at(HTTPS, { https_proxy: "proxy.internal:3128" })).toBe("http://proxy.internal:3128/");
  expect(() => runnerProxy(HTTPS, { https_proxy: "socks5://proxy.internal:1080" })).toThrow(
    /the runner's https_proxy is not an http:\/\/ or https:\/\/ proxy URL/,
  );
});

test("no_proxy: *, the host, a domain it ends in (leading dot or not), and a port that must match", () => {
  const p = { https_proxy: "http://proxy:3128", http_proxy: "http://proxy:3128" };
  expect(at(HTTPS, { ...p, no_proxy: "*" })).toBeUndefined();
  expect(at(HTTPS, { ...p, no_proxy: "other.example, packages.internal" })).toBeUndefined();
  expect(at(HTTPS, { ...p, NO_PROXY: ".internal" })).toBeUndefined();
  expect(at(HTTPS, { ...p, no_proxy: "internal" })).toBeUndefined();
  expect(at(HTTPS, { ...p, no_proxy: "ackages.internal" })).toBe("http://proxy:3128/");
  expect(at(HTTP, { ...p, no_proxy: "packages.internal:8080" })).toBeUndefined();
  expect(at(HTTP, { ...p, no_proxy: "packages.internal:9090" })).toBe("http://proxy:3128/");
  expect(at(HTTPS, { ...p, no_proxy: "packages.internal:443" })).toBeUndefined();
  expect(at(new URL("http://127.0.0.5:81/x.zip"), { ...p, no_proxy: "127.0.0.5" })).toBeUndefined();
  expect(at(new URL("https://[::1]:8443/x.zip"), { ...p, no_proxy: "[::1]:8443" })).toBeUndefined();
});
