// Host key verification, pure: parse OpenSSH key lines and known_hosts text, compute OpenSSH
// SHA256 fingerprints, and decide whether the key a server presented is the one expected.
import { createHash, createHmac } from "crypto";

/** A public key as OpenSSH writes it on one line: `<type> <base64 blob> [comment]`. */
export interface PublicKey {
  type: string;
  /** The raw key blob (SSH wire format), what the server presents and what is fingerprinted. */
  blob: Buffer;
  comment: string;
}

/** One usable line of a known_hosts file. */
export interface KnownHostsEntry {
  /** 1-based line number, for messages. */
  line: number;
  marker: "" | "@revoked" | "@cert-authority";
  /** The host field as written: a comma list of patterns, or one hashed `|1|salt|hmac` name. */
  hosts: string;
  key: PublicKey;
}

/** What the server's key is checked against; each source that is given must accept it. */
export interface HostKeyExpectation {
  host: string;
  port: number;
  /** An OpenSSH key line or a `SHA256:<base64>` fingerprint. */
  hostKey?: string;
  knownHosts?: string;
  pinnedFingerprint?: string;
}

/** The outcome of checking one presented key. */
export interface HostKeyVerdict {
  accepted: boolean;
  /** `SHA256:...` of the presented key. */
  fingerprint: string;
  keyType: string;
  /** Fingerprints that would have been accepted (empty when nothing was expected). */
  expected: string[];
  /** Why it was accepted or refused, one clause per source checked. */
  reason: string;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Reads the SSH string at the start of a key blob: the key type (`ssh-ed25519`), or "" if the
 * blob is too short to hold one. */
export function blobKeyType(blob: Buffer): string {
  if (blob.length < 4) return "";
  const length = blob.readUInt32BE(0);
  if (length > 64 || 4 + length > blob.length) return "";
  return blob.subarray(4, 4 + length).toString("latin1");
}

/** Parses `ssh-ed25519 AAAA... comment`; undefined unless the blob decodes and names the same
 * type as the line. */
export function parsePublicKeyLine(line: string): PublicKey | undefined {
  const fields = line.trim().split(/[ \t]+/);
  if (fields.length < 2 || !BASE64.test(fields[1]) || fields[1].length % 4 !== 0) return undefined;
  const blob = Buffer.from(fields[1], "base64");
  if (blobKeyType(blob) !== fields[0]) return undefined;
  return { type: fields[0], blob, comment: fields.slice(2).join(" ") };
}

/** The OpenSSH fingerprint of a key blob, as `ssh-keygen -lf` prints it: `SHA256:` + unpadded base64. */
export function fingerprintSha256(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** `SHA256:<43 base64 chars>` with or without padding, normalised to the unpadded form;
 * undefined for anything else. */
export function parseFingerprint(text: string): string | undefined {
  const m = /^SHA256:([A-Za-z0-9+/]{43})=?$/.exec(text.trim());
  return m ? `SHA256:${m[1]}` : undefined;
}

/** Parses known_hosts text; comments, blank and malformed lines are skipped, as ssh does. */
export function parseKnownHosts(text: string): KnownHostsEntry[] {
  const entries: KnownHostsEntry[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    let fields = line.split(/[ \t]+/);
    let marker: KnownHostsEntry["marker"] = "";
    if (fields[0] === "@revoked" || fields[0] === "@cert-authority") {
      marker = fields[0];
      fields = fields.slice(1);
    } else if (fields[0].startsWith("@")) return;
    if (fields.length < 3) return;
    const key = parsePublicKeyLine(fields.slice(1).join(" "));
    if (key) entries.push({ line: index + 1, marker, hosts: fields[0], key });
  });
  return entries;
}

/** The name ssh looks up in known_hosts: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/** Whether a known_hosts host field matches `name`. Hashed: `|1|base64(salt)|base64(HMAC-SHA1(salt,
 * name))`. Plain: comma list of patterns with `*`/`?` wildcards; a matching `!pattern` excludes. */
export function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith("|1|")) {
    const [, , salt, hmac] = field.split("|");
    if (!salt || !hmac) return false;
    return createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64") === hmac;
  }
  let matched = false;
  for (const pattern of field.toLowerCase().split(",")) {
    if (pattern.startsWith("!")) {
      if (globMatches(pattern.slice(1), name)) return false;
    } else if (globMatches(pattern, name)) matched = true;
  }
  return matched;
}

