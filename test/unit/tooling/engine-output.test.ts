// The engine's output as the demo and a CI log show it (sandbox/engine-output.ts): the
// progress spinner's text is removed, and the stack driver asks every operation for output without
// it (--suppress-progress, --color never) and prints what comes without it.
import type { Stack } from "@pulumi/pulumi/automation";
import { CLEAN_OUTPUT, CLEAN_OUTPUT_FLAGS, stripProgress } from "../../../sandbox/engine-output";
import { OP_PREFIX, runOp, type OpName, type StackDriverSpec } from "../../../sandbox/stack-driver";

// Row: [a line of engine output, what is shown (undefined: the line is dropped)]
const ROWS: [string, string | undefined][] = [
  ["@ updating....", undefined],
  ["@ previewing...", undefined],
  ["@ destroying.......  ", undefined],
  ["\u2728 updating....", undefined],
  [
    "@ updating....    pulumi:pulumi:Stack emqx-sandbox-demo running [EmqxRelease host=127.0.0.75] upload",
    "    pulumi:pulumi:Stack emqx-sandbox-demo running [EmqxRelease host=127.0.0.75] upload",
  ],
  [
    "    pulumi:pulumi:Stack emqx-sandbox-demo running [EmqxRelease host=127.0.0.75] upgrade 4.4.2",
    "    pulumi:pulumi:Stack emqx-sandbox-demo running [EmqxRelease host=127.0.0.75] upgrade 4.4.2",
  ],
  [
    " ~  pulumi-nodejs:dynamic/emqx:EmqxRelease emqx-1 updating (0s) [diff: ~packagePath,version]",
    " ~  pulumi-nodejs:dynamic/emqx:EmqxRelease emqx-1 updating (0s) [diff: ~packagePath,version]",
  ],
  ["Updating (demo):", "Updating (demo):"],
  ["@ 10.0.0.7: upload", "@ 10.0.0.7: upload"],
  ["", ""],
];
test.each(ROWS)("stripProgress(%j) is %j", (line, shown) => expect(stripProgress(line)).toBe(shown));

test("stripProgress stays fast on a pathological line", () => {
  const start = Date.now();
  stripProgress(`@ ${"a".repeat(100_000)}${".".repeat(100_000)}x`);
  expect(Date.now() - start).toBeLessThan(500);
});

test("the CLI flags say what the Automation API options say", () => {
  expect(CLEAN_OUTPUT).toEqual({ color: "never", suppressProgress: true });
  expect(CLEAN_OUTPUT_FLAGS).toEqual(["--color", "never", "--suppress-progress"]);
});

test("the stack driver asks preview, up, refresh and destroy for clean output, and prints the engine's lines without spinner text", async () => {
  const seen: Record<string, Record<string, unknown>> = {};
  const operation = (name: string, result: unknown) => async (opts: Record<string, unknown>) => {
    seen[name] = opts;
    const onOutput = opts.onOutput as (s: string) => void;
    // The spinner writes `@ updating...` and a dot per tick, in chunks of their own; the op may
    // end while it is on the line (no newline yet).
    onOutput("Updating (demo):\n@ updating...");
    onOutput(".");
    onOutput(".\n    pulumi:pulumi:Stack demo running [EmqxRelease host=h] upload\n@ updating....");
    return result;
  };
  const summary = { resourceChanges: {} };
  const stack = {
    preview: operation("preview", { changeSummary: {} }),
    up: operation("up", { summary, outputs: {} }),
    refresh: operation("refresh", { summary }),
    destroy: operation("destroy", { summary }),
  } as unknown as Stack;
  const spec = {
    workDir: "/w",
    workspaceDir: "/w",
    projectName: "p",
    stackName: "s",
    programModule: "/w/p.js",
    ops: [],
  } as StackDriverSpec;
  const printed: string[] = [];
  const write = jest.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    printed.push(String(chunk));
    return true;
  });
  try {
    for (const op of ["preview", "up", "refresh", "destroy"] as OpName[]) {
      const r = await runOp(stack, spec, { op }, new AbortController().signal);
      expect([op, r.ok, r.error]).toEqual([op, true, undefined]);
    }
  } finally {
    write.mockRestore();
  }
  for (const name of ["preview", "up", "refresh", "destroy"])
    expect([name, seen[name]]).toEqual([name, expect.objectContaining(CLEAN_OUTPUT)]);
  const lines = printed
    .join("")
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith(OP_PREFIX));
  expect(lines).toEqual(
    Array(4).fill(["Updating (demo):", "    pulumi:pulumi:Stack demo running [EmqxRelease host=h] upload"]).flat(),
  );
});
