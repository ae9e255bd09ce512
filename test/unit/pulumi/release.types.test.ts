// The Pulumi args and the provider's inputs are one definition: EmqxReleaseArgs, with every
// pulumi.Input unwrapped, is exactly ReleaseInputs (plan/inputs.ts), ConnectionArgs is exactly
// ConnectionInputs (plan/connection.ts), and HealthGateArgs is exactly HealthGateInputs
// (plan/health-gate.ts), also as EmqxFleet takes it. These are type-level checks: when the two drift apart (a
// field added on one side, a type or optionality changed) this file does not compile, so the suite
// and `npm run build` fail. The runtime test checks the one list both sides share at run time.
import * as fs from "fs";
import * as path from "path";
import type * as pulumi from "@pulumi/pulumi";
import {
  CONNECTION_DEFAULTS,
  CONNECTION_SECRET_FIELDS,
  type ConnectionInputs,
} from "../../../provider/plan/connection";
import { HEALTH_GATE_DEFAULTS, type HealthGateInputs } from "../../../provider/plan/health-gate";
import type { ReleaseInputs } from "../../../provider/plan/inputs";
import type { EmqxFleetArgs } from "../../../provider/pulumi/fleet";
import type { ConnectionArgs, EmqxReleaseArgs, HealthGateArgs } from "../../../provider/pulumi/release";

/** true when A and B are the same type (optionality and readonly included), false otherwise. */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Compiles only for `true`. */
function assertType<T extends true>(_proof?: T): void {}

assertType<Equals<pulumi.Unwrap<ConnectionArgs>, Omit<ConnectionInputs, "proxy">>>();
assertType<Equals<pulumi.Unwrap<EmqxReleaseArgs["connection"]>, ConnectionInputs>>();
assertType<Equals<pulumi.Unwrap<Omit<EmqxReleaseArgs, "__recordFailure">>, ReleaseInputs>>();
assertType<Equals<pulumi.Unwrap<HealthGateArgs>, HealthGateInputs>>();
assertType<Equals<pulumi.Unwrap<EmqxReleaseArgs["healthGate"]>, ReleaseInputs["healthGate"]>>();
assertType<Equals<pulumi.Unwrap<EmqxFleetArgs["healthGate"]>, HealthGateInputs | undefined>>();

test("every connection input and default is in the README's inputs table", () => {
  const readme = fs.readFileSync(path.join(__dirname, "../../../README.md"), "utf8");
  // Record<keyof ConnectionInputs, true> must name every key: the compiler sees to that.
  const keys: Record<keyof ConnectionInputs, true> = {
    host: true,
    port: true,
    user: true,
    privateKey: true,
    privateKeyPassword: true,
    password: true,
    sudoPassword: true,
    agentSocketPath: true,
    hostKey: true,
    knownHosts: true,
    readyTimeoutMs: true,
    proxy: true,
  };
  // A row names a key as `connection.<key>`, or after a slash in a shared row (`privateKey` / `password`).
  const missing = Object.keys(keys).filter(
    (k) => !readme.includes(`\`connection.${k}\``) && !readme.includes(`/ \`${k}\``),
  );
  expect(missing).toEqual([]);
  for (const k of CONNECTION_SECRET_FIELDS) expect(Object.keys(keys)).toContain(k);
  expect(readme).toContain(`| \`connection.port\` | \`${CONNECTION_DEFAULTS.port}\` |`);
  expect(readme).toContain(`| \`connection.readyTimeoutMs\` | \`${CONNECTION_DEFAULTS.readyTimeoutMs}\` |`);
});

test("every health-gate input and default is in the README's healthGate table", () => {
  const readme = fs.readFileSync(path.join(__dirname, "../../../README.md"), "utf8");
  // Record<keyof HealthGateInputs, true> must name every key: the compiler sees to that.
  const keys: Record<keyof HealthGateInputs, true> = {
    deadlineSeconds: true,
    command: true,
    requireClusterRunning: true,
  };
  const table = readme.slice(readme.indexOf("| `healthGate.` | default | meaning |"));
  expect(table).not.toBe(readme);
  for (const k of Object.keys(keys)) expect(table).toContain(`| \`${k}\` |`);
  expect(table).toContain(`| \`deadlineSeconds\` | \`${HEALTH_GATE_DEFAULTS.deadlineSeconds}\` |`);
  expect(table).toContain(`| \`requireClusterRunning\` | \`${HEALTH_GATE_DEFAULTS.requireClusterRunning}\` |`);
});
