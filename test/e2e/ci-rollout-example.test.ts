// examples/ci-rollout, the project a user copies to roll EMQX out from GitHub Actions, three ways:
// 1. its workflow passes actionlint (the pinned build from scripts/ensure-actionlint.sh), and copies
//    with a deliberate mistake fail it, so the pass means something;
// 2. what the scripts check before any pulumi call (the downloaded plan, their environment), and
//    find-plan-run.sh against a recording `gh` (GitHub's API cannot be reached from a test);
// 3. the jobs on the real pulumi CLI and language host, the example copied as a project with the
//    packed library: the pull request's preview-plan.sh (the plan saved, the Markdown table of
//    `pulumi-emqx-release plan-summary`, a refused version), main's apply-plan.sh (a plan refused
//    after the config changed, then applied as approved) and the schedule's check-drift.sh (passes,
//    then fails after a node was downgraded by hand), with no secret in any log or summary.
import { execFileSync, spawnSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { setFleetConfig } from "../../sandbox/cli-output";
import { newCliProject, type CliProject } from "../../sandbox/cli-project";
import { REPO_ROOT } from "../../sandbox/engine";
import { emulatorVersions } from "../../sandbox/emulator/install";
import { keySlices, scanForSecrets, withJsonEscaped } from "../support/secret-scan";
import { packageShelf, startTestHost, type TestHost, shareClientKey } from "../../sandbox/test-host";

jest.setTimeout(10 * 60 * 1000);
const EXAMPLE = path.join(REPO_ROOT, "examples", "ci-rollout");
const WORKFLOW = path.join(EXAMPLE, ".github", "workflows", "emqx-rollout.yml");
const SCRIPTS = path.join(EXAMPLE, "scripts");

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "emqx-ci-rollout-"));
});
afterAll(() => {
  if (!process.env.EMQX_E2E_KEEP_DIRS) fs.rmSync(tmp, { recursive: true, force: true });
});

describe("the workflow passes actionlint", () => {
  let actionlint: string;

  /** Builds (once) or finds the pinned actionlint; a failure is the script's own reason. */
  function ensureActionlint(): string {
    const res = spawnSync("bash", [path.join(REPO_ROOT, "scripts", "ensure-actionlint.sh")], {
      encoding: "utf8",
      timeout: 20 * 60 * 1000,
    });
    const bin = res.stdout.trim();
    if (res.status !== 0 || !path.isAbsolute(bin)) {
      throw new Error(
        `scripts/ensure-actionlint.sh failed (exit ${res.status}${res.error ? `, ${res.error.message}` : ""}): it builds actionlint with Go from the module proxy\n${res.stderr.trim().split("\n").slice(-20).join("\n")}`,
      );
    }
    return bin;
  }

  function lint(file: string): { status: number | null; output: string } {
    const res = spawnSync(actionlint, ["-no-color", file], {
      encoding: "utf8",
      cwd: path.dirname(file),
      timeout: 60_000,
    });
    return { status: res.status, output: `${res.stdout}${res.stderr}` };
  }

  beforeAll(() => {
    actionlint = ensureActionlint();
  });

  test("actionlint v1.7.12 reports nothing on .github/workflows/emqx-rollout.yml", () => {
    expect(spawnSync(actionlint, ["-version"], { encoding: "utf8" }).stdout.split("\n")[0]).toBe("v1.7.12");
    expect(lint(WORKFLOW)).toEqual({ status: 0, output: "" });
  });

  // Row: [the mistake, text replaced in the workflow, its replacement, what actionlint says].
  const mistakes: Array<[string, string, string, RegExp]> = [
    ["an unknown runner label", "runs-on: ubuntu-latest", "runs-on: ubuntu-latst", /label "ubuntu-latst" is unknown/],
    [
      "an expression naming a step that does not exist",
      "steps.plan-run.outputs.run-id",
      "steps.plan-rn.outputs.run-id",
      /property "plan-rn" is not defined/,
    ],
    [
      "a misspelt input of pulumi/actions",
      "pulumi-version:",
      "pulumi-verison:",
      /input "pulumi-verison" is not defined in action "pulumi\/actions@v6"/,
    ],
  ];
  test.each(mistakes)("fails a copy of the workflow with %s", (_what, from, to, says) => {
    const text = fs.readFileSync(WORKFLOW, "utf8");
    expect(text).toContain(from);
    const dir = fs.mkdtempSync(path.join(tmp, "lint-"));
    const copy = path.join(dir, ".github", "workflows", "emqx-rollout.yml");
    fs.mkdirSync(path.dirname(copy), { recursive: true });
    fs.writeFileSync(copy, text.replace(from, to));
    const res = lint(copy);
    expect(res.status).toBe(1);
    expect(res.output).toMatch(says);
  });

  test("every run step calls npm ci or a script of the example, so the logic lives in scripts/", () => {
    const runs = [...fs.readFileSync(WORKFLOW, "utf8").matchAll(/^\s*(?:- )?run: (.*)$/gm)].map((m) => m[1]);
    const isScript = (run: string) => {
      const script = /^bash (scripts\/[\w-]+\.sh)$/.exec(run)?.[1];
      return script !== undefined && fs.existsSync(path.join(EXAMPLE, script));
    };
    expect(runs).toContain("bash scripts/apply-plan.sh");
    expect(runs.filter((run) => run !== "npm ci" && !isScript(run))).toEqual([]);
  });
});

