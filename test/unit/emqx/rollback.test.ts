// rollBackAfterFailedGate with a scripted Runner: nothing runs unless onGateFailure is "downgrade"
// and the way back exists; a failed downgrade says both versions. (The downgrade that works, with
// its verification, runs on a real OTP node in client-impact.otp-host.test.ts.)
import { RemoteCommandError } from "../../../provider/errors";
import { EmqxCli } from "../../../provider/emqx/cli";
import { rollBackAfterFailedGate } from "../../../provider/emqx/rollback";
import type { CommandResult, Runner } from "../../../provider/runner";
import { resolveInputs } from "../../../provider/plan/inputs";
import type { HostFacts } from "../../../provider/plan/host-facts";

const EMQX = "/opt/emqx/bin/emqx";
const FACTS: HostFacts = {
  osId: "ubuntu20.04",
  arch: "amd64",
  otpMajor: 24,
  edition: "ce",
  binScriptsVersion: "4.4.3",
  relupDownTo: ["4.4.0", "4.4.1", "4.4.2"],
};
const INSTALLED = [
  { version: "4.4.3", status: "permanent" as const },
  { version: "4.4.2", status: "old" as const },
];

class ScriptedRunner implements Runner {
  readonly host = "10.0.0.7";
  readonly calls: string[] = [];
  constructor(private readonly answers: Record<string, Partial<CommandResult>>) {}
  async run(argv: string[]): Promise<CommandResult> {
    const key = argv.join(" ");
    this.calls.push(key);
    const a = this.answers[key];
    if (!a) throw new Error(`unexpected command: ${key}`);
    return { exitCode: 0, signal: null, stdout: "", stderr: "", timedOut: false, ...a };
  }
}

function setup(onGateFailure: "halt" | "downgrade" | undefined, answers: Record<string, Partial<CommandResult>> = {}) {
  const runner = new ScriptedRunner(answers);
  const cli = new EmqxCli(runner, { emqxPath: EMQX, commandTimeoutMs: 60_000, upgradeTimeoutMs: 400_000 });
  const want = resolveInputs({
    connection: { host: "10.0.0.7" },
    version: "4.4.3",
    packagePath: "/p/emqx-4.4.3-otp24.3.4.2-1-ubuntu20.04-amd64.zip",
    onGateFailure,
  });
  const log: string[] = [];
  const ctx = {
    cli,
    log: (l: string) => void log.push(l),
    upload: async () => ({ skipped: true, bytesSent: 0 }),
    who: "test",
  };
  return { runner, want, ctx, log };
}

const node = (over: object = {}) => ({
  rootDir: "/opt/emqx",
  action: "upgrade",
  from: "4.4.3",
  to: "4.4.2",
  installed: INSTALLED,
  facts: FACTS,
  ...over,
});

test("with the default onGateFailure (halt) nothing is run and nothing recorded", async () => {
  const { runner, want, ctx } = setup(undefined);
  expect(await rollBackAfterFailedGate(ctx, want, node())).toEqual({});
  expect(runner.calls).toEqual([]);
});

// Row: [case, node change, refusal]
const REFUSED: [string, object, RegExp][] = [
  [
    "halts when the previous release was uninstalled",
    { installed: [INSTALLED[0]] },
    /4\.4\.2 is no longer installed as an old release/,
  ],
  [
    "halts when the relup has no way down",
    { facts: { ...FACTS, relupDownTo: ["4.4.0"] } },
    /4\.4\.3's relup has no way down to 4\.4\.2/,
  ],
  [
    "halts after a declared downgrade (there is no upgrade to undo)",
    { action: "downgrade" },
    /the failed operation was a downgrade, not an upgrade/,
  ],
];
test.each(REFUSED)("%s, runs nothing and says why", async (_c, over, why) => {
  const { runner, want, ctx, log } = setup("downgrade");
  const r = await rollBackAfterFailedGate(ctx, want, node(over));
  expect(r.rollbackRefused).toMatch(why);
  expect(r.rolledBack).toBeUndefined();
  expect(runner.calls).toEqual([]);
  expect(log[0]).toMatch(/^gate failed; onGateFailure is "downgrade" but the node stays on 4\.4\.3: /);
});

test("fails naming both versions when the downgrade itself fails", async () => {
  const { runner, want, ctx } = setup("downgrade", {
    [`${EMQX} downgrade 4.4.2`]: { exitCode: 1, stdout: "Node is not running!\n" },
  });
  const e = await rollBackAfterFailedGate(ctx, want, node()).catch((x: Error) => x);
  expect(RemoteCommandError.isInstance(e)).toBe(true);
  expect((e as Error).message).toMatch(
    /^the gate failed after the upgrade to 4\.4\.3 and the automatic rollback to 4\.4\.2 failed too: /,
  );
  expect(runner.calls).toEqual([`${EMQX} downgrade 4.4.2`]);
});
