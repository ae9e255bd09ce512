// Looks for secrets in everything a run leaves behind: engine output, `pulumi stack export`, saved
// plans, the backend and PULUMI_HOME. A secret counts as found raw or JSON-escaped (a PEM key in a
// JSON file has its newlines as `\n`), and a private key is searched for as several slices of it,
// so a key that was reformatted, truncated or embedded still shows.
import * as fs from "fs";
import * as path from "path";

/** One value to look for. */
export interface Needle {
  /** What it is, for the failure message (never the value itself). */
  label: string;
  value: string;
}

/** Where a needle was found. */
export interface Finding {
  label: string;
  source: string;
}

/** The needle and, when it differs, its JSON-escaped form (the inside of JSON.stringify). */
export function withJsonEscaped(label: string, value: string): Needle[] {
  const escaped = JSON.stringify(value).slice(1, -1);
  return escaped === value
    ? [{ label, value }]
    : [
        { label, value },
        { label: `${label} (JSON-escaped)`, value: escaped },
      ];
}

/** `count` distinct slices of `length` characters of the key's base64 body: half of them span a
 * line break (those differ between raw and JSON-escaped form), the others lie inside one line each
 * (pure base64, found however the lines were re-joined), spread over the body. Only slices whose
 * bytes look random are taken: the armour, key type names, length fields, comment and padding are
 * the same in many keys, so a slice of them would be found where this key is not. */
export function keySlices(pem: string, count = 6, length = 20): string[] {
  const lines = pem
    .replace(/\r/g, "")
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("-----"));
  const joined = lines.join("");
  const bytes = Buffer.from(joined, "base64");
  // The bytes a slice of joined[from, from + length) encodes (whole 4-character groups around it).
  const random = (from: number) =>
    looksRandom(bytes.subarray(Math.floor(from / 4) * 3, Math.ceil((from + length) / 4) * 3));
  const slices = new Set<string>();
  let lineEnd = 0;
  for (let i = 0; i + 1 < lines.length && slices.size < Math.ceil(count / 2); i++) {
    lineEnd += lines[i].length;
    const from = lineEnd - length / 2;
    if (from >= 0 && lines[i + 1].length >= length / 2 && random(from))
      slices.add(`${joined.slice(from, lineEnd)}\n${joined.slice(lineEnd, lineEnd + length / 2)}`);
  }
  // Non-overlapping windows inside single lines (tried every 4 characters), spread over the body.
  const windows: string[] = [];
  let at = 0;
  for (const l of lines) {
    for (let k = 0; k + length <= l.length; k += 4) {
      if (random(at + k)) {
        windows.push(l.slice(k, k + length));
        k += length - 4;
      }
    }
    at += l.length;
  }
  const need = count - slices.size;
  for (let j = 0; j < need && j < windows.length; j++) slices.add(windows[Math.floor((j * windows.length) / need)]);
  // A short key (ed25519) may need windows that overlap: still distinct, still random.
  at = 0;
  for (const l of lines) {
    for (let k = 2; k + length <= l.length && slices.size < count; k += 4)
      if (random(at + k)) slices.add(l.slice(k, k + length));
    at += l.length;
  }
  if (slices.size < count) throw new Error(`the key is too short for ${count} distinct slices of ${length} characters`);
  return [...slices];
}

/** No run of five text characters (key type names, comments), two zero bytes (length fields) or
 * three small bytes (padding 1, 2, 3...). */
function looksRandom(b: Uint8Array): boolean {
  const run = (i: number, n: number, test: (c: number) => boolean) =>
    i + n <= b.length && Array.from(b.subarray(i, i + n)).every(test);
  for (let i = 0; i < b.length; i++) {
    if (run(i, 2, (c) => c === 0) || run(i, 5, (c) => c >= 0x2d && c <= 0x7a) || run(i, 3, (c) => c < 0x10))
      return false;
  }
  return true;
}

/** The credential fields of a connection input, with the label a finding names. */
const SECRET_FIELDS: ReadonlyArray<[field: string, label: string]> = [
  ["privateKey", "private key"],
  ["privateKeyPassword", "key passphrase"],
  ["password", "login password"],
  ["sudoPassword", "sudo password"],
];

/** The credentials a row really carries: every credential field of `inputs.connection` and of its
 * `proxy`, whatever its shape (a hostile row may put an object or a file path there). A PEM or
 * OpenSSH key is searched for as distinct slices of its base64 body (keySlices), anything else as
 * its whole text; each raw and JSON-escaped. `searched` names each credential once. */
export function carriedSecrets(inputs: Record<string, unknown> | undefined): { searched: string[]; needles: Needle[] } {
  const searched: string[] = [];
  const needles: Needle[] = [];
  const visit = (conn: unknown, prefix: string) => {
    if (!conn || typeof conn !== "object") return;
    const c = conn as Record<string, unknown>;
    for (const [field, label] of SECRET_FIELDS) {
      const texts = stringsIn(c[field]).filter((t) => t.length >= 4);
      if (texts.length === 0) continue;
      const name = `${prefix}${label}`;
      searched.push(name);
      for (const t of texts) {
        if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(t))
          keySlices(t).forEach((s, i) => needles.push(...withJsonEscaped(`${name} slice ${i}`, s)));
        else needles.push(...withJsonEscaped(name, t));
      }
    }
    if (prefix === "") visit(c.proxy, "bastion ");
  };
  visit(inputs?.connection, "");
  // The download's request headers (packageUrl): secrets like the connection's.
  for (const [name, value] of Object.entries((inputs?.packageHeaders ?? {}) as Record<string, unknown>)) {
    if (typeof value !== "string" || value.length < 4) continue;
    searched.push(`packageHeaders.${name}`);
    needles.push(...withJsonEscaped(`packageHeaders.${name}`, value));
  }
  return { searched, needles };
}

/** The string leaves of a value (a string, or the strings inside an object or array). */
function stringsIn(v: unknown): string[] {
  if (typeof v === "string") return [v];
  if (v && typeof v === "object") return Object.values(v as Record<string, unknown>).flatMap(stringsIn);
  return [];
}

/** Every regular file under `dir` as text (latin1, so any byte sequence round-trips). */
export function filesUnder(dir: string): Array<{ source: string; text: string }> {
  const out: Array<{ source: string; text: string }> = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push({ source: p, text: fs.readFileSync(p).toString("latin1") });
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

/** Every (needle, source) pair where the needle occurs. */
export function scanForSecrets(sources: Array<{ source: string; text: string }>, needles: Needle[]): Finding[] {
  const found: Finding[] = [];
  for (const s of sources)
    for (const n of needles) if (n.value && s.text.includes(n.value)) found.push({ label: n.label, source: s.source });
  return found;
}
