// provider/cli.ts, the library's command line (`npx pulumi-emqx-release plan-summary < preview.json`):
// what it prints and its exit codes for good and bad input. The table itself is tested in
// test/unit/plan/plan-summary.test.ts on real captured previews.
import * as fs from "fs";
import * as path from "path";
import { main } from "../../provider/cli";

const FIXTURES = path.join(__dirname, "..", "fixtures", "preview-json");

function run(argv: string[], stdin: string): { code: number; out: string; err: string } {
  let out = "";
  let err = "";
  const code = main(
    argv,
    () => stdin,
    (s) => (out += s),
    (s) => (err += s),
  );
  return { code, out, err };
}

describe("pulumi-emqx-release plan-summary", () => {
  test("prints the Markdown table of a real `pulumi preview --json` and exits 0", () => {
    const r = run(["plan-summary"], fs.readFileSync(path.join(FIXTURES, "ci-rollout-create.json"), "utf8"));
    expect(r).toMatchObject({ code: 0, err: "" });
    expect(r.out).toMatch(/^### EMQX rollout plan\n\n\| host \| cluster \| batch \| from -> to \| refusals \|\n/);
  });

  test("--title sets the heading", () => {
    const r = run(
      ["plan-summary", "--title", "Plan for `prod`"],
      fs.readFileSync(path.join(FIXTURES, "ci-rollout-create.json"), "utf8"),
    );
    expect(r.out.split("\n")[0]).toBe("### Plan for `prod`");
  });

  // Row: [what, argv, stdin, exit code, what stderr says].
  const bad: Array<[string, string[], string, number, string]> = [
    [
      "no command",
      [],
      "{}",
      2,
      "pulumi-emqx-release: no command given\nusage: pulumi preview --json | pulumi-emqx-release plan-summary",
    ],
    ["an unknown command", ["summary"], "{}", 2, "pulumi-emqx-release: unknown command 'summary'"],
    [
      "an unknown argument",
      ["plan-summary", "--markdown"],
      "{}",
      2,
      "pulumi-emqx-release plan-summary: unexpected argument '--markdown'",
    ],
    [
      "empty stdin",
      ["plan-summary"],
      "  \n",
      1,
      "nothing on stdin: pipe the output of `pulumi preview --json` into it",
    ],
    [
      "the human preview instead of --json",
      ["plan-summary"],
      "Previewing update (prod):\n",
      1,
      "stdin is not JSON (it starts 'Previewing update (prod):'): pass `pulumi preview --json`, not the human preview",
    ],
    [
      "JSON that is not a preview",
      ["plan-summary"],
      '{"resources": []}',
      1,
      "the input is not the JSON document `pulumi preview --json` prints",
    ],
  ];
  test.each(bad)("fails on %s, saying what to do, and prints nothing on stdout", (_what, argv, stdin, code, says) => {
    const r = run(argv, stdin);
    expect(r.code).toBe(code);
    expect(r.err).toContain(says);
    expect(r.out).toBe("");
  });

  test("--help prints the usage and exits 0", () => {
    const r = run(["--help"], "");
    expect(r).toMatchObject({ code: 0, err: "" });
    expect(r.out).toContain("usage: pulumi preview --json | pulumi-emqx-release plan-summary [--title TEXT]");
  });
});
