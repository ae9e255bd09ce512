// Messages name their host once. A reason written for one host ("10.0.0.7: node is down") is often
// carried into an error or a log line that names the host itself; these two functions are the one
// place that adds the prefix or takes a doubled one off.

/** `text` with `host` in front ("10.0.0.7: <text>"), unless it already starts with that host
 * ("10.0.0.7 runs OTP 24 ..." stays as it is). */
export function prefixHost(host: string, text: string): string {
  return text.startsWith(host) ? text : `${host}: ${text}`;
}

/** `text` without a leading "<host>: ", for a message that names the host elsewhere. Example:
 * stripHostPrefix("10.0.0.7", "10.0.0.7: node is down") = "node is down". */
export function stripHostPrefix(host: string, text: string): string {
  return text.startsWith(`${host}: `) ? text.slice(host.length + 2) : text;
}
