import { prefixHost, stripHostPrefix } from "../../../provider/plan/host-prefix";

// Row: [host, text, prefixHost(host, text)]
const PREFIX_ROWS: [string, string, string][] = [
  ["10.0.0.7", "node is down", "10.0.0.7: node is down"],
  ["10.0.0.7", "10.0.0.7: node is down", "10.0.0.7: node is down"],
  ["10.0.0.7", "10.0.0.7 runs OTP 24", "10.0.0.7 runs OTP 24"],
  ["10.0.0.7", "host 10.0.0.7 is down", "10.0.0.7: host 10.0.0.7 is down"],
  ["emqx-a", "", "emqx-a: "],
];
test.each(PREFIX_ROWS)("prefixHost(%p, %p) = %p", (host, text, out) => {
  expect(prefixHost(host, text)).toBe(out);
});

// Row: [host (or host:port), text, stripHostPrefix(host, text)]
const STRIP_ROWS: [string, string, string][] = [
  ["10.0.0.7", "10.0.0.7: node is down", "node is down"],
  ["10.0.0.7", "node is down", "node is down"],
  ["10.0.0.7", "10.0.0.7 runs OTP 24", "10.0.0.7 runs OTP 24"],
  ["10.0.0.7", "10.0.0.70: node is down", "10.0.0.70: node is down"],
  ["127.0.0.1:2222", "127.0.0.1:2222: connection refused", "connection refused"],
  ["10.0.0.7", "10.0.0.7: 10.0.0.7: twice", "10.0.0.7: twice"],
];
test.each(STRIP_ROWS)("stripHostPrefix(%p, %p) = %p", (host, text, out) => {
  expect(stripHostPrefix(host, text)).toBe(out);
});
