// Builds small EMQX 4.4 package zips with the real layout (docs/emqx-4.4-hot-upgrade.md §3.2): top folder `emqx/`, the
// versioned bin scripts (emulator launchers), `erts-<ervs>/`, `lib/`, `releases/<V>/` with a real
// `emqx.rel` and `relup` Erlang term, `releases/RELEASES`, `start_erl.data`, `emqx_vars`.
// Everything else is a few dummy bytes; `extraBytes` pads the zip with incompressible data.
import { createHash } from "crypto";
import { createReadStream, promises as fsp } from "fs";
import * as path from "path";
import { BIN_SCRIPTS, launcherScript } from "./emulator/launcher";
import { writeZip, ZipEntrySpec } from "./zip-writer";

/** What package to build. Every field but `version` has a default that matches a real CE build. */
export interface PackageSpec {
  version: string;
  /** @default "ce" */
  edition?: "ce" | "ee";
  /** @default "24.1.5-3" below 4.4.11, else "24.3.4.2-1" (docs/emqx-4.4-hot-upgrade.md §3.1) */
  otp?: string;
  /** @default "debian12" */
  os?: string;
  /** @default "amd64" */
  arch?: string;
  /** @default "12.1.5" below 4.4.11, else "12.3.2.2" */
  erts?: string;
  /** Keys of the relup "up" list, in file order; `[]` (with `relupDownTo` also empty, its
   * default) ships no relup file at all.
   * @default every earlier 4.4 patch, newest first ("4.4.(N-1)" … "4.4.0") */
  relupFrom?: string[];
  /** Keys of the relup "down" list. @default relupFrom */
  relupDownTo?: string[];
  /** @default "emqx" */
  topFolder?: string;
  /** Size of an extra incompressible file (`lib/emqx-<V>/priv/padding.bin`). @default 0 (none) */
  extraBytes?: number;
  /** @default packageFileName(spec) */
  fileName?: string;
  /** Also write `<zip>.sha256` (64 hex digits, no newline, as EMQX publishes). @default false */
  sidecar?: boolean;
}

/** The same spec with every default applied. */
export type ResolvedPackageSpec = Required<Omit<PackageSpec, "fileName">> & { fileName: string };

/** The OTP release apps a 4.4 package's `emqx.rel` lists (their versions do not matter here). */
const OTP_APPS: Array<[string, string]> = [
  ["kernel", "8.1.3"],
  ["stdlib", "3.16.1"],
  ["sasl", "4.1.1"],
];

/** Patch number of a 4.4 version ("4.4.16" -> 16, "4.4.16-abcdef12" -> 16), undefined otherwise. */
function patchOf44(version: string): number | undefined {
  if (!version.startsWith("4.4.")) return undefined;
  const patch = version.slice(4).split("-")[0];
  return patch !== "" && patch.length <= 4 && [...patch].every((c) => c >= "0" && c <= "9") ? Number(patch) : undefined;
}

// Applies the defaults of `PackageSpec` (one place, so the file name and the content agree).
export function resolvePackageSpec(spec: PackageSpec): ResolvedPackageSpec {
  const patch = patchOf44(spec.version);
  const oldOtp = patch !== undefined && patch < 11;
  const relupFrom = spec.relupFrom ?? Array.from({ length: patch ?? 0 }, (_, i) => `4.4.${(patch ?? 0) - 1 - i}`);
  const r = {
    version: spec.version,
    edition: spec.edition ?? "ce",
    otp: spec.otp ?? (oldOtp ? "24.1.5-3" : "24.3.4.2-1"),
    os: spec.os ?? "debian12",
    arch: spec.arch ?? "amd64",
    erts: spec.erts ?? (oldOtp ? "12.1.5" : "12.3.2.2"),
    relupFrom,
    relupDownTo: spec.relupDownTo ?? relupFrom,
    topFolder: spec.topFolder ?? "emqx",
    extraBytes: spec.extraBytes ?? 0,
    sidecar: spec.sidecar ?? false,
    fileName: "",
  } satisfies ResolvedPackageSpec;
  r.fileName =
    spec.fileName ?? `${r.edition === "ee" ? "emqx-ee" : "emqx"}-${r.version}-otp${r.otp}-${r.os}-${r.arch}.zip`;
  return r;
}

// The published file name of a package: "emqx-4.4.16-otp24.3.4.2-1-debian12-amd64.zip" (docs/emqx-4.4-hot-upgrade.md
// §3.1).
export function packageFileName(spec: PackageSpec): string {
  return resolvePackageSpec(spec).fileName;
}

