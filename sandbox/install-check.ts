// What the reliability rows count as "files corrupted" (test/support/fault-run.ts): the files of
// an EMQX install that differ from what EMQX itself leaves (docs/emqx-4.4-hot-upgrade.md §2.5,
// §2.7, §3.3). After any sequence of
// EMQX commands, finished or failed where EMQX fails, these hold:
// - every zip matching `releases/emqx-*<V>*.zip` is byte-identical to the package (EMQX unpacks
//   whichever zip matches, so a half-written or foreign one is what the next upgrade would install);
// - `releases/RELEASES` parses and lists exactly the releases `emqx versions` lists, with the same
//   statuses (`current` is written as `unpacked`: release_handler never persists it);
// - `releases/start_erl.data` is `<erts> <permanent>` of the permanent release;
// - the last `REL_VSN` / `ERTS_VSN` of `releases/emqx_vars` are the permanent's (permafy appends);
// - each of the five bin scripts equals `bin/<f>-<permanent>` (permafy copies them).
// A permafy that crashed after make_permanent leaves bin/ and emqx_vars on the previous release
// (docs/emqx-4.4-hot-upgrade.md §2.7): a row that injects that names the version they stay on
// (`binAndVarsOf`).
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { parseEmqxVars } from "../provider/emqx/parse-emqx-vars";
import { asAtom, asList, asString, asTuple, parseErlangTerm } from "../provider/plan/erlang-term";
import { matchesEmqxZipGlob } from "../provider/plan/package-name";
import { BIN_SCRIPTS } from "./emulator/launcher";

/** One release as `emqx versions` lists it. */
export interface ListedRelease {
  version: string;
  status: string;
}

/** What the host must hold. */
export interface InstallExpectation {
  /** The releases `emqx versions` lists now (on the emulator: what its node holds in memory). */
  listed: ListedRelease[];
  /** The target version and its package: zips matching EMQX's glob for it must equal the package. */
  version?: string;
  packagePath?: string;
  /** bin/ and emqx_vars stay on this release (a permafy that crashed after make_permanent). */
  binAndVarsOf?: string;
}

/** Each file that differs from what EMQX leaves, as `<file>: <how>` (stable text, so deviations
 * the test's own set-up made can be subtracted by value). */
export function installDeviations(root: string, want: InstallExpectation): string[] {
  const out: string[] = [];
  const rel = (...p: string[]) => path.join(root, ...p);
  const read = (file: string): string | undefined =>
    fs.existsSync(rel(file)) ? fs.readFileSync(rel(file), "utf8") : undefined;

  if (want.version !== undefined && want.packagePath !== undefined) {
    const sum = sha256(want.packagePath);
    for (const f of fs.readdirSync(rel("releases")).filter((n) => matchesEmqxZipGlob(n, want.version as string))) {
      if (sha256(rel("releases", f)) !== sum)
        out.push(`releases/${f}: matches emqx-*${want.version}*.zip but is not the package`);
    }
  }

  const permanent = want.listed.find((r) => r.status === "permanent")?.version;
  if (permanent === undefined) out.push("emqx versions: no permanent release listed");
  let ertsOf = new Map<string, string>();
  const releasesText = read("releases/RELEASES");
  if (releasesText === undefined) out.push("releases/RELEASES: missing");
  else {
    try {
      const records = parseReleases(releasesText);
      ertsOf = new Map(records.map((r) => [r.version, r.erts]));
      const onDisk = records.map((r) => `${r.version} ${r.status}`);
      const expected = want.listed.map((r) => `${r.version} ${r.status === "current" ? "unpacked" : r.status}`);
      if (onDisk.join(", ") !== expected.join(", "))
        out.push(`releases/RELEASES: lists ${onDisk.join(", ")}; emqx versions lists ${expected.join(", ")}`);
    } catch (e) {
      out.push(`releases/RELEASES: does not parse (${(e as Error).message.split("\n")[0]})`);
    }
  }
  if (permanent === undefined) return out;

  const startErl = read("releases/start_erl.data");
  // `<erts> <vsn>`; the erts only when RELEASES said which one the permanent release runs on.
  const erts = ertsOf.get(permanent);
  const [haveErts, haveVsn] = (startErl ?? "").trim().split(/\s+/);
  if (haveVsn !== permanent || (erts !== undefined && haveErts !== erts)) {
    out.push(`releases/start_erl.data: ${JSON.stringify(startErl)}, not "${erts ?? "<erts>"} ${permanent}"`);
  }

  const binVsn = want.binAndVarsOf ?? permanent;
  const varsText = read("releases/emqx_vars");
  if (varsText === undefined) out.push("releases/emqx_vars: missing");
  else {
    const { vars } = parseEmqxVars(varsText);
    const wantErts = ertsOf.get(binVsn);
    if (vars.REL_VSN !== binVsn)
      out.push(`releases/emqx_vars: last REL_VSN is ${JSON.stringify(vars.REL_VSN)}, not "${binVsn}"`);
    if (wantErts !== undefined && vars.ERTS_VSN !== wantErts)
      out.push(`releases/emqx_vars: last ERTS_VSN is ${JSON.stringify(vars.ERTS_VSN)}, not "${wantErts}"`);
  }

  for (const f of BIN_SCRIPTS) {
    const copy = `bin/${f}-${binVsn}`;
    if (!fs.existsSync(rel(copy))) out.push(`${copy}: missing`);
    else if (!fs.existsSync(rel("bin", f))) out.push(`bin/${f}: missing`);
    else if (sha256(rel("bin", f)) !== sha256(rel(copy))) out.push(`bin/${f}: differs from ${copy}`);
  }
  return out;
}

/** The release tuples of a RELEASES file: `[{release,"emqx",Vsn,Erts,Libs,Status},...].` */
export function parseReleases(text: string): Array<{ version: string; erts: string; status: string }> {
  const list = asList(parseErlangTerm(text.replace(/^%%[^\n]*\n/, "")));
  if (!list) throw new Error("not a list");
  return list.map((t, i) => {
    const items = asTuple(t, 6);
    const [version, erts, status] = [asString(items?.[2]), asString(items?.[3]), asAtom(items?.[5])];
    if (!items || asAtom(items[0]) !== "release" || !version || !erts || !status)
      throw new Error(`element ${i + 1} is not a {release,...} tuple`);
    return { version, erts, status };
  });
}

function sha256(file: string): string {
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}
