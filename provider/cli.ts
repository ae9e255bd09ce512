#!/usr/bin/env node
// The library's command line (package.json `bin`): `npx pulumi-emqx-release plan-summary < preview.json`
// prints the Markdown table of a rollout (provider/plan/plan-summary.ts) from the document
// `pulumi preview --json` wrote, e.g. for a pull request's summary page.
import * as fs from "fs";
import { PlanSummaryInputError, renderPlanSummary } from "./plan/plan-summary";

const USAGE = `usage: pulumi preview --json | pulumi-emqx-release plan-summary [--title TEXT]
  Prints a Markdown table of the EMQX nodes in the preview: host, cluster, batch, from -> to, refusals.`;

/** Runs the CLI; returns the exit code (0 ok, 1 bad input, 2 bad usage). */
export function main(argv: string[], stdin: () => string, out: (s: string) => void, err: (s: string) => void): number {
  const [command, ...rest] = argv;
  if (command === "--help" || command === "-h") {
    out(`${USAGE}\n`);
    return 0;
  }
  if (command !== "plan-summary") {
    err(
      `pulumi-emqx-release: ${command === undefined ? "no command given" : `unknown command '${command}'`}\n${USAGE}\n`,
    );
    return 2;
  }
  let title: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === "--title" && i + 1 < rest.length) title = rest[++i];
    else {
      err(`pulumi-emqx-release plan-summary: unexpected argument '${rest[i]}'\n${USAGE}\n`);
      return 2;
    }
  }
  const text = stdin();
  if (text.trim() === "") {
    err("pulumi-emqx-release plan-summary: nothing on stdin: pipe the output of `pulumi preview --json` into it\n");
    return 1;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    err(
      `pulumi-emqx-release plan-summary: stdin is not JSON (it starts '${text.trim().slice(0, 40)}'): pass \`pulumi preview --json\`, not the human preview\n`,
    );
    return 1;
  }
  try {
    out(renderPlanSummary(doc, title));
    return 0;
  } catch (e) {
    if (e instanceof PlanSummaryInputError) {
      err(`pulumi-emqx-release plan-summary: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

if (require.main === module) {
  process.exitCode = main(
    process.argv.slice(2),
    () => fs.readFileSync(0, "utf8"),
    (s) => process.stdout.write(s),
    (s) => process.stderr.write(s),
  );
}