describe("the scripts the steps call, against a recording pulumi and gh", () => {
  const PASSPHRASE = randomBytes(16).toString("hex");
  const GH_TOKEN = `ghs_${randomBytes(16).toString("hex")}`;
  const HEAD = "1".repeat(40);
  const MERGE = "2".repeat(40);
  let shims: string;

  /** One call of a shim: the directory it ran in, whether the passphrase reached it, its argv. */
  interface ShimCall {
    cwd: string;
    passphraseSet: boolean;
    argv: string[];
  }

  // Each shim logs a call as: cwd, "passphrase=set|unset", one argument per line, "--end".
  // The pulumi one is a guard for the checks the scripts make before any pulumi call: it records
  // the call and fails. What the scripts do with pulumi is tested on the real CLI below.
  const PULUMI_SHIM = `#!/bin/sh
{ pwd; if [ -n "$PULUMI_CONFIG_PASSPHRASE" ]; then echo passphrase=set; else echo passphrase=unset; fi
  for a in "$@"; do echo "$a"; done; echo --end; } >>"$SHIM_DIR/pulumi.log"
echo "pulumi guard: the script should have failed before calling pulumi" >&2
exit 99
`;
  const GH_SHIM = `#!/bin/sh
{ pwd; echo passphrase=n/a; for a in "$@"; do echo "$a"; done; echo --end; } >>"$SHIM_DIR/gh.log"
case "$1 $2" in
"api "*) cat "$SHIM_DIR/pulls.json" ;;
"run list") cat "$SHIM_DIR/runs.json" ;;
*) echo "gh shim: unexpected call: $*" >&2; exit 2 ;;
esac
`;

  function calls(tool: "pulumi" | "gh"): ShimCall[] {
    const file = path.join(shims, `${tool}.log`);
    if (!fs.existsSync(file)) return [];
    return fs
      .readFileSync(file, "utf8")
      .split("--end\n")
      .filter(Boolean)
      .map((block) => {
        const [cwd, passphrase, ...argv] = block.replace(/\n$/, "").split("\n");
        return { cwd, passphraseSet: passphrase === "passphrase=set", argv };
      });
  }

  interface ScriptRun {
    status: number | null;
    stdout: string;
    stderr: string;
    /** What the script appended to $GITHUB_STEP_SUMMARY. */
    summary: string;
    /** What it appended to $GITHUB_OUTPUT. */
    outputs: string;
  }

  /** Runs a script of the example from `dir` (default: a fresh directory) with only `env` plus PATH
   * (the shims first) and HOME: nothing of this test process's environment leaks in. */
  function script(name: string, env: Record<string, string>, dir = fs.mkdtempSync(path.join(tmp, "job-"))): ScriptRun {
    const summaryFile = path.join(dir, "step-summary.md");
    const outputFile = path.join(dir, "github-output");
    const res = spawnSync("bash", [path.join(SCRIPTS, name)], {
      cwd: dir,
      encoding: "utf8",
      timeout: 60_000,
      env: {
        PATH: `${shims}${path.delimiter}${process.env.PATH}`,
        HOME: dir,
        SHIM_DIR: shims,
        GITHUB_STEP_SUMMARY: summaryFile,
        GITHUB_OUTPUT: outputFile,
        ...env,
      },
    });
    const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8") : "");
    return {
      status: res.status,
      stdout: res.stdout,
      stderr: res.stderr,
      summary: read(summaryFile),
      outputs: read(outputFile),
    };
  }

  const jobEnv = (extra: Record<string, string> = {}) => ({
    STACK: "prod",
    PLAN_FILE: "emqx-rollout.plan.json",
    PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
    ...extra,
  });

  /** A directory holding a plan file with `content` (or none), as the download step leaves it. */
  function downloaded(content?: string): string {
    const dir = fs.mkdtempSync(path.join(tmp, "job-"));
    if (content !== undefined) fs.writeFileSync(path.join(dir, "emqx-rollout.plan.json"), content);
    return dir;
  }

  beforeEach(() => {
    shims = fs.mkdtempSync(path.join(tmp, "shims-"));
    fs.writeFileSync(path.join(shims, "pulumi"), PULUMI_SHIM, { mode: 0o755 });
    fs.writeFileSync(path.join(shims, "gh"), GH_SHIM, { mode: 0o755 });
  });

  // Row: [the plan file as downloaded (undefined: none), the reason apply-plan.sh gives].
  const badPlans: Array<[string, string | undefined, RegExp]> = [
    [
      "missing",
      undefined,
      /^apply-plan: no plan at \/\S+\/emqx-rollout\.plan\.json: download the artifact the pull request's preview uploaded/,
    ],
    ["empty", "", /^apply-plan: the plan \S+ is empty: the artifact is damaged; rerun the preview/],
    [
      "not JSON",
      "<html>rate limited</html>",
      /^apply-plan: the plan \S+ is not a JSON object as 'pulumi preview --save-plan' writes it/,
    ],
    ["JSON but not an object", "[1, 2]", /^apply-plan: the plan \S+ is not a JSON object/],
  ];
  test.each(badPlans)(
    "fails apply-plan.sh when the plan file is %s, without calling pulumi",
    (_what, content, says) => {
      const res = script("apply-plan.sh", jobEnv(), downloaded(content));
      expect(res.status).toBe(1);
      expect(res.stderr).toMatch(says);
      expect(res.stderr).toContain('README.md "When the plan no longer matches"');
      expect(calls("pulumi")).toEqual([]);
    },
  );

  // Row: [script, the variable left unset, the start of the message].
  const unset: Array<[string, string, string]> = [
    ["preview-plan.sh", "STACK", "preview-plan: STACK is not set: the Pulumi stack to preview, e.g. STACK=prod"],
    ["preview-plan.sh", "PLAN_FILE", "preview-plan: PLAN_FILE is not set: where to save the plan"],
    ["apply-plan.sh", "STACK", "apply-plan: STACK is not set: the Pulumi stack to update, e.g. STACK=prod"],
    ["apply-plan.sh", "PLAN_FILE", "apply-plan: PLAN_FILE is not set: the plan saved by the pull request's preview"],
  ];
  test.each(unset)("fails %s clearly when %s is not set, before calling pulumi", (name, variable, says) => {
    const env: Record<string, string> = jobEnv();
    delete env[variable];
    const res = script(name, env, downloaded("{}"));
    expect(res.status).toBe(1);
    expect(res.stderr.startsWith(says)).toBe(true);
    expect(calls("pulumi")).toEqual([]);
  });

  describe("find-plan-run.sh", () => {
    const ghEnv = (extra: Record<string, string> = {}) => ({
      GITHUB_REPOSITORY: "acme/emqx-fleet",
      GITHUB_SHA: MERGE,
      GITHUB_WORKFLOW_REF: "acme/emqx-fleet/.github/workflows/emqx-rollout.yml@refs/heads/main",
      GH_TOKEN,
      ...extra,
    });
    // The commit's pulls as GitHub lists them: the merged PR, and an open one whose branch contains the commit.
    const pulls = (mergeSha: string) => [
      { number: 8, merged_at: null, merge_commit_sha: "3".repeat(40), head: { sha: "4".repeat(40) } },
      { number: 7, merged_at: "2025-01-01T00:00:00Z", merge_commit_sha: mergeSha, head: { sha: HEAD } },
    ];
    function fixtures(pullList: object[], runs: object[]): void {
      fs.writeFileSync(path.join(shims, "pulls.json"), JSON.stringify(pullList));
      fs.writeFileSync(path.join(shims, "runs.json"), JSON.stringify(runs));
    }

    test("finds the newest successful pull_request run on the merged pull request's head commit", () => {
      fixtures(pulls(MERGE), [{ databaseId: 1234567 }]);
      const res = script("find-plan-run.sh", ghEnv());
      expect(res.status).toBe(0);
      expect(calls("gh").map((c) => c.argv)).toEqual([
        ["api", `repos/acme/emqx-fleet/commits/${MERGE}/pulls`],
        [
          "run",
          "list",
          "--repo",
          "acme/emqx-fleet",
          "--workflow",
          "emqx-rollout.yml",
          "--commit",
          HEAD,
          "--event",
          "pull_request",
          "--status",
          "success",
          "--limit",
          "1",
          "--json",
          "databaseId",
        ],
      ]);
      expect(res.outputs).toBe(`run-id=1234567\npr=7\nhead-sha=${HEAD}\n`);
      expect(res.stdout).toBe(`pull request #7 (head ${HEAD}): plan from run 1234567\n`);
    });

    test("fails for a push that no pull request was merged as: there is no approved plan", () => {
      fixtures(pulls("5".repeat(40)), []);
      const res = script("find-plan-run.sh", ghEnv());
      expect(res.status).toBe(1);
      expect(res.stderr).toContain(`find-plan-run: no pull request was merged as ${MERGE}`);
      expect(res.outputs).toBe("");
    });

    test("fails when the merged pull request has no successful preview run", () => {
      fixtures(pulls(MERGE), []);
      const res = script("find-plan-run.sh", ghEnv());
      expect(res.status).toBe(1);
      expect(res.stderr).toContain(
        `find-plan-run: pull request #7 was merged without a successful 'emqx-rollout.yml' run on its head commit ${HEAD}, so no plan was approved`,
      );
    });

    test("fails without GH_TOKEN, saying which token and permissions to give", () => {
      const env: Record<string, string> = ghEnv();
      delete env.GH_TOKEN;
      const res = script("find-plan-run.sh", env);
      expect(res.status).toBe(1);
      expect(res.stderr).toContain(
        "find-plan-run: GH_TOKEN is not set: give the step env GH_TOKEN: ${{ github.token }}, with job permissions actions: read and pull-requests: read",
      );
      expect(calls("gh")).toEqual([]);
    });
  });

  test("find-plan-run.sh never prints GH_TOKEN, whether it finds the run or fails", () => {
    fs.writeFileSync(
      path.join(shims, "pulls.json"),
      JSON.stringify([{ number: 7, merged_at: "2025-01-01T00:00:00Z", merge_commit_sha: MERGE, head: { sha: HEAD } }]),
    );
    const env = {
      GITHUB_REPOSITORY: "acme/x",
      GITHUB_SHA: MERGE,
      GITHUB_WORKFLOW_REF: "acme/x/.github/workflows/w.yml@refs/heads/main",
      GH_TOKEN,
      PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
    };
    fs.writeFileSync(path.join(shims, "runs.json"), JSON.stringify([{ databaseId: 1 }]));
    const found = script("find-plan-run.sh", env);
    fs.writeFileSync(path.join(shims, "runs.json"), "[]");
    const failed = script("find-plan-run.sh", env);
    expect([found.status, failed.status]).toEqual([0, 1]);
    const sources = [found, failed].flatMap((r, i) => [
      { source: `run ${i} stdout`, text: r.stdout },
      { source: `run ${i} stderr`, text: r.stderr },
      { source: `run ${i} outputs`, text: r.outputs },
    ]);
    expect(
      scanForSecrets(sources, [
        { label: "PULUMI_CONFIG_PASSPHRASE", value: PASSPHRASE },
        { label: "GH_TOKEN", value: GH_TOKEN },
      ]),
    ).toEqual([]);
  });
});

