// A Runner that answers from a script of fixture results and records every argv it was given,
// so unit tests can prove which commands ran (and that none ran).
import type { CommandResult, Runner, RunOptions } from "../../provider/runner";

/** One scripted answer: a matcher on the joined argv, and the result to give. */
export interface FixtureAnswer {
  match: RegExp;
  result: Partial<CommandResult>;
}

/** Records argv and answers with the first matching fixture (exit 127 "not found" otherwise). */
export class FixtureRunner implements Runner {
  readonly host = "10.0.0.7";
  readonly calls: { argv: string[]; options?: RunOptions }[] = [];
  constructor(private readonly answers: FixtureAnswer[] = []) {}
  async run(argv: string[], options?: RunOptions): Promise<CommandResult> {
    this.calls.push({ argv, options });
    const joined = argv.join(" ");
    const a = this.answers.find((x) => x.match.test(joined));
    return {
      exitCode: 127,
      signal: null,
      stdout: "",
      stderr: `sh: ${argv[0]}: not found`,
      timedOut: false,
      ...(a ? { exitCode: 0, stderr: "", ...a.result } : {}),
    };
  }
}
