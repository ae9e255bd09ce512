// The layer map (docs/architecture.md), enforced: which provider/ directory may import what.
// Imports are read with the TypeScript parser (import/export ... from, import x = require(),
// require() and import() calls), so a type-only import counts as well: a layer that names another
// layer's types depends on it.
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import { REPO_ROOT } from "../../sandbox/engine";

/** Modules that do I/O: plan/ imports none of them. */
const IO_MODULES = [
  "fs",
  "fs/promises",
  "net",
  "tls",
  "dgram",
  "http",
  "https",
  "child_process",
  "os",
  "ssh2",
  "@pulumi/pulumi",
  "yauzl",
];

/** Row: [provider directory (or file), what it must not import, why]. A specifier is matched by
 * its package name (`@pulumi/pulumi/dynamic` is `@pulumi/pulumi`) or, for a relative import, by the
 * provider/ path it resolves to. */
const RULES: [string, string[], string][] = [
  [
    "plan/",
    [...IO_MODULES, "provider/ssh/", "provider/emqx/", "provider/package/", "provider/pulumi/"],
    "plan/ is pure: rules only, usable by every layer",
  ],
  [
    "ssh/",
    ["provider/emqx/", "provider/package/", "provider/pulumi/"],
    "ssh/ is the transport, the bottom of pulumi/ -> emqx/ -> ssh/",
  ],
  ["emqx/", ["provider/pulumi/"], "emqx/ runs the CLI through the Runner seam; only pulumi/ sits above it"],
  [
    "package/",
    ["provider/ssh/", "provider/emqx/", "provider/pulumi/"],
    "package/ reads package zips (local files, or remote ones by HTTP range requests), isolated from the rest",
  ],
  [
    "errors.ts",
    [...IO_MODULES, "provider/ssh/", "provider/emqx/", "provider/package/", "provider/pulumi/"],
    "every layer imports the errors",
  ],
  [
    "runner.ts",
    [...IO_MODULES, "provider/ssh/", "provider/emqx/", "provider/package/", "provider/pulumi/"],
    "the Runner seam that both ssh/ and emqx/ import",
  ],
];

/** The only places a module may be imported from, anywhere in provider/ (pulumi/, the glue, reaches
 * hosts through emqx/ and ssh/ and zips through package/). */
const ONLY_IN: Record<string, string> = { ssh2: "ssh/", "@pulumi/pulumi": "pulumi/", yauzl: "package/" };

function sourcesUnder(dir: string): string[] {
  return fs.readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return sourcesUnder(rel);
    return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [rel] : [];
  });
}

/** Every module specifier a file imports, requires or re-exports. */
export function importsOf(file: string, text: string): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2020, true);
  const out: string[] = [];
  const visit = (n: ts.Node): void => {
    if (
      (ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) &&
      n.moduleSpecifier &&
      ts.isStringLiteral(n.moduleSpecifier)
    )
      out.push(n.moduleSpecifier.text);
    else if (
      ts.isImportEqualsDeclaration(n) &&
      ts.isExternalModuleReference(n.moduleReference) &&
      ts.isStringLiteral(n.moduleReference.expression)
    )
      out.push(n.moduleReference.expression.text);
    else if (
      ts.isCallExpression(n) &&
      (n.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(n.expression) && n.expression.text === "require")) &&
      n.arguments[0] &&
      ts.isStringLiteralLike(n.arguments[0])
    )
      out.push(n.arguments[0].text);
    else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal))
      out.push(n.argument.literal.text);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

/** What a specifier names: a provider/ path for relative imports, else its package name. */
function target(file: string, spec: string): string {
  if (spec.startsWith(".")) return path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
  const bare = spec.replace(/^node:/, "");
  const parts = bare.split("/");
  return bare.startsWith("@") ? parts.slice(0, 2).join("/") : bare === "fs/promises" ? bare : parts[0];
}

/** The rule violations of one file (`file` relative to the repo root, under provider/). */
export function violationsOf(file: string, text: string): string[] {
  const inProvider = file.slice("provider/".length);
  const out: string[] = [];
  for (const spec of importsOf(file, text)) {
    const t = target(file, spec);
    const before = out.length;
    for (const [where, banned, why] of RULES) {
      if (!(where.endsWith("/") ? inProvider.startsWith(where) : inProvider === where)) continue;
      const hit = banned.find((b) => (b.endsWith("/") ? `${t}/`.startsWith(b) || t.startsWith(b) : t === b));
      if (hit) out.push(`${file} imports ${spec}: ${why}`);
    }
    const only = ONLY_IN[t];
    if (only && out.length === before && !inProvider.startsWith(only))
      out.push(`${file} imports ${spec}: only provider/${only} may import ${t}`);
  }
  return [...new Set(out)];
}

test("every provider/ file keeps to the layer map", () => {
  const files = sourcesUnder("provider");
  expect(files).toContain("provider/plan/inputs.ts");
  expect(files.flatMap((f) => violationsOf(f, fs.readFileSync(path.join(REPO_ROOT, f), "utf8")))).toEqual([]);
});

// Row: [file, source text, the violation expected (a fragment), or "" for none]
const CASES: [string, string, string][] = [
  ["provider/plan/x.ts", 'import * as fs from "fs";', "imports fs: plan/ is pure"],
  ["provider/plan/x.ts", 'import { readFileSync } from "node:fs";', "imports node:fs: plan/ is pure"],
  ["provider/plan/x.ts", 'import type { SshTarget } from "../ssh/types";', "imports ../ssh/types: plan/ is pure"],
  ["provider/plan/x.ts", 'const c = require("child_process");', "imports child_process"],
  ["provider/plan/x.ts", 'type S = import("../emqx/cli").EmqxCli;', "imports ../emqx/cli"],
  ["provider/plan/x.ts", 'import semver = require("semver");', ""],
  ["provider/plan/x.ts", 'import { isUnknown } from "./check-inputs";', ""],
  ["provider/ssh/x.ts", 'import { Runner } from "../emqx/runner";', "imports ../emqx/runner: ssh/ is the transport"],
  ["provider/ssh/x.ts", 'import { Client } from "ssh2";', ""],
  ["provider/emqx/x.ts", 'import { Client } from "ssh2";', "only provider/ssh/ may import ssh2"],
  [
    "provider/emqx/x.ts",
    'import * as pulumi from "@pulumi/pulumi";',
    "only provider/pulumi/ may import @pulumi/pulumi",
  ],
  [
    "provider/emqx/x.ts",
    'import { dynamic } from "@pulumi/pulumi/dynamic";',
    "only provider/pulumi/ may import @pulumi/pulumi",
  ],
  ["provider/emqx/x.ts", 'export { EmqxRelease } from "../pulumi/release";', "emqx/ runs the CLI"],
  ["provider/package/x.ts", 'import { connectSsh } from "../ssh/connect";', "package/ reads package zips"],
  ["provider/plan/x.ts", 'import { Client } from "ssh2";', "imports ssh2: plan/ is pure"],
  ["provider/pulumi/x.ts", 'import * as pulumi from "@pulumi/pulumi";', ""],
  ["provider/pulumi/x.ts", 'import yauzl from "yauzl";', "only provider/package/ may import yauzl"],
  ["provider/runner.ts", 'import { SshSession } from "./ssh/session";', "the Runner seam"],
];
test.each(CASES)("%s: %s -> %j", (file, text, fragment) => {
  const v = violationsOf(file, text);
  if (fragment === "") expect(v).toEqual([]);
  else expect(v).toEqual([expect.stringContaining(fragment)]);
});
