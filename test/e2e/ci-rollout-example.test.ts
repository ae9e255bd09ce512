// examples/ci-rollout, the project a user copies to roll EMQX out from GitHub Actions, three ways:
// 1. its workflow passes actionlint (the pinned build from scripts/ensure-actionlint.sh), and copies
//    with a deliberate mistake fail it, so the pass means something;
// 2. the scripts its steps call keep their contract, run against a recording `pulumi` (and `gh`)
//    first on PATH: the flags, the job summary, the refusals, no secret in their output;
// 3. the plan mechanism the workflow relies on, on the real engine and the example's program: a plan
//    saved by preview, an up held to it that fails and touches no host when the config changed
//    after the preview, and the same plan applied once the config fits it again.
import { spawnSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ensureEngine, REPO_ROOT } from "../../sandbox/engine";
import { emulatorVersions } from "../../sandbox/emulator/install";
import { compiledPath, newStackDir, runStack, type OpName, type OpSpec, type RunStackResult, type StackDirs } from "../../sandbox/run-stack";
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
    const res = spawnSync("bash", [path.join(REPO_ROOT, "scripts", "ensure-actionlint.sh")], { encoding: "utf8", timeout: 20 * 60 * 1000 });
    const bin = res.stdout.trim();
    if (res.status !== 0 || !path.isAbsolute(bin)) {
      throw new Error(`scripts/ensure-actionlint.sh failed (exit ${res.status}${res.error ? `, ${res.error.message}` : ""}): it builds actionlint with Go from the module proxy\n${res.stderr.trim().split("\n").slice(-20).join("\n")}`);
    }
    return bin;
  }

  function lint(file: string): { status: number | null; output: string } {
    const res = spawnSync(actionlint, ["-no-color", file], { encoding: "utf8", cwd: path.dirname(file), timeout: 60_000 });
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
    ["an expression naming a step that does not exist", "steps.plan-run.outputs.run-id", "steps.plan-rn.outputs.run-id", /property "plan-rn" is not defined/],
    ["a misspelt input of pulumi/actions", "pulumi-version:", "pulumi-verison:", /input "pulumi-verison" is not defined in action "pulumi\/actions@v6"/],
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
  const PULUMI_SHIM = `#!/bin/sh
{ pwd; if [ -n "$PULUMI_CONFIG_PASSPHRASE" ]; then echo passphrase=set; else echo passphrase=unset; fi
  for a in "$@"; do echo "$a"; done; echo --end; } >>"$SHIM_DIR/pulumi.log"
case "$1" in
preview)
  if [ "$SHIM_FAIL" = refusal ]; then
    echo "Previewing update (prod):"
    echo "    error: emqx: version (all 2 hosts): EmqxRelease manages EMQX 4.4 only; 4.3.16 is not a 4.4 patch version"
    exit 255
  fi
  plan=""; prev=""
  for a in "$@"; do if [ "$prev" = --save-plan ]; then plan="$a"; fi; prev="$a"; done
  echo '{"manifest":{},"resourcePlans":{}}' >"$plan"
  echo "Previewing update (prod):"
  echo '    ~ pulumi-nodejs:dynamic/emqx:EmqxRelease: (update) emqx-n1'
  echo '      ~ version    : "4.4.15" => "4.4.16"'
  echo "Resources:"
  echo "    ~ 2 to update"
  echo "    5 unchanged"
  echo ;;
up)
  echo "Updating (prod):"
  case "$SHIM_FAIL" in
  violates) echo "    error: resource urn:pulumi:prod::emqx-ci-rollout::pulumi:providers:pulumi-nodejs::default violates plan: properties changed: ++emqx-ci-rollout:version[{4.4.16}!={4.4.17}]"; exit 255 ;;
  halted) echo "    error: emqx: rollout halted after batch 1 of 2"; exit 255 ;;
  esac
  echo "Resources:"
  echo "    ~ 2 updated" ;;
stack) echo '{"n1": "4.4.15 -> 4.4.16", "n2": "4.4.15 -> 4.4.16"}' ;;
*) echo "pulumi shim: unexpected call: $*" >&2; exit 2 ;;
esac
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
    return fs.readFileSync(file, "utf8").split("--end\n").filter(Boolean).map((block) => {
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
      env: { PATH: `${shims}${path.delimiter}${process.env.PATH}`, HOME: dir, SHIM_DIR: shims, GITHUB_STEP_SUMMARY: summaryFile, GITHUB_OUTPUT: outputFile, ...env },
    });
    const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8") : "");
    return { status: res.status, stdout: res.stdout, stderr: res.stderr, summary: read(summaryFile), outputs: read(outputFile) };
  }

  const jobEnv = (extra: Record<string, string> = {}) => ({ STACK: "prod", PLAN_FILE: "emqx-rollout.plan.json", PULUMI_CONFIG_PASSPHRASE: PASSPHRASE, ...extra });

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

  test("preview-plan.sh runs pulumi preview --save-plan in the project and puts the changes in the job summary", () => {
    const dir = fs.mkdtempSync(path.join(tmp, "job-"));
    const res = script("preview-plan.sh", jobEnv(), dir);
    expect(res.status).toBe(0);
    const plan = path.join(dir, "emqx-rollout.plan.json");
    expect(calls("pulumi")).toEqual([
      { cwd: EXAMPLE, passphraseSet: true, argv: ["preview", "--stack", "prod", "--diff", "--save-plan", plan, "--non-interactive", "--color", "never"] },
    ]);
    expect(JSON.parse(fs.readFileSync(plan, "utf8"))).toEqual({ manifest: {}, resourcePlans: {} });
    expect(res.summary).toContain("### EMQX rollout plan for stack `prod`");
    expect(res.summary).toMatch(/```\nResources:\n {4}~ 2 to update\n {4}5 unchanged\n/);
    expect(res.summary).toContain('~ version    : "4.4.15" => "4.4.16"');
    expect(res.stdout).toContain("~ 2 to update"); // the preview is in the job log too
  });

  test("fails preview-plan.sh when the preview fails: no plan, and the engine's error in the job summary", () => {
    const dir = fs.mkdtempSync(path.join(tmp, "job-"));
    fs.writeFileSync(path.join(dir, "emqx-rollout.plan.json"), "{}"); // a leftover must not be uploaded
    const res = script("preview-plan.sh", jobEnv({ SHIM_FAIL: "refusal" }), dir);
    expect(res.status).toBe(1);
    expect(res.stderr).toContain("preview-plan: pulumi preview failed (exit 255): fix what its errors above say and push again; no plan was saved");
    expect(fs.existsSync(path.join(dir, "emqx-rollout.plan.json"))).toBe(false);
    expect(res.summary).toContain("the preview of stack `prod` failed, no plan was saved");
    expect(res.summary).toContain("error: emqx: version (all 2 hosts): EmqxRelease manages EMQX 4.4 only");
  });

  test("apply-plan.sh runs pulumi up --plan of the downloaded plan, then prints the fleet's summary output", () => {
    const dir = downloaded('{"manifest":{},"resourcePlans":{}}');
    const res = script("apply-plan.sh", jobEnv(), dir);
    expect(res.status).toBe(0);
    expect(calls("pulumi").map((c) => c.argv)).toEqual([
      ["up", "--stack", "prod", "--plan", path.join(dir, "emqx-rollout.plan.json"), "--yes", "--non-interactive", "--diff", "--color", "never"],
      ["stack", "output", "summary", "--stack", "prod", "--json"],
    ]);
    expect(calls("pulumi").every((c) => c.cwd === EXAMPLE && c.passphraseSet)).toBe(true);
    expect(res.stdout).toContain('fleet summary (stack prod):\n{"n1": "4.4.15 -> 4.4.16", "n2": "4.4.15 -> 4.4.16"}');
    expect(res.summary).toContain("### EMQX rollout of stack `prod` done");
  });

  // Row: [the plan file as downloaded (undefined: none), the reason apply-plan.sh gives].
  const badPlans: Array<[string, string | undefined, RegExp]> = [
    ["missing", undefined, /^apply-plan: no plan at \/\S+\/emqx-rollout\.plan\.json: download the artifact the pull request's preview uploaded/],
    ["empty", "", /^apply-plan: the plan \S+ is empty: the artifact is damaged; rerun the preview/],
    ["not JSON", "<html>rate limited</html>", /^apply-plan: the plan \S+ is not a JSON object as 'pulumi preview --save-plan' writes it/],
    ["JSON but not an object", "[1, 2]", /^apply-plan: the plan \S+ is not a JSON object/],
  ];
  test.each(badPlans)("fails apply-plan.sh when the plan file is %s, without calling pulumi", (_what, content, says) => {
    const res = script("apply-plan.sh", jobEnv(), downloaded(content));
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(says);
    expect(res.stderr).toContain('README.md "When the plan no longer matches"');
    expect(calls("pulumi")).toEqual([]);
  });

  test("fails apply-plan.sh on a plan that no longer matches, saying to rerun the preview", () => {
    const res = script("apply-plan.sh", jobEnv({ SHIM_FAIL: "violates" }), downloaded("{}"));
    expect(res.status).toBe(1);
    expect(res.stderr).toContain("apply-plan: pulumi up --plan failed (exit 255): the plan no longer matches the program, its config or the stack's state");
    expect(res.summary).toContain("violates plan: properties changed");
    expect(calls("pulumi").map((c) => c.argv[0])).toEqual(["up"]); // no summary output read after a failure
  });

  test("fails apply-plan.sh on a halted rollout, pointing at the resume instead", () => {
    const res = script("apply-plan.sh", jobEnv({ SHIM_FAIL: "halted" }), downloaded("{}"));
    expect(res.status).toBe(1);
    expect(res.stderr).toContain('a halted rollout resumes with the next run (README.md "What a failed run leaves")');
  });

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
        ["run", "list", "--repo", "acme/emqx-fleet", "--workflow", "emqx-rollout.yml", "--commit", HEAD, "--event", "pull_request", "--status", "success", "--limit", "1", "--json", "databaseId"],
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
      expect(res.stderr).toContain(`find-plan-run: pull request #7 was merged without a successful 'emqx-rollout.yml' run on its head commit ${HEAD}, so no plan was approved`);
    });

    test("fails without GH_TOKEN, saying which token and permissions to give", () => {
      const env: Record<string, string> = ghEnv();
      delete env.GH_TOKEN;
      const res = script("find-plan-run.sh", env);
      expect(res.status).toBe(1);
      expect(res.stderr).toContain("find-plan-run: GH_TOKEN is not set: give the step env GH_TOKEN: ${{ github.token }}, with job permissions actions: read and pull-requests: read");
      expect(calls("gh")).toEqual([]);
    });
  });

  test("no script prints PULUMI_CONFIG_PASSPHRASE or GH_TOKEN, whether it succeeds or fails", () => {
    fs.writeFileSync(path.join(shims, "pulls.json"), "[]");
    const runs = [
      script("preview-plan.sh", jobEnv()),
      script("preview-plan.sh", jobEnv({ SHIM_FAIL: "refusal", GH_TOKEN })),
      script("apply-plan.sh", jobEnv(), downloaded("{}")),
      script("apply-plan.sh", jobEnv({ SHIM_FAIL: "violates" }), downloaded("{}")),
      script("apply-plan.sh", jobEnv(), downloaded("not json")),
      script("find-plan-run.sh", { GITHUB_REPOSITORY: "acme/x", GITHUB_SHA: MERGE, GITHUB_WORKFLOW_REF: "acme/x/.github/workflows/w.yml@refs/heads/main", GH_TOKEN, PULUMI_CONFIG_PASSPHRASE: PASSPHRASE }),
    ];
    const sources = runs.flatMap((r, i) => [
      { source: `run ${i} stdout`, text: r.stdout },
      { source: `run ${i} stderr`, text: r.stderr },
      { source: `run ${i} summary`, text: r.summary },
    ]);
    expect(runs.map((r) => r.status)).toEqual([0, 1, 0, 1, 1, 1]);
    expect(scanForSecrets(sources, [{ label: "PULUMI_CONFIG_PASSPHRASE", value: PASSPHRASE }, { label: "GH_TOKEN", value: GH_TOKEN }])).toEqual([]);
  });
});

