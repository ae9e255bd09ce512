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
  return escaped === value ? [{ label, value }] : [{ label, value }, { label: `${label} (JSON-escaped)`, value: escaped }];
}

/** `count` slices of `length` characters spread over the key text, the first ones chosen to span a
 * line break (those differ between raw and JSON-escaped form). The PEM armour lines are skipped:
 * they are the same in every key. */
export function keySlices(pem: string, count = 6, length = 24): string[] {
  const begin = pem.indexOf("\n") + 1;
  const end = pem.lastIndexOf("-----END");
  const body = pem.slice(begin, end > begin ? end : pem.length);
  const slices: string[] = [];
  for (let at = body.indexOf("\n"); at > 0 && slices.length < count / 2; at = body.indexOf("\n", at + 1)) {
    if (at - length / 2 >= 0 && at + length / 2 <= body.length) slices.push(body.slice(at - length / 2, at + length / 2));
  }
  const step = Math.max(1, Math.floor((body.length - length) / (count - slices.length + 1)));
  for (let at = step; slices.length < count && at + length <= body.length; at += step) slices.push(body.slice(at, at + length));
  if (slices.length < count) throw new Error(`the key is too short for ${count} slices of ${length} characters`);
  return slices;
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
  for (const s of sources) for (const n of needles) if (n.value && s.text.includes(n.value)) found.push({ label: n.label, source: s.source });
  return found;
}
