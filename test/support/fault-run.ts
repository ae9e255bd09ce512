// What every fault test checks after the fault: the error the provider raised, what it logged, the
// install's files against what EMQX leaves (install-check.ts) and whether any credential the row
// carries showed anywhere.
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { matchesEmqxZipGlob } from "../../provider/plan/package-name";
import { emulatorVersions } from "../../sandbox/emulator/install";
import { InstallExpectation, installDeviations } from "../../sandbox/install-check";
import type { TestHost } from "../../sandbox/test-host";
import type { RowProbe } from "./reliability";
import { INSTALL_CHECKS } from "./reliability-report";
import { carriedSecrets, scanForSecrets } from "./secret-scan";

/** The EMQX commands that change a node. */
const MUTATING = ["upgrade", "downgrade", "install", "uninstall", "unpack"];

/** Calls in the host's emulator log that change the node. */
export function mutatingCalls(host: TestHost): ReturnType<TestHost["calls"]> {
  return host.calls().filter((c) => MUTATING.includes(c.argv[0]));
}

/** The outcome of one provider call under a fault. */
export interface FaultOutcome<T> {
  value?: T;
  error?: { name: string; message: string; fields: string; stack: string };
  /** Lines the provider logged (console.log) during the call. */
  logs: string[];
  ms: number;
}

/** Runs `call`, capturing its console.log lines, result or error (with every own field as JSON). */
export async function underFault<T>(call: () => Promise<T>): Promise<FaultOutcome<T>> {
  const logs: string[] = [];
  const spy = jest
    .spyOn(console, "log")
    .mockImplementation((...args: unknown[]) => void logs.push(args.map(String).join(" ")));
  const started = Date.now();
  try {
    const value = await call();
    return { value, logs, ms: Date.now() - started };
  } catch (e) {
    const err = e as Error & Record<string, unknown>;
    const error = {
      name: err.name,
      message: err.message,
      fields: JSON.stringify({ ...err, cause: undefined }),
      stack: String(err.stack ?? ""),
    };
    return { error, logs, ms: Date.now() - started };
  } finally {
    spy.mockRestore();
  }
}

/** Searches everything the outcome shows (error message, own fields and stack, logs, outputs
 * other than `connection`, plus `extra` places such as the host's logs) for the credentials the
 * row's `inputs` really carry (secret-scan.ts carriedSecrets). `found` names each (credential
 * slice, place) pair. (`connection` holds the credentials `read` needs to reach the node on
 * refresh; EmqxRelease wraps them in pulumi.secret, so the engine stores them encrypted: the e2e
 * secret scans check that, over state, plans and engine output.) */
export function leaksIn(
  outcome: FaultOutcome<unknown>,
  inputs: Record<string, unknown>,
  extra: Array<{ source: string; text: string }> = [],
): { searched: string[]; found: string[] } {
  const { searched, needles } = carriedSecrets(inputs);
  const value = outcome.value as { outs?: Record<string, unknown>; props?: Record<string, unknown> } | undefined;
  const record = value?.outs ?? value?.props;
  // packageHeaders, like connection, is a pulumi secret (encrypted in state): left out here.
  const outputs = record ? { ...record, connection: undefined, packageHeaders: undefined } : value;
  const sources = [
    { source: "error message", text: outcome.error?.message ?? "" },
    { source: "error fields", text: outcome.error?.fields ?? "" },
    { source: "error stack", text: outcome.error?.stack ?? "" },
    { source: "logs", text: outcome.logs.join("\n") },
    { source: "outputs (but connection)", text: JSON.stringify(outputs ?? null) },
    ...extra,
  ];
  return { searched, found: scanForSecrets(sources, needles).map((f) => `${f.label} in ${f.source}`) };
}

/** Checks the host's install against what EMQX leaves (install-check.ts), for the row's target
 * version and package; deviations the host had when it started (the test's own set-up, e.g. bin
 * scripts of another version) are not counted. `corrupted` names each remaining deviation. */
export function installCorruption(
  h: TestHost,
  want: Omit<InstallExpectation, "listed">,
): { checked: string[]; corrupted: string[] } {
  const full = { ...want, listed: emulatorVersions(h.root) };
  const setup = new Set(h.setupDeviations ?? []);
  return { checked: installChecked(full), corrupted: installDeviations(h.root, full).filter((d) => !setup.has(d)) };
}

/** What installDeviations checked with these expectations, named as the report names them
 * (INSTALL_CHECKS): the zips only when the target and its package are given. */
export function installChecked(want: InstallExpectation): string[] {
  return INSTALL_CHECKS.filter(
    (c) => !c.endsWith(".zip") || (want.version !== undefined && want.packagePath !== undefined),
  );
}

/** Files in `<root>/releases` that EMQX's glob `emqx-*<version>*.zip` matches and that are not
 * byte-identical to the package: what EMQX would unpack although it is not the package. */
export function corruptPackages(root: string, version: string, packagePath: string): string[] {
  const want = sha256(packagePath);
  const dir = path.join(root, "releases");
  return fs.readdirSync(dir).filter((f) => matchesEmqxZipGlob(f, version) && sha256(path.join(dir, f)) !== want);
}

/** Our temporary upload files left in `<root>/releases` (harmless to EMQX; the next upload removes them). */
export function partFiles(root: string): string[] {
  return fs.readdirSync(path.join(root, "releases")).filter((f) => f.endsWith(".part"));
}

function sha256(file: string): string {
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** Records the row's leak scan (leaksIn) on its probe and asserts it found nothing. */
export function expectNoLeaks(
  probe: RowProbe,
  outcome: FaultOutcome<unknown>,
  inputs: Record<string, unknown>,
  extra: Array<{ source: string; text: string }> = [],
): void {
  const scan = leaksIn(outcome, inputs, extra);
  probe.secretsLeaked(scan);
  expect(scan.found).toEqual([]);
}

/** Records the row's install check (installCorruption) on its probe and asserts nothing is corrupted. */
export function expectIntactInstall(probe: RowProbe, h: TestHost, want: Omit<InstallExpectation, "listed">): void {
  const check = installCorruption(h, want);
  probe.corruptedFiles(check);
  expect(check.corrupted).toEqual([]);
}
