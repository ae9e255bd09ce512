// The Pulumi args and the provider's inputs are one definition: EmqxReleaseArgs, with every
// pulumi.Input unwrapped, is exactly ReleaseInputs (plan/inputs.ts), and ConnectionArgs is exactly
// ConnectionInputs (plan/connection.ts). These are type-level checks: when the two drift apart (a
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
import type { ReleaseInputs } from "../../../provider/plan/inputs";
import type { ConnectionArgs, EmqxReleaseArgs } from "../../../provider/pulumi/release";

/** true when A and B are the same type (optionality and readonly included), false otherwise. */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Compiles only for `true`. */
function assertType<T extends true>(_proof?: T): void {}

assertType<Equals<pulumi.Unwrap<ConnectionArgs>, Omit<ConnectionInputs, "proxy">>>();
assertType<Equals<pulumi.Unwrap<EmqxReleaseArgs["connection"]>, ConnectionInputs>>();
assertType<Equals<pulumi.Unwrap<Omit<EmqxReleaseArgs, "__recordFailure">>, ReleaseInputs>>();

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