// The text of `releases/<V>/emqx.rel` for a package.
export function relFileText(spec: PackageSpec): string {
  const r = resolvePackageSpec(spec);
  const apps = releaseApps(r)
    .map(([a, v]) => `{${a},"${v}"}`)
    .join(",");
  return `{release,{"emqx","${r.version}"},{erts,"${r.erts}"},[${apps}]}.\n`;
}

// The text of `releases/<V>/relup` as EMQX's build leaves it (docs/emqx-4.4-hot-upgrade.md §3.4 and
// the corrections at its top): from 4.4.2 on, scripts/inject-relup.escript appends its emqx_app /
// emqx_relup instructions to every path and rewrites the file with `io_lib:format("~p.", [Term])`,
// so the file ends with the dot and NO newline; older releases end with "~p.~n". The layout is
// `~p`'s (test/integration/package-zip-relup.test.ts compares it with a real erl's output).
// Undefined when spec ships no relup.
export function relupFileText(spec: PackageSpec): string | undefined {
  const r = resolvePackageSpec(spec);
  if (r.relupFrom.length === 0 && r.relupDownTo.length === 0) return undefined;
  const loadEmqx = `{load_object_code,{emqx,"${r.version}",[emqx_app,emqx_relup]}}`;
  const up = (from: string): string[] => [
    loadEmqx,
    "point_of_no_return",
    "{load,{emqx_app,brutal_purge,soft_purge}}",
    "{load,{emqx_relup,brutal_purge,soft_purge}}",
    `{apply,{emqx_relup,post_release_upgrade,["${from}",[]]}}`,
  ];
  // Going down to 4.4.0/4.4.1 (which have no emqx_relup) removes the module; otherwise reloads it.
  const down = (to: string): string[] => [
    loadEmqx,
    "point_of_no_return",
    "{load,{emqx_app,brutal_purge,soft_purge}}",
    `{apply,{emqx_relup,post_release_downgrade,["${to}",[]]}}`,
    ...(to === "4.4.0" || to === "4.4.1"
      ? ["{remove,{emqx_relup,brutal_purge,brutal_purge}}", "{purge,[emqx_relup]}"]
      : ["{load,{emqx_relup,brutal_purge,soft_purge}}"]),
  ];
  const paths = (keys: string[], instr: (k: string) => string[]): string =>
    keys.map((k) => `{"${k}",[],\n   [${instr(k).join(",\n    ")}]}`).join(",\n  ");
  const term = `{"${r.version}",\n [${paths(r.relupFrom, up)}],\n [${paths(r.relupDownTo, down)}]}.`;
  return injectsRelup(r.version) ? term : `${term}\n`;
}

/** Whether EMQX's build rewrites this release's relup with inject-relup.escript (4.4.2 and later). */
export function injectsRelup(version: string): boolean {
  const m = /^4\.4\.([0-9]+)/.exec(version);
  return m !== null && Number(m[1]) >= 2;
}

// The zip entries of a package, in archive order (tests edit this list to craft broken packages).
export function packageEntries(spec: PackageSpec): ZipEntrySpec[] {
  const r = resolvePackageSpec(spec);
  const top = r.topFolder === "" ? "" : `${r.topFolder}/`;
  const V = r.version;
  const entries: ZipEntrySpec[] = [];
  const dir = (name: string): void => void entries.push({ name: `${top}${name}/` });
  const file = (name: string, data: ZipEntrySpec["data"], mode = 0o644): void =>
    void entries.push({ name: `${top}${name}`, data, mode });
  if (top) entries.push({ name: top });
  dir("bin");
  for (const f of BIN_SCRIPTS) file(`bin/${f}`, launcherScript(f, V), 0o755);
  for (const f of BIN_SCRIPTS) file(`bin/${f}-${V}`, launcherScript(f, V), 0o755);
  file("bin/no_dot_erlang.boot", dummy("no_dot_erlang.boot", V));
  dir(`erts-${r.erts}`);
  dir(`erts-${r.erts}/bin`);
  file(`erts-${r.erts}/bin/erl`, `#!/bin/sh\n# dummy erl of ERTS ${r.erts}\nexit 1\n`, 0o755);
  dir("lib");
  const apps = releaseApps(r);
  for (const [app, vsn] of apps) {
    dir(`lib/${app}-${vsn}`);
    dir(`lib/${app}-${vsn}/ebin`);
    file(`lib/${app}-${vsn}/ebin/${app}.app`, `{application,${app},[{description,"dummy"},{vsn,"${vsn}"}]}.\n`);
  }
  if (r.extraBytes > 0) {
    dir(`lib/emqx-${V}/priv`);
    file(`lib/emqx-${V}/priv/padding.bin`, { randomBytes: r.extraBytes });
  }
  dir("releases");
  dir(`releases/${V}`);
  file(`releases/${V}/emqx.rel`, relFileText(r));
  const relup = relupFileText(r);
  if (relup !== undefined) file(`releases/${V}/relup`, relup);
  file(`releases/${V}/start.boot`, dummy("start.boot", V));
  file(`releases/${V}/start_clean.boot`, dummy("start_clean.boot", V));
  file(`releases/${V}/no_dot_erlang.boot`, dummy("no_dot_erlang.boot", V));
  file(`releases/${V}/emqx.schema`, `%% dummy schema of ${V}\n`);
  file(`releases/${V}/BUILT_ON`, `${r.os}-${r.arch}\n`);
  const libs = apps.map(([a, v]) => `{${a},"${v}","lib/${a}-${v}"}`).join(",\n                ");
  file(
    "releases/RELEASES",
    `%% coding: utf-8\n[{release,"emqx","${V}","${r.erts}",\n               [${libs}],\n               permanent}].\n`,
  );
  file("releases/start_erl.data", `${r.erts} ${V}`);
  file("releases/emqx_vars", emqxVarsText(r));
  dir("etc");
  file("etc/emqx.conf", "node.name = emqx@127.0.0.1\n");
  dir("data");
  file("data/loaded_plugins", "{emqx_management, true}.\n");
  dir("log");
  return entries;
}

