// explainEmqxExit: what each `emqx` exit code means (docs/emqx-4.4-hot-upgrade.md §2.2) and the next step it names.
import { explainEmqxExit } from "../../../provider/emqx/explain-exit";
import { realOutput } from "../../support/real-output";

// Row: [command, exit code, stdout, fragments the explanation must contain]
const ROWS: [string, number | null, string, string[]][] = [
  ["upgrade", 1, "Node is not running!\n", ["not running or not reachable from its CLI (exit 1)", "emqx start"]],
  ["uninstall", 2, "Uninstall failed: permanent\n", ["refused to uninstall 4.4.16 (exit 2)", "running or permanent"]],
  [
    "install",
    2,
    'Unable to revert: {no_such_release,"4.4.16"}\n',
    ["does not know release 4.4.16", "was not unpacked"],
  ],
  [
    "upgrade",
    2,
    "Unpack failed: release_package_not_found\n",
    ["could not unpack 4.4.16", "emqx-*4.4.16*.zip", "nothing was installed"],
  ],
  [
    "upgrade",
    3,
    "ERROR: unable to install '4.4.16' - old processes still running code from module emqx_app\n",
    ["two versions ago", "restart the node"],
  ],
  [
    "uninstall",
    3,
    "ERROR: release_handler:remove_release failed: eacces\n",
    ["could not remove release 4.4.16", "file permissions"],
  ],
  [
    "upgrade",
    3,
    'ERROR: release_handler:check_install_release failed: {no_matching_relup,"4.4.16","4.4.0"}.\n',
    ["refused to install 4.4.16 (exit 3)", "the running release was not changed"],
  ],
  [
    "upgrade",
    4,
    "ERROR: release_handler:install_release failed: bad\n",
    ["failed inside the node (exit 4)", "do not retry"],
  ],
  [
    "upgrade",
    127,
    'Unpacked successfully: "4.4.16".\nInstalled Release: 4.4.16.\nMade release permanent: "4.4.16"\n',
    ["half-done permafy", 'REL_VSN="4.4.16"', "re-running the upgrade cannot repair it"],
  ],
  ["upgrade", 127, "escript: exception error: relup_not_allowed\n", ["only hot-upgrades between patch versions"]],
  // What EMQX prints on stdout for a cross-minor target (the exception itself goes to stderr).
  [
    "upgrade",
    127,
    "Cannot upgrade/downgrade to 4.3.5 from 4.4.16\nWe only support relup between patch versions\n",
    ["only hot-upgrades between patch versions"],
  ],
  ["downgrade", 9, "", ["`emqx downgrade` failed with exit code 9"]],
  ["upgrade", null, "", ["`emqx upgrade` failed with exit code null"]],
];
test.each(ROWS)("emqx %s exiting %s explains itself", (command, exitCode, stdout, fragments) => {
  const text = explainEmqxExit(command, "4.4.16", exitCode, stdout, false);
  for (const f of fragments) expect(text).toContain(f);
});

test("a timeout wins over the exit code and says to look before retrying", () => {
  const text = explainEmqxExit("upgrade", "4.4.16", 4, "ERROR: release_handler:install_release failed: bad\n", true);
  expect(text).toMatch(/^`emqx upgrade 4\.4\.16` did not finish within the timeout/);
  expect(text).toContain("check `emqx versions`");
  expect(text).not.toContain("exit 4");
});

// Row: [exit code, output, whether the explanation says the target stays unpacked]
const AFTER_UNPACK: [number, string, boolean][] = [
  [
    3,
    'unzip ["releases/emqx-4.4.16-otp24.3.4.2-1-debian12-amd64.zip"]\nRelease 4.4.16 not found, attempting to unpack releases/emqx-4.4.16.tar.gz\nUnpacked successfully: "4.4.16".\nERROR: release_handler:check_install_release failed: {no_matching_relup,\n                                                      "4.4.16","4.4.0"}.\n',
    true,
  ],
  [
    3,
    "Release 4.4.16 is already unpacked, now installing.\nERROR: unable to install '4.4.16' - old processes still running code from module emqx_relup\n",
    true,
  ],
  [
    4,
    'Unpacked successfully: "4.4.16".\nERROR: release_handler:install_release failed: {no_matching_relup,"4.4.16",\n                                                "4.4.0"}\n',
    true,
  ],
  [2, "Unpack failed: release_package_not_found\n", false],
  [127, 'Unpacked successfully: "4.4.16".\nInstalled Release: 4.4.16.\nMade release permanent: "4.4.16"\n', false],
];
test.each(AFTER_UNPACK)(
  "exit %s after %j: says the target stays unpacked and how to remove it: %p",
  (exitCode, output, unpacked) => {
    const text = explainEmqxExit("upgrade", "4.4.16", exitCode, output, false);
    if (unpacked)
      expect(text).toContain(
        "4.4.16 stays unpacked on the node (`emqx versions` lists it as unpacked; its files are in releases/4.4.16/ and lib/",
      );
    if (unpacked) expect(text).toContain("run `emqx uninstall 4.4.16` on the node");
    else expect(text).not.toContain("stays unpacked");
  },
);

test("a full disk while unpacking says so and what to free", () => {
  const text = explainEmqxExit(
    "upgrade",
    "4.4.16",
    127,
    'unzip ["x"]\nescript: exception error: no match of right hand side value {error,{"/opt/emqx/releases/emqx-4.4.16.tar.gz",enospc}}\n',
    false,
  );
  expect(text).toMatch(
    /^the EMQX upgrade script ran out of disk space \(exit 127, enospc\) while unpacking 4\.4\.16: nothing was installed; free space/,
  );
});

describe("what EMQX's real scripts printed (test/fixtures/real-4.4)", () => {
  // Row: [capture, exit code, fragments the explanation must contain]
  const REAL: [string, number, string[]][] = [
    ["A104", 1, ["not running or not reachable from its CLI (exit 1)"]],
    ["B104", 1, ["not running or not reachable from its CLI (exit 1)"]],
    ["B11", 2, ["could not unpack 4.4.1 (exit 2)", "nothing was installed"]],
    ["A11", 2, ["could not unpack 4.4.17 (exit 2)", "nothing was installed"]],
    ["A29", 2, ["refused to uninstall 4.4.16 (exit 2)"]],
    ["A36", 2, ["refused to uninstall 4.4.17 (exit 2)"]],
    ["A93", 3, ["refused to install 4.4.18 (exit 3)", "4.4.18 stays unpacked on the node"]],
    ["A89", 4, ["failed inside the node (exit 4)", "do not retry", "4.4.18 stays unpacked on the node"]],
    ["A13", 127, ["only hot-upgrades between patch versions"]],
    ["A14", 127, ["upgrade script crashed (exit 127)"]],
    ["A68", 127, ["upgrade script crashed (exit 127)"]],
    ["A96", 127, ["upgrade script crashed (exit 127)"]],
  ];
  test.each(REAL)("%s exits %s", (id, exitCode, fragments) => {
    const c = realOutput(id);
    expect(c.exitCode).toBe(exitCode);
    const [command, version] = c.command.split(" ").slice(1);
    // As the CLI passes it: stdout, then stderr (A13's exception is on stderr, its explanation on stdout).
    for (const output of [`${c.stdout}\n${c.stderr}`, c.stdout]) {
      const text = explainEmqxExit(command, version, c.exitCode, output, false);
      for (const f of fragments) expect(text).toContain(f);
    }
  });
});
