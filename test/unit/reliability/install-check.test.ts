// "Files corrupted" (sandbox/install-check.ts, named by test/support/fault-run.ts installChecked): an install as EMQX leaves it has no deviation,
// and each file EMQX would not have left that way is named.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { createEmulatedInstall, emulatorVersions } from "../../../sandbox/emulator/install";
import { installDeviations, parseReleases } from "../../../sandbox/install-check";
import { installChecked } from "../../support/fault-run";
import { INSTALL_CHECKS } from "../../support/reliability-report";

let root: string;
let pkg: string;
const want = () => ({ listed: emulatorVersions(root), version: "4.4.16", packagePath: pkg });
const write = (rel: string, text: string) => fs.writeFileSync(path.join(root, rel), text);
const append = (rel: string, text: string) => fs.appendFileSync(path.join(root, rel), text);

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "install-check-"));
  createEmulatedInstall({
    root,
    version: "4.4.10",
    extraReleases: [
      { version: "4.4.16", status: "unpacked" },
      { version: "4.4.0", status: "old" },
    ],
  });
  pkg = path.join(root, "..", `${path.basename(root)}.zip`);
  fs.writeFileSync(pkg, "the package");
  fs.copyFileSync(pkg, path.join(root, "releases", "emqx-4.4.16-otp24.3.4.2-1-debian12-amd64.zip"));
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(pkg, { force: true });
});

test("an install as EMQX leaves it deviates in nothing, and every check ran", () => {
  expect(installDeviations(root, want())).toEqual([]);
  expect(installChecked(want())).toEqual([...INSTALL_CHECKS]);
  expect(installChecked({ listed: [] })).toEqual(INSTALL_CHECKS.filter((c) => !c.endsWith(".zip")));
});

test.each<[string, () => void, RegExp]>([
  [
    "a zip matching the glob that is not the package",
    () => write("releases/emqx-4.4.16-otp24.3.4.2-1-debian12-amd64.zip", "half"),
    /^releases\/emqx-4\.4\.16-\S+\.zip: matches emqx-\*4\.4\.16\*\.zip but is not the package$/,
  ],
  [
    "RELEASES that does not parse",
    () => write("releases/RELEASES", '%% coding: utf-8\n[{release,"emqx","4.4.10".'),
    /^releases\/RELEASES: does not parse/,
  ],
  [
    "RELEASES listing another status than emqx versions",
    () =>
      write(
        "releases/RELEASES",
        fs.readFileSync(path.join(root, "releases/RELEASES"), "utf8").replace("unpacked}", "old}"),
      ),
    /^releases\/RELEASES: lists 4\.4\.16 old, 4\.4\.10 permanent, 4\.4\.0 old; emqx versions lists 4\.4\.16 unpacked/,
  ],
  [
    "start_erl.data naming another release",
    () => write("releases/start_erl.data", "12.3.2.2 4.4.16"),
    /^releases\/start_erl\.data: "12\.3\.2\.2 4\.4\.16", not "12\.\S+ 4\.4\.10"$/,
  ],
  [
    "emqx_vars whose last REL_VSN is not the permanent",
    () => append("releases/emqx_vars", 'REL_VSN="4.4.16"\n'),
    /^releases\/emqx_vars: last REL_VSN is "4\.4\.16", not "4\.4\.10"$/,
  ],
  [
    "bin/emqx of another release",
    () => fs.copyFileSync(path.join(root, "bin/emqx-4.4.16"), path.join(root, "bin/emqx")),
    /^bin\/emqx: differs from bin\/emqx-4\.4\.10$/,
  ],
  [
    "a bin/<f>-<permanent> missing",
    () => fs.rmSync(path.join(root, "bin/nodetool-4.4.10")),
    /^bin\/nodetool-4\.4\.10: missing$/,
  ],
])("names %s", (_name, damage, says) => {
  damage();
  const found = installDeviations(root, want());
  expect(found).toHaveLength(1);
  expect(found[0]).toMatch(says);
});

test("a current release is written to RELEASES as unpacked, as release_handler writes it", () => {
  const listed = emulatorVersions(root).map((r) => (r.version === "4.4.16" ? { ...r, status: "current" } : r));
  expect(installDeviations(root, { listed })).toEqual([]);
});

test("a permafy stopped after make_permanent: bin/ and emqx_vars stay on the previous release, as EMQX leaves them", () => {
  // make_permanent of 4.4.16 rewrote RELEASES and start_erl.data, and nothing else.
  const text = fs.readFileSync(path.join(root, "releases/RELEASES"), "utf8");
  write(
    "releases/RELEASES",
    text.replace("unpacked}", "PERM}").replace("permanent}", "old}").replace("PERM}", "permanent}"),
  );
  const erts = parseReleases(text).find((r) => r.version === "4.4.16")!.erts;
  write("releases/start_erl.data", `${erts} 4.4.16`);
  const listed = [
    { version: "4.4.16", status: "permanent" },
    { version: "4.4.10", status: "old" },
    { version: "4.4.0", status: "old" },
  ];
  expect(installDeviations(root, { listed, binAndVarsOf: "4.4.10" })).toEqual([]);
  expect(installDeviations(root, { listed }).map((d) => d.split(":")[0])).toEqual([
    "releases/emqx_vars",
    "releases/emqx_vars",
    "bin/emqx",
    "bin/emqx_ctl",
    "bin/nodetool",
    "bin/cuttlefish",
    "bin/install_upgrade.escript",
  ]);
});
