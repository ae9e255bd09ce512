// What a release would publish, and what the README promises about versions: `npm pack` of this
// checkout holds exactly the library (no tests, benchmarks, examples, sandbox or source maps),
// package.json's entry points are in it, LICENSE/NOTICE/CHANGELOG.md are what they claim, and the
// README's supported-versions table agrees with package.json, scripts/ensure-pulumi.sh, this
// machine's Node and the refusals the code actually gives. (npm publish --dry-run runs in .ci/run.)
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { checkVersionFamily, parseEmqxVersion, type EmqxVersion } from "../../provider/plan/version";
import { REPO_ROOT } from "../../sandbox/engine";
import { packLibrary, type PackedLibrary } from "../support/installed-package";

const read = (f: string) => fs.readFileSync(path.join(REPO_ROOT, f), "utf8");
const pkg = JSON.parse(read("package.json")) as {
  name: string;
  license: string;
  main: string;
  types: string;
  engines: { node: string };
  exports: Record<string, string | Record<string, string>>;
  peerDependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
/** The Apache License 2.0 as published at https://www.apache.org/licenses/LICENSE-2.0.txt. */
const APACHE_2_0_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30";

let dir: string;
let packed: PackedLibrary;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "emqx-package-contents-"));
  packed = packLibrary(dir);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Repo-relative paths of the .ts sources under `rel`. */
function sources(rel: string): string[] {
  return fs.readdirSync(path.join(REPO_ROOT, rel), { withFileTypes: true }).flatMap((e) => {
    const p = `${rel}/${e.name}`;
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [p] : [];
  });
}

test("npm pack holds exactly the compiled library (.js and .d.ts of every provider/ source) and the package's documents", () => {
  const library = sources("provider").flatMap((s) => [
    `dist/${s.replace(/\.ts$/, ".js")}`,
    `dist/${s.replace(/\.ts$/, ".d.ts")}`,
  ]);
  const documents = ["CHANGELOG.md", "LICENSE", "NOTICE", "README.md", "package.json"];
  expect(packed.files).toEqual([...library, ...documents].sort());
  expect(packed.files.filter((f) => /(^|\/)(test|bench|examples|sandbox)\/|\.map$|(?<!\.d)\.ts$/.test(f))).toEqual([]);
});

test("main, types and every exports target are files in the package", () => {
  const targets = [
    pkg.main,
    pkg.types,
    ...Object.values(pkg.exports).flatMap((t) => (typeof t === "string" ? [t] : Object.values(t))),
  ];
  const inPack = (t: string) => {
    const rel = t.replace(/^\.\//, "");
    return rel.endsWith("/*") ? packed.files.some((f) => f.startsWith(rel.slice(0, -1))) : packed.files.includes(rel);
  };
  expect(targets.filter((t) => !inPack(t))).toEqual([]);
  expect(pkg.exports["."]).toEqual({ types: `./${pkg.types}`, default: `./${pkg.main}` });
});

test("LICENSE is the Apache License 2.0 that package.json declares; NOTICE names the project and where its EMQX facts come from", () => {
  expect(pkg.license).toBe("Apache-2.0");
  expect(createHash("sha256").update(read("LICENSE")).digest("hex")).toBe(APACHE_2_0_SHA256);
  const notice = read("NOTICE");
  expect(notice.startsWith(`${pkg.name}\nCopyright `)).toBe(true);
  expect(notice).toContain("https://github.com/emqx/emqx");
  expect(notice).toContain("docs/");
});

test("CHANGELOG.md is in Keep a Changelog form with an [Unreleased] section first", () => {
  const changelog = read("CHANGELOG.md");
  expect(changelog).toContain("[Keep a Changelog 1.1.0](https://keepachangelog.com/en/1.1.0/)");
  const versions = [...changelog.matchAll(/^## \[([^\]]+)\](.*)$/gm)].map((m) => [m[1], m[2]]);
  expect(versions[0]).toEqual(["Unreleased", ""]);
  // Released versions read `## [1.2.3] - YYYY-MM-DD`.
  expect(
    versions.slice(1).filter(([v, rest]) => !/^\d+\.\d+\.\d+$/.test(v) || !/^ - \d{4}-\d{2}-\d{2}$/.test(rest)),
  ).toEqual([]);
  const headings = [...changelog.matchAll(/^### (.*)$/gm)].map((m) => m[1]);
  expect(
    headings.filter((h) => !["Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"].includes(h)),
  ).toEqual([]);
});

test("the README's supported-versions table states what package.json, ensure-pulumi.sh, this Node and the code say", () => {
  const readme = read("README.md");
  const table = /\n### Supported versions\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? "";
  const row = (what: string) => table.split("\n").find((l) => l.startsWith(`| ${what} |`)) ?? `(no row ${what})`;
  expect(row("Node.js")).toContain(`\`engines\`: \`${pkg.engines.node}\``);
  expect(row("Node.js")).toContain(
    `Node ${process.versions.node.split(".")[0]} (${process.versions.node} on this machine)`,
  );
  const peer = pkg.peerDependencies["@pulumi/pulumi"];
  expect(row("`@pulumi/pulumi`")).toContain(`peer dependency \`${peer}\``);
  expect(row("`@pulumi/pulumi`")).toContain(
    `${peer.slice(1)} (the floor) and ${pkg.devDependencies["@pulumi/pulumi"]} (the newest`,
  );
  const ensure = read("scripts/ensure-pulumi.sh");
  expect(row("Pulumi CLI")).toContain(`${/^PULUMI_VERSION="([^"]+)"/m.exec(ensure)?.[1]}, built by`);
  expect(row("Pulumi CLI")).toContain(`from ${/^MIN_PATH_VERSION="([^"]+)"/m.exec(ensure)?.[1]})`);
  expect(row("TypeScript")).toContain(`TypeScript ${/^\d+\.\d+/.exec(pkg.devDependencies.typescript)?.[0]} in`);

  // The refusals quoted are the code's own words.
  const v = (s: string) => parseEmqxVersion(s) as EmqxVersion;
  expect(row("EMQX 4.3 and older")).toContain(`\`${checkVersionFamily(v("4.3.5"), v("4.3.5"))}\``);
  expect(row("EMQX 4.3 and older")).toContain(`\`${checkVersionFamily(v("4.3.5"), v("4.4.16"))}\``);
  expect(row("EMQX 5.x")).toContain(`\`${checkVersionFamily(v("5.8.0"), v("5.8.0"))}\``);
});