describe("the jobs on the real pulumi CLI: examples/ci-rollout as a project over two emulated EMQX 4.4.0 nodes", () => {
  const hosts: TestHost[] = [];
  const packages: Record<string, string> = {};
  let shelfDir: string;
  let p: CliProject;
  /** Every script run, for the secret scan at the end. */
  const runs: ScriptRun[] = [];
  /** The plan saved by the pull request's preview, as the download step leaves it in the apply job. */
  let approved: string;

  interface ScriptRun {
    status: number | null;
    stdout: string;
    stderr: string;
    summary: string;
    dir: string;
  }

  /** Runs scripts/<name> of the copied project from a fresh job directory, with the project's
   * environment (the engine on PATH, the file backend, the passphrase) as the workflow's env gives it. */
  async function job(name: string, env: Record<string, string>): Promise<ScriptRun> {
    const dir = fs.mkdtempSync(path.join(tmp, "job-"));
    const summaryFile = path.join(dir, "step-summary.md");
    const r = await p.pulumi([path.join(p.dir, "scripts", name)], {
      command: "bash",
      cwd: dir,
      env: { STACK: "prod", GITHUB_STEP_SUMMARY: summaryFile, ...env },
    });
    const run = {
      status: r.code,
      stdout: r.stdout,
      stderr: r.stderr,
      summary: fs.existsSync(summaryFile) ? fs.readFileSync(summaryFile, "utf8") : "",
      dir,
    };
    runs.push(run);
    return run;
  }

  const untouched = () => hosts.map((h) => `${h.fingerprint()} ssh=${h.sshd.connectionCount()}`);
  const running = (h: TestHost) =>
    emulatorVersions(h.root).find((r) => r.status === "current" || r.status === "permanent")?.version;
  const row = (i: number, rest: string) =>
    `| n${i + 1} (${hosts[i].connection.host}:${hosts[i].connection.port}) | a | ${rest}`;

  beforeAll(async () => {
    for (let i = 0; i < 2; i++) hosts.push(await startTestHost({ version: "4.4.0" }, `127.0.0.${61 + i}`));
    shareClientKey(hosts);
    const shelf = packageShelf();
    shelfDir = shelf.dir;
    for (const v of ["4.4.16", "4.4.17"]) packages[v] = await shelf.build({ version: v });
    p = newCliProject("ci-rollout");
    await p.pulumiOk(["stack", "init", "prod"]);
    await setFleetConfig(p, hosts, "4.4.16", packages["4.4.16"], { names: ["n1", "n2"], cluster: "a" });
  });

  afterAll(async () => {
    for (const h of hosts) await h.stop();
    p?.cleanup();
    if (shelfDir) fs.rmSync(shelfDir, { recursive: true, force: true });
  });

  test("pull request, a refused version: preview-plan.sh fails, saves no plan, and the table shows the refusals", async () => {
    await p.pulumiOk(["config", "set", "version", "4.3.16"]);
    const before = untouched();
    const r = await job("preview-plan.sh", { PLAN_FILE: "emqx-rollout.plan.json" });
    await p.pulumiOk(["config", "set", "version", "4.4.16"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      "preview-plan: pulumi preview failed (exit 1): fix what the refusals above say and push again; no plan was saved",
    );
    expect(fs.existsSync(path.join(r.dir, "emqx-rollout.plan.json"))).toBe(false);
    expect(r.summary).toContain("### EMQX rollout: the preview of stack `prod` failed, no plan was saved");
    // The engine stops at the first node it checks; the fleet's own check names all of them.
    expect(r.summary).toMatch(
      /\| emqx-n1 \| {2}\| {2}\| refused \| EmqxRelease manages EMQX 4\.4 only; 4\.3\.16 is not a 4\.4 patch version/,
    );
    expect(r.summary).toContain(
      "- EmqxFleet emqx: version (all 2 hosts): EmqxRelease manages EMQX 4.4 only; 4.3.16 is not a 4.4 patch version",
    );
    expect(r.summary).not.toContain("Resources:");
    expect(r.stdout).toContain("**Refused**");
    expect(untouched()).toEqual(before);
  });

  test("pull request: preview-plan.sh saves the plan and renders the preview as a Markdown table, contacting no host", async () => {
    const before = untouched();
    const r = await job("preview-plan.sh", { PLAN_FILE: "emqx-rollout.plan.json" });
    expect(r.status).toBe(0);
    approved = path.join(r.dir, "emqx-rollout.plan.json");
    const plan = JSON.parse(fs.readFileSync(approved, "utf8"));
    expect(Object.keys(plan.resourcePlans).filter((urn) => /EmqxRelease::emqx-n[12]$/.test(urn))).toHaveLength(2);
    expect(r.summary).toContain("### EMQX rollout plan for stack `prod`");
    expect(r.summary).toContain("| host | cluster | batch | from -> to | refusals |");
    // One canary, then the other node: nodes new to the stack show `?` until up reads them.
    expect(r.summary).toContain(`${row(0, "1 | ? -> 4.4.16 |  |")}`);
    expect(r.summary).toContain(`${row(1, "2 | ? -> 4.4.16 |  |")}`);
    expect(r.summary).toContain("Merging this pull request runs `pulumi up --plan` with exactly this plan");
    expect(r.stdout).toContain("| host | cluster | batch |"); // the table is in the job log too
    const needles = keySlices(hosts[0].connection.privateKey).flatMap((s, i) =>
      withJsonEscaped(`privateKey slice ${i}`, s),
    );
    expect(scanForSecrets([{ source: approved, text: fs.readFileSync(approved, "utf8") }], needles)).toEqual([]);
    expect(untouched()).toEqual(before);
  });

  test("a changed stack in between: apply-plan.sh refuses the plan when the config moved to 4.4.17, touching no host", async () => {
    await p.pulumiOk(["config", "set", "version", "4.4.17"]);
    await p.pulumiOk(["config", "set", "packagePath", packages["4.4.17"]]);
    const before = untouched();
    const r = await job("apply-plan.sh", { PLAN_FILE: approved });
    await p.pulumiOk(["config", "set", "version", "4.4.16"]);
    await p.pulumiOk(["config", "set", "packagePath", packages["4.4.16"]]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/violates plan: properties changed: .*version\[\{4\.4\.16\}!=\{4\.4\.17\}\]/);
    expect(r.stderr).toContain(
      "apply-plan: pulumi up --plan failed (exit 1): the plan no longer matches the program, its config or the stack's state",
    );
    expect(r.summary).toContain("### EMQX rollout of stack `prod` failed");
    expect(untouched()).toEqual(before);
    expect(hosts.map(running)).toEqual(["4.4.0", "4.4.0"]);
  });

  test("main: apply-plan.sh applies exactly the approved plan and prints the fleet's summary", async () => {
    const r = await job("apply-plan.sh", { PLAN_FILE: approved });
    expect(r.status).toBe(0);
    expect(hosts.map(running)).toEqual(["4.4.16", "4.4.16"]);
    expect(r.stdout).toContain("fleet summary (stack prod):");
    expect(r.summary).toContain("### EMQX rollout of stack `prod` done");
    expect(
      JSON.parse(
        r.stdout.slice(r.stdout.indexOf("fleet summary (stack prod):") + "fleet summary (stack prod):".length),
      ),
    ).toEqual({
      n1: "4.4.0 -> 4.4.16",
      n2: "4.4.0 -> 4.4.16",
    });
  });

  test("the next pull request: the table shows each node going from the version the state recorded", async () => {
    await p.pulumiOk(["config", "set", "version", "4.4.17"]);
    await p.pulumiOk(["config", "set", "packagePath", packages["4.4.17"]]);
    const r = await job("preview-plan.sh", { PLAN_FILE: "emqx-rollout.plan.json" });
    expect(r.status).toBe(0);
    expect(r.summary).toContain(`${row(0, "1 | 4.4.16 -> 4.4.17 |  |")}`);
    expect(r.summary).toContain(`${row(1, "2 | 4.4.16 -> 4.4.17 |  |")}`);
    expect(r.summary).not.toContain("`?`");
  });

  test("schedule: check-drift.sh passes while every node runs what the state says", async () => {
    const r = await job("check-drift.sh", {});
    expect(r.status).toBe(0);
    expect(r.summary).toContain("### EMQX fleet of stack `prod`: no drift");
  });

  test("schedule: check-drift.sh fails after a node was downgraded by hand, and changes neither node nor state", async () => {
    execFileSync(hosts[1].emqxPath, ["downgrade", "4.4.0"], { stdio: "pipe" });
    expect(hosts.map(running)).toEqual(["4.4.16", "4.4.0"]);
    const state = (await p.pulumiOk(["stack", "export"])).stdout;
    const r = await job("check-drift.sh", {});
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("check-drift: pulumi refresh --preview-only --expect-no-changes failed");
    expect(r.stderr).toContain("a node differs from the stack's state");
    expect(r.summary).toContain("drift check failed");
    expect(r.stderr).toContain("(exit 7)"); // the CLI's exit code for changes that were not expected
    expect(r.summary).toMatch(
      /~ pulumi-nodejs:dynamic\/emqx:EmqxRelease: \(update\)\s*\n\s*\[id=[^\]]*\]\s*\n\s*\[urn=[^\]]*emqx-n2\]/,
    );
    expect(r.summary).toContain("~ 1 to update");
    expect(r.summary).toMatch(/currentVersion\s*: "4\.4\.16" => "4\.4\.0"/);
    expect((await p.pulumiOk(["stack", "export"])).stdout).toBe(state);
    expect(hosts.map(running)).toEqual(["4.4.16", "4.4.0"]);
  });

  test("no script printed the passphrase or the SSH key, in its log or its job summary", () => {
    expect(runs.length).toBe(7);
    const needles = [
      { label: "PULUMI_CONFIG_PASSPHRASE", value: p.dirs.passphrase },
      ...keySlices(hosts[0].connection.privateKey).flatMap((s, i) => withJsonEscaped(`privateKey slice ${i}`, s)),
    ];
    const sources = runs.flatMap((r, i) => [
      { source: `run ${i} stdout`, text: r.stdout },
      { source: `run ${i} stderr`, text: r.stderr },
      { source: `run ${i} summary`, text: r.summary },
    ]);
    expect(scanForSecrets(sources, needles)).toEqual([]);
  });
});