// Writes the package zip for `spec` into `dir` (and `<zip>.sha256` when asked); returns its path.
export async function buildPackageZip(dir: string, spec: PackageSpec): Promise<string> {
  const r = resolvePackageSpec(spec);
  const zipPath = path.join(dir, r.fileName);
  await fsp.mkdir(dir, { recursive: true });
  await writeZip(zipPath, packageEntries(r));
  if (r.sidecar) await fsp.writeFile(`${zipPath}.sha256`, await sha256Hex(zipPath));
  return zipPath;
}

/** [app, vsn] of every application in the release; EE adds its license app. */
function releaseApps(r: ResolvedPackageSpec): Array<[string, string]> {
  const own: Array<[string, string]> = [["emqx", r.version]];
  if (r.edition === "ee") own.push(["emqx_license", r.version]);
  return [...OTP_APPS, ...own];
}

/** A few bytes that say what they stand for (boot files are binary in a real package). */
function dummy(what: string, version: string): Buffer {
  return Buffer.concat([Buffer.from([0x83, 0x68, 0x03]), Buffer.from(`dummy ${what} of ${version}`)]);
}

/** The rendered `releases/emqx_vars` of a fresh install or package of `version` (docs/emqx-4.4-hot-upgrade.md §2.7:
 * appended to, never replaced). CE says "EMQ X Broker" up to 4.4.18 and "EMQX Broker" from 4.4.19
 * (docs/emqx-4.4-hot-upgrade.md §1.3); a zip install leaves RUNNER_USER empty, deb/rpm installs set it to "emqx". */
export function emqxVarsText(f: { version: string; erts: string; edition: "ce" | "ee"; runnerUser?: string }): string {
  const patch = Number(/^4\.4\.(\d+)/.exec(f.version)?.[1] ?? 0);
  const description = f.edition === "ee" ? "EMQX Enterprise" : patch >= 19 ? "EMQX Broker" : "EMQ X Broker";
  return [
    "######################################################################",
    "## NOTE: Do NOT replace this file during release upgrade.",
    "##       Update the vars to the end of this file instead.",
    "######################################################################",
    "## constants from relx template",
    `REL_VSN="${f.version}"`,
    `ERTS_VSN="${f.erts}"`,
    'ERL_OPTS=""',
    'RUNNER_BIN_DIR="$RUNNER_ROOT_DIR/bin"',
    'RUNNER_LIB_DIR="$RUNNER_ROOT_DIR/lib"',
    'IS_ELIXIR="no"',
    "## Allow users to use environment variables",
    'RUNNER_ETC_DIR="$RUNNER_ROOT_DIR/etc"',
    'RUNNER_DATA_DIR="$RUNNER_ROOT_DIR/data"',
    'RUNNER_LOG_DIR="$RUNNER_ROOT_DIR/log"',
    `RUNNER_USER="${f.runnerUser ?? ""}"`,
    `EMQX_DESCRIPTION='${description}'`,
    `IS_ENTERPRISE="${f.edition === "ee" ? "yes" : "no"}"`,
    "## overwritten vars here",
    "",
  ].join("\n");
}

/** Streams the file, so a padded package is never held in memory. */
async function sha256Hex(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
