// Shape rules for EmqxRelease inputs, reported as {property, reason} the way `check` returns them.
// Values unknown during preview are skipped; secret values are never echoed in a reason.
import { parseEmqxVersion, checkVersionFamily, compareVersions } from "./version";
import { CONNECTION_SECRET_FIELDS } from "./connection";
import { parsePackageName } from "./package-name";
import { checkClientImpactInputs } from "./check-client-impact";
import type { Refusal } from "./upgrade-plan";
import { isUnknown } from "./unknown-value";
import { checkPackageSource, packageFileName, packageProperty } from "./package-source";

export { UNKNOWN_VALUE, isUnknown } from "./unknown-value";

// Host names, IPv4 and IPv6 literals: letters, digits, dots, colons, hyphens, underscores; not
// starting with a hyphen, which no host name does and which reads as an option (`-oProxyCommand`).
const HOST_RE = /^[A-Za-z0-9_.:][A-Za-z0-9_.:-]{0,252}$/;
// POSIX portable user names, not starting with a hyphen (they end up in argv and in sudo -u).
const USER_RE = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
// A command name or absolute path without shell metacharacters or whitespace, not starting with a
// hyphen (a program name never does; `-s` would read as an option to whatever runs it).
const PATH_RE = /^[A-Za-z0-9_./+][A-Za-z0-9_./+-]{0,254}$/;
const SHA256_RE = /^[0-9a-fA-F]{64}$/;
const FINGERPRINT_RE = /^SHA256:[A-Za-z0-9+/]{43}=?$/;
const KEY_LINE_RE =
  /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|ssh-dss|sk-[a-z0-9@.-]+) [A-Za-z0-9+/]{20,8192}={0,2}( [^\n]{0,200})?$/;

/** Collects refusals; every rule goes through `rule` so unknown values are skipped uniformly. */
class Refusals {
  readonly list: Refusal[] = [];
  add(property: string, reason: string): void {
    this.list.push({ property, reason });
  }
}