describe("the plan on the real engine: examples/ci-rollout/index.ts over two emulated EMQX 4.4.0 nodes", () => {
  const TIMEOUT_MS = 6 * 60 * 1000;
  const NAMES = ["n1", "n2"];
  const hosts: TestHost[] = [];
  const packages: Record<string, string> = {};
  let dirs: StackDirs;
  let programModule: string;
  let planFile: string;

  function run(ops: Array<OpName | OpSpec>, version: string): Promise<RunStackResult> {
    const config = {
      hosts: { value: JSON.stringify(hosts.map((h, i) => ({ name: NAMES[i], host: h.connection.host, port: h.connection.port, hostKey: h.connection.hostKey, emqxPath: h.emqxPath }))) },
      privateKey: { value: hosts[0].connection.privateKey, secret: true },
      version: { value: version },
      packagePath: { value: packages[version] },
    };
    return runStack({ projectName: "emqx-ci-rollout-e2e", stackName: "prod", programModule, config, ops }, { dirs, timeoutMs: TIMEOUT_MS });
  }

  const untouched = () => hosts.map((h) => `${h.fingerprint()} ssh=${h.sshd.connectionCount()}`);
  const running = (h: TestHost) => emulatorVersions(h.root).find((r) => r.status === "current" || r.status === "permanent")?.version;

  beforeAll(async () => {
    // What the workflow relies on: plans without PULUMI_EXPERIMENTAL (README "Plans and PULUMI_EXPERIMENTAL").
    delete process.env.PULUMI_EXPERIMENTAL;
    ensureEngine();
    programModule = compiledPath("examples/ci-rollout/index.ts");
    dirs = newStackDir("ci-rollout");
    planFile = path.join(dirs.root, "emqx-rollout.plan.json");
    for (let i = 0; i < NAMES.length; i++) hosts.push(await startTestHost({ version: "4.4.0" }, `127.0.0.${61 + i}`));
    shareClientKey(hosts);
    const shelf = packageShelf();
    for (const v of ["4.4.16", "4.4.17"]) packages[v] = await shelf.build({ version: v });
  });

  afterAll(async () => {
    for (const h of hosts) await h.stop();
    dirs?.cleanup();
  });

  test("preview --save-plan for 4.4.16 writes the plan, with the SSH key only encrypted, and contacts no host", async () => {
    const before = untouched();
    const res = await run([{ op: "preview", planFile }], "4.4.16");
    expect(res.results[0]).toMatchObject({ ok: true });
    const text = fs.readFileSync(planFile, "utf8");
    const plan = JSON.parse(text);
    expect(Object.keys(plan.resourcePlans).filter((urn) => urn.endsWith("EmqxRelease::emqx-n1") || urn.endsWith("EmqxRelease::emqx-n2"))).toHaveLength(2);
    const needles = keySlices(hosts[0].connection.privateKey).flatMap((s, i) => withJsonEscaped(`privateKey slice ${i}`, s));
    expect(scanForSecrets([{ source: planFile, text }], needles)).toEqual([]);
    expect(untouched()).toEqual(before);
  });

  test("fails up --plan when the config changed after the preview (4.4.17): the plan is violated and no host is touched", async () => {
    const before = untouched();
    const res = await run([{ op: "up", planFile }], "4.4.17");
    expect(res.results[0]).toMatchObject({ ok: false });
    // The first resource the engine checks is the default provider, whose inputs are the stack's
    // config: "resource urn:...::pulumi:providers:pulumi-nodejs::default violates plan: properties
    // changed: ++emqx-ci-rollout-e2e:packagePath[{...4.4.16...}!={...4.4.17...}], ++...:version[{4.4.16}!={4.4.17}]".
    expect(res.results[0].error).toMatch(/violates plan: properties changed: .*:version\[\{4\.4\.16\}!=\{4\.4\.17\}\]/);
    expect(untouched()).toEqual(before);
    expect(hosts.map(running)).toEqual(["4.4.0", "4.4.0"]);
  });

  test("up --plan with the config the plan was saved for upgrades both hosts to 4.4.16", async () => {
    const res = await run([{ op: "up", planFile }], "4.4.16");
    expect(res.results[0]).toMatchObject({ ok: true });
    expect(hosts.map(running)).toEqual(["4.4.16", "4.4.16"]);
    expect(res.results[0].outputs?.summary.value).toEqual({ n1: "4.4.0 -> 4.4.16", n2: "4.4.0 -> 4.4.16" });
  });
});