/** `*` and `?` matching without regexes: linear backtracking to the last `*` (O(n*m) worst case). */
function globMatches(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === "?" || pattern[p] === text[t])) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === "*") {
      star = p++;
      resume = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++resume;
    } else return false;
  }
  while (pattern[p] === "*") p++;
  return p === pattern.length;
}

/** Host key algorithms to offer first so the server presents a key of a type we expect (a
 * server with ed25519 and RSA keys would otherwise show ed25519 to a user who pinned RSA). */
export function preferredHostKeyAlgorithms(expect: HostKeyExpectation): string[] {
  const types = new Set<string>();
  const line = expect.hostKey ? parsePublicKeyLine(expect.hostKey) : undefined;
  if (line) types.add(line.type);
  const name = knownHostsName(expect.host, expect.port);
  for (const e of parseKnownHosts(expect.knownHosts ?? "")) {
    if (e.marker === "" && hostFieldMatches(e.hosts, name)) types.add(e.key.type);
  }
  const algorithms: string[] = [];
  for (const type of types) {
    if (type === "ssh-rsa") algorithms.push("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa");
    else if (SUPPORTED_KEY_TYPES.includes(type)) algorithms.push(type);
  }
  return algorithms;
}

/** Key types ssh2 can verify (certificates and security-key types are not among them). */
const SUPPORTED_KEY_TYPES = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "ssh-dss",
];

/** Checks the key blob a server presented against every expectation that is given. */
export function verifyHostKey(presented: Buffer, expect: HostKeyExpectation): HostKeyVerdict {
  const fingerprint = fingerprintSha256(presented);
  const verdict: HostKeyVerdict = {
    accepted: true,
    fingerprint,
    keyType: blobKeyType(presented),
    expected: [],
    reason: "",
  };
  const clauses: string[] = [];
  const refuse = (clause: string) => {
    verdict.accepted = false;
    clauses.push(clause);
  };

  if (expect.hostKey !== undefined) {
    const line = parsePublicKeyLine(expect.hostKey);
    const wanted = line ? fingerprintSha256(line.blob) : parseFingerprint(expect.hostKey);
    if (wanted === undefined)
      refuse(
        "cannot be checked: hostKey is neither an OpenSSH key line (`ssh-ed25519 AAAA...`) nor a `SHA256:...` fingerprint",
      );
    else {
      verdict.expected.push(wanted);
      if (wanted === fingerprint) clauses.push("matches hostKey");
      else refuse("does not match hostKey");
    }
  }

  if (expect.knownHosts !== undefined) {
    const name = knownHostsName(expect.host, expect.port);
    const forHost = parseKnownHosts(expect.knownHosts).filter((e) => hostFieldMatches(e.hosts, name));
    // @cert-authority lines sign host certificates; ssh2 is offered plain host keys only, so
    // they can never vouch for the key and are ignored.
    const revoked = forHost.find((e) => e.marker === "@revoked" && e.key.blob.equals(presented));
    const plain = forHost.filter((e) => e.marker === "");
    verdict.expected.push(...plain.map((e) => fingerprintSha256(e.key.blob)));
    const match = plain.find((e) => e.key.blob.equals(presented));
    if (revoked) refuse(`is marked @revoked in knownHosts (line ${revoked.line})`);
    else if (match) clauses.push(`matches knownHosts line ${match.line}`);
    else if (plain.length === 0) refuse(`is not in knownHosts (no entry for ${name})`);
    else
      refuse(
        `does not match the ${plain.length} knownHosts entr${plain.length === 1 ? "y" : "ies"} for ${name} (lines ${plain.map((e) => e.line).join(", ")})`,
      );
  }

  if (expect.pinnedFingerprint !== undefined) {
    const pinned = parseFingerprint(expect.pinnedFingerprint) ?? expect.pinnedFingerprint;
    verdict.expected.push(pinned);
    if (pinned === fingerprint) clauses.push("matches the pinned fingerprint");
    else refuse("does not match the fingerprint pinned on first contact");
  }

  if (clauses.length === 0) clauses.push("was not verified: no hostKey, knownHosts or pinned fingerprint was given");
  verdict.expected = [...new Set(verdict.expected)];
  verdict.reason = clauses.join("; ");
  return verdict;
}
