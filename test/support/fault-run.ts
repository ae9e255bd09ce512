// What every fault test checks after the fault: the error the provider raised, what it logged, the
// files in releases/ (half-written packages are corruption) and whether a secret showed anywhere.
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { matchesEmqxZipGlob } from "../../provider/plan/package-name";
import { keySlices, Needle, scanForSecrets, withJsonEscaped } from "./secret-scan";
import type { TestHost } from "../../sandbox/test-host";

/** The EMQX commands that change a node. */
const MUTATING = ["upgrade", "downgrade", "install", "uninstall", "unpack"];

/** Calls in the host's emulator log that change the node. */
export function mutatingCalls(host: TestHost): ReturnType<TestHost["calls"]> {
  return host.calls().filter((c) => MUTATING.includes(c.argv[0]));
}

/** The outcome of one provider call under a fault. */
export interface FaultOutcome<T> {
  value?: T;
  error?: { name: string; message: string; fields: string };
  /** Lines the provider logged (console.log) during the call. */
  logs: string[];
  ms: number;
}

/** Runs `call`, capturing its console.log lines, result or error (with every own field as JSON). */
export async function underFault<T>(call: () => Promise<T>): Promise<FaultOutcome<T>> {
  const logs: string[] = [];
  const spy = jest.spyOn(console, "log").mockImplementation((...args: unknown[]) => void logs.push(args.map(String).join(" ")));
  const started = Date.now();
  try {
    const value = await call();
    return { value, logs, ms: Date.now() - started };
  } catch (e) {
    const err = e as Error & Record<string, unknown>;
    return { error: { name: err.name, message: err.message, fields: JSON.stringify({ ...err, cause: undefined }) }, logs, ms: Date.now() - started };
  } finally {
    spy.mockRestore();
  }
}

/** Needles for a private key (slices), passwords and passphrases. */
export function secretNeedles(secrets: { privateKey?: string; others?: Record<string, string> }): Needle[] {
  const out: Needle[] = [];
  if (secrets.privateKey) keySlices(secrets.privateKey).forEach((s, i) => out.push(...withJsonEscaped(`private key slice ${i}`, s)));
  for (const [label, value] of Object.entries(secrets.others ?? {})) out.push(...withJsonEscaped(label, value));
  return out;
}

/** How many (secret, place) pairs leak through the outcome: error message, error fields, logs,
 * and outputs other than `connection`. (`connection` holds the credentials `read` needs to reach
 * the node on refresh; EmqxRelease wraps them in pulumi.secret, so the engine stores them
 * encrypted: the e2e secret scans check that, over state, plans and engine output.) */
export function leaksIn(outcome: FaultOutcome<unknown>, needles: Needle[], extra: Array<{ source: string; text: string }> = []): string[] {
  const value = outcome.value as { outs?: Record<string, unknown>; props?: Record<string, unknown> } | undefined;
  const record = value?.outs ?? value?.props;
  const outputs = record ? { ...record, connection: undefined } : value;
  const sources = [
    { source: "error message", text: outcome.error?.message ?? "" },
    { source: "error fields", text: outcome.error?.fields ?? "" },
    { source: "logs", text: outcome.logs.join("\n") },
    { source: "outputs (but connection)", text: JSON.stringify(outputs ?? null) },
    ...extra,
  ];
  return scanForSecrets(sources, needles).map((f) => `${f.label} in ${f.source}`);
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