function checkInteger(r: Refusals, property: string, v: unknown, min: number, max: number, unit: string): void {
  if (v === undefined || isUnknown(v)) return;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    r.add(property, `must be a whole number of ${unit} from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
}

function checkBoolean(r: Refusals, property: string, v: unknown): void {
  if (v === undefined || isUnknown(v)) return;
  if (typeof v !== "boolean") r.add(property, `must be true or false, got ${JSON.stringify(v)}`);
}

function checkEndpoint(r: Refusals, prefix: string, c: unknown, allowProxy: boolean): void {
  if (isUnknown(c) && typeof c !== "object") return;
  if (!c || typeof c !== "object" || Array.isArray(c)) {
    r.add(prefix, 'must be an object such as { host: "10.0.0.7", privateKey: ... }');
    return;
  }
  const o = c as Record<string, unknown>;
  if (!isUnknown(o.host)) {
    if (typeof o.host !== "string" || !HOST_RE.test(o.host)) {
      r.add(
        `${prefix}.host`,
        `must be a host name or IP address (letters, digits, . : - _), got ${JSON.stringify(String(o.host).slice(0, 80))}`,
      );
    }
  }
  checkInteger(r, `${prefix}.port`, o.port, 1, 65535, "port");
  if (o.user !== undefined && !isUnknown(o.user) && (typeof o.user !== "string" || !USER_RE.test(o.user))) {
    r.add(
      `${prefix}.user`,
      `must be a user name such as "root" or "ubuntu" (letters, digits, . _ -), got ${JSON.stringify(String(o.user).slice(0, 40))}`,
    );
  }
  // Secret-bearing fields: say what is wrong, never what the value is.
  for (const k of CONNECTION_SECRET_FIELDS) {
    const v = o[k];
    if (v !== undefined && !isUnknown(v) && typeof v !== "string") r.add(prefix, `${k} must be a string`);
  }
  if (typeof o.privateKey === "string" && !isUnknown(o.privateKey) && !/PRIVATE KEY-----/.test(o.privateKey)) {
    r.add(
      prefix,
      'privateKey is not a PEM or OpenSSH private key (no "-----BEGIN ... PRIVATE KEY-----" line): pass the key\'s text, not its path (use fs.readFileSync)',
    );
  }
  if (
    o.agentSocketPath !== undefined &&
    !isUnknown(o.agentSocketPath) &&
    (typeof o.agentSocketPath !== "string" || !o.agentSocketPath.startsWith("/"))
  ) {
    r.add(
      `${prefix}.agentSocketPath`,
      "must be the absolute path of an ssh-agent socket, e.g. process.env.SSH_AUTH_SOCK",
    );
  }
  if (o.hostKey !== undefined && !isUnknown(o.hostKey)) {
    const hk = typeof o.hostKey === "string" ? o.hostKey.trim() : "";
    if (!FINGERPRINT_RE.test(hk) && !KEY_LINE_RE.test(hk)) {
      r.add(
        `${prefix}.hostKey`,
        'must be an OpenSSH public key line ("ssh-ed25519 AAAA...", as in /etc/ssh/ssh_host_ed25519_key.pub) or a fingerprint "SHA256:..." (ssh-keygen -lf)',
      );
    }
  }
  if (o.knownHosts !== undefined && !isUnknown(o.knownHosts) && typeof o.knownHosts !== "string") {
    r.add(`${prefix}.knownHosts`, "must be the text of a known_hosts file");
  }
  checkInteger(r, `${prefix}.readyTimeoutMs`, o.readyTimeoutMs, 100, 600_000, "milliseconds");
  if (o.proxy !== undefined) {
    if (!allowProxy)
      r.add(`${prefix}.proxy`, "only one bastion hop is supported: the proxy cannot have a proxy of its own");
    else checkEndpoint(r, `${prefix}.proxy`, o.proxy, false);
  }
}

function checkHealthGate(r: Refusals, g: unknown): void {
  if (g === undefined || (isUnknown(g) && typeof g !== "object")) return;
  if (!g || typeof g !== "object" || Array.isArray(g)) {
    r.add(
      "healthGate",
      'must be an object such as { deadlineSeconds: 120, command: ["curl", "-fsS", "http://127.0.0.1:18083/status"] }',
    );
    return;
  }
  const o = g as Record<string, unknown>;
  checkInteger(r, "healthGate.deadlineSeconds", o.deadlineSeconds, 1, 3600, "seconds");
  checkBoolean(r, "healthGate.requireClusterRunning", o.requireClusterRunning);
  const c = o.command;
  if (c !== undefined && !isUnknown(c)) {
    const ok =
      Array.isArray(c) &&
      c.length > 0 &&
      c.length <= 64 &&
      c.every((a) => typeof a === "string" && a.length <= 4096 && !a.includes("\0")) &&
      (c[0] as string).length > 0;
    if (!ok)
      r.add(
        "healthGate.command",
        'must be an argv list such as ["curl", "-fsS", "http://127.0.0.1:18083/status"]: 1 to 64 strings without NUL, the first one the program (no shell: wrap in ["sh", "-c", "..."] if you need one)',
      );
  }
}

/** Shape rules for all inputs, plus the rules that compare the package name with version and
 * edition. `olds` (the previous inputs, if any) adds the version-change rules. */
export function checkReleaseInputs(news: Record<string, unknown>, olds?: Record<string, unknown>): Refusal[] {
  const r = new Refusals();
  if (news.connection === undefined)
    r.add("connection", "is required: { host, user?, privateKey? | password? | agentSocketPath? }");
  else checkEndpoint(r, "connection", news.connection, true);

  const version = news.version;
  let parsedVersion: ReturnType<typeof parseEmqxVersion> | undefined;
  if (version === undefined) r.add("version", 'is required, e.g. "4.4.16"');
  else if (!isUnknown(version)) {
    parsedVersion = parseEmqxVersion(version);
    if (typeof parsedVersion === "string") r.add("version", parsedVersion);
    else {
      const family =
        parsedVersion.major !== 4 || parsedVersion.minor !== 4
          ? checkVersionFamily(parsedVersion, parsedVersion)
          : undefined;
      if (family) r.add("version", family);
    }
  }

  if (news.edition !== undefined && !isUnknown(news.edition) && news.edition !== "ce" && news.edition !== "ee") {
    r.add("edition", `must be "ce" (EMQX) or "ee" (EMQX Enterprise), got ${JSON.stringify(news.edition)}`);
  }

  for (const f of checkPackageSource(news)) r.add(f.property, f.reason);

  const sha = news.packageSha256;
  if (sha !== undefined && !isUnknown(sha) && (typeof sha !== "string" || !SHA256_RE.test(sha))) {
    r.add("packageSha256", "must be 64 hex digits, as in the package's .sha256 file");
  }
  for (const k of ["permanent", "allowDowngrade", "uninstallPrevious"]) checkBoolean(r, k, news[k]);
  if (
    news.emqxPath !== undefined &&
    !isUnknown(news.emqxPath) &&
    (typeof news.emqxPath !== "string" || !PATH_RE.test(news.emqxPath) || news.emqxPath.split("/").includes(".."))
  ) {
    r.add(
      "emqxPath",
      "must be a command name or absolute path such as /usr/bin/emqx (letters, digits, . _ / + -; no spaces, quotes or ..)",
    );
  }
  if (
    news.runAs !== undefined &&
    !isUnknown(news.runAs) &&
    (typeof news.runAs !== "string" || !USER_RE.test(news.runAs))
  ) {
    r.add("runAs", 'must be a user name such as "emqx" (letters, digits, . _ -)');
  }
  checkInteger(r, "commandTimeoutMs", news.commandTimeoutMs, 1_000, 3_600_000, "milliseconds");
  checkHealthGate(r, news.healthGate);
  for (const f of checkClientImpactInputs(news)) r.add(f.property, f.reason);
  checkInteger(
    r,
    "upgradeTimeoutMs",
    news.upgradeTimeoutMs,
    300_001,
    7_200_000,
    "milliseconds (above EMQX's own 300 s RPC timeout, so its answer is seen)",
  );

  // Version change rules against the previous declaration (no host facts needed).
  if (olds && typeof olds.version === "string" && parsedVersion && typeof parsedVersion !== "string") {
    const prev = parseEmqxVersion(olds.version);
    if (typeof prev !== "string") {
      const family = checkVersionFamily(prev, parsedVersion);
      if (family) r.add("version", family);
      // After a trial (permanent: false) a lower version may be the revert to the release the node
      // still boots; create decides with the node's facts (planRelease "revert").
      else if (
        compareVersions(parsedVersion.raw, prev.raw) < 0 &&
        news.allowDowngrade !== true &&
        olds.permanent !== false
      ) {
        r.add(
          "version",
          `going from ${prev.raw} to ${parsedVersion.raw} is a downgrade, which EMQX recommends against; set allowDowngrade: true to do it anyway`,
        );
      }
    }
    const oldBase = packageFileName(olds);
    const newBase = packageFileName(news);
    const oldName = oldBase === undefined ? undefined : parsePackageName(oldBase);
    const newName = newBase === undefined ? undefined : parsePackageName(newBase);
    if (
      oldName &&
      newName &&
      typeof oldName !== "string" &&
      typeof newName !== "string" &&
      oldName.edition !== newName.edition
    ) {
      r.add(
        packageProperty(news),
        `changes the edition from ${oldName.edition.toUpperCase()} to ${newName.edition.toUpperCase()}: hot upgrade between EMQX and EMQX Enterprise is not allowed`,
      );
    }
  }
  return r.list;
}
