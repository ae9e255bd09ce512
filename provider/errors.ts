// Every error the provider raises. Subclasses are split by what the user must do next, each carries
// the facts as fields, and `message` reads: what failed, on which host, the value seen, what to do.
// Errors are told apart by class (`isInstance`), never by their text: a refusal before anything was
// changed (`isRefusal`) and a failure after the node was changed (`NodeChangedError`, or any error
// that `recordNodeState` gave what the node lists now) are different kinds.
import { prefixHost } from "./plan/host-prefix";
import type { InstalledRelease } from "./plan/upgrade-plan";

/** The property every error of ours carries; checked by `isInstance` instead of `instanceof`,
 * because Pulumi serializes provider code by value and a second copy of a class may be loaded. */
const BRAND = "__emqxProviderError";

/** At most this many lines of command output go into a message; the rest stays in the fields. */
export const MAX_MESSAGE_OUTPUT_LINES = 20;

/** Base of every error the provider raises on purpose. */
export class EmqxProviderError extends Error {
  /** @internal */
  readonly __emqxProviderError: true;
  /** What `emqx versions` listed after this error ended an operation that had begun changing the
   * node (`recordNodeState`); `null` when the node could not be read. Unset otherwise. */
  nodeState?: InstalledRelease[] | null;
  // The name is passed explicitly and `message` set by hand: once Pulumi serializes the provider,
  // classes become plain functions, so `new.target.name` is gone and `Error.call(this)` does not
  // set `message` (seen by running serialized code).
  constructor(message: string, options?: { cause?: unknown; name?: string }) {
    super(message);
    this.message = message;
    // Serialized, a subclass may lose its link to Error.prototype (the serializer emits a class's
    // prototype only when the class has members of its own): put it back, so String(e) and
    // e.stack work where the engine logs the error.
    const proto = Object.getPrototypeOf(this);
    if (!(this instanceof Error) && proto && proto !== Object.prototype) Object.setPrototypeOf(proto, Error.prototype);
    if (typeof this.stack !== "string") Error.captureStackTrace?.(this);
    this.__emqxProviderError = true;
    this.name = options?.name ?? "EmqxProviderError";
    if (options && options.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
  /** True for any error of ours, from any copy of this module. */
  static isInstance(e: unknown): e is EmqxProviderError {
    return typeof e === "object" && e !== null && (e as Record<string, unknown>)[BRAND] === true;
  }
}

/** Brand check by name, for subclasses (same reason as `EmqxProviderError.isInstance`). */
function isNamed(e: unknown, name: string): boolean {
  return EmqxProviderError.isInstance(e) && e.name === name;
}

/** Where in connecting it failed: `proxy` is the bastion hop. `client-socket`, `client-timeout`,
 * `client-authentication` come from ssh2's `err.level`; `host-key` is our own verification. */
export type SshConnectStage =
  "client-socket" | "client-timeout" | "client-authentication" | "host-key" | "proxy" | "protocol";

/** Could not open an SSH session: network, authentication, or a host key that does not match. */
export class SshConnectError extends EmqxProviderError {
  readonly host: string;
  readonly port: number;
  readonly stage: SshConnectStage;
  readonly attempts: number;
  constructor(f: {
    host: string;
    port: number;
    stage: SshConnectStage;
    attempts: number;
    message: string;
    cause?: unknown;
  }) {
    super(f.message, { cause: f.cause, name: "SshConnectError" });
    this.host = f.host;
    this.port = f.port;
    this.stage = f.stage;
    this.attempts = f.attempts;
  }
  static isInstance(e: unknown): e is SshConnectError {
    return isNamed(e, "SshConnectError");
  }
}

/** A command on the host exited non-zero, was killed, or ran past its timeout. */
export class RemoteCommandError extends EmqxProviderError {
  readonly host: string;
  readonly argv: string[];
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  constructor(f: {
    host: string;
    argv: string[];
    exitCode: number | null;
    signal?: string | null;
    stdout: string;
    stderr: string;
    timedOut?: boolean;
    reason: string;
    cause?: unknown;
  }) {
    super(formatCommandMessage(f.reason, f.stdout, f.stderr), { cause: f.cause, name: "RemoteCommandError" });
    this.host = f.host;
    this.argv = f.argv;
    this.exitCode = f.exitCode;
    this.signal = f.signal ?? null;
    this.stdout = f.stdout;
    this.stderr = f.stderr;
    this.timedOut = f.timedOut ?? false;
  }
  static isInstance(e: unknown): e is RemoteCommandError {
    return isNamed(e, "RemoteCommandError");
  }
}

/** A command succeeded but printed something our parser does not recognise. */
export class EmqxOutputParseError extends EmqxProviderError {
  readonly argv: string[];
  readonly excerpt: string;
  constructor(f: { argv: string[]; output: string; what: string }) {
    const excerpt = trimLines(f.output, MAX_MESSAGE_OUTPUT_LINES, 2000);
    super(`could not parse the output of \`${f.argv.join(" ")}\`: ${f.what}; output was:\n${excerpt}`, {
      name: "EmqxOutputParseError",
    });
    this.argv = f.argv;
    this.excerpt = excerpt;
  }
  static isInstance(e: unknown): e is EmqxOutputParseError {
    return isNamed(e, "EmqxOutputParseError");
  }
}

/** The requested change is one EMQX cannot hot-upgrade (cross-minor, CE <-> EE, wrong package...). */
export class UnsupportedUpgradeError extends EmqxProviderError {
  readonly from: string;
  readonly to: string;
  readonly reason: string;
  readonly property: string;
  constructor(f: { from: string; to: string; reason: string; property?: string; host?: string }) {
    // Prefixed with the host unless the reason already starts with it ("10.0.0.7 runs OTP 24 ...").
    super(f.host ? prefixHost(f.host, f.reason) : f.reason, {
      name: "UnsupportedUpgradeError",
    });
    this.from = f.from;
    this.to = f.to;
    this.reason = f.reason;
    this.property = f.property ?? "";
  }
  static isInstance(e: unknown): e is UnsupportedUpgradeError {
    return isNamed(e, "UnsupportedUpgradeError");
  }
}

/** An input is malformed (same rules `check` reports as failures), raised when create/update
 * re-validates inputs that preview could not see. */
export class InvalidInputError extends EmqxProviderError {
  readonly property: string;
  readonly reason: string;
  constructor(f: { property: string; reason: string }) {
    super(`${f.property ? `${f.property}: ` : ""}${f.reason}`, { name: "InvalidInputError" });
    this.property = f.property;
    this.reason = f.reason;
  }
  static isInstance(e: unknown): e is InvalidInputError {
    return isNamed(e, "InvalidInputError");
  }
}

/** The package zip cannot be used: unreadable, wrong layout, checksum mismatch. */
export class PackageError extends EmqxProviderError {
  readonly path: string;
  readonly reason: string;
  constructor(f: { path: string; reason: string; cause?: unknown }) {
    super(`package ${f.path}: ${f.reason}`, { cause: f.cause, name: "PackageError" });
    this.path = f.path;
    this.reason = f.reason;
  }
  static isInstance(e: unknown): e is PackageError {
    return isNamed(e, "PackageError");
  }
}

/** Refused: the host is in a state where acting would be unsafe (node down, hot patches, a stray zip
 * in releases/, a half-done earlier permafy...), or a command was refused before it ran (sudo wants
 * a password). The refused step did not run; before the first write nothing was changed. The
 * operator's next step is in the message. */
export class HostStateError extends EmqxProviderError {
  readonly host: string;
  readonly reason: string;
  constructor(f: { host: string; reason: string; cause?: unknown }) {
    super(`${f.host}: ${f.reason}`, { cause: f.cause, name: "HostStateError" });
    this.host = f.host;
    this.reason = f.reason;
  }
  static isInstance(e: unknown): e is HostStateError {
    return isNamed(e, "HostStateError");
  }
}

/** The operation changed the node and then found it is not what was declared: a post-flight check
 * failed (release_handler, the node's own version, a half-done permafy) or its health gate did not
 * pass. `installedVersions` is what the node lists now; the message ends with it. */
export class NodeChangedError extends EmqxProviderError {
  readonly host: string;
  readonly reason: string;
  readonly installedVersions: InstalledRelease[];
  constructor(f: { host: string; reason: string; installedVersions: InstalledRelease[] }) {
    super(`${f.host}: ${f.reason}\n${nodeStateLine(f.installedVersions)}`, { name: "NodeChangedError" });
    this.host = f.host;
    this.reason = f.reason;
    this.installedVersions = f.installedVersions;
    this.nodeState = f.installedVersions;
  }
  static isInstance(e: unknown): e is NodeChangedError {
    return isNamed(e, "NodeChangedError");
  }
}

/** True for the errors that refuse a request as it stands (the node's state, the input, the package,
 * another operation's lock): raised before the refused step changed anything. */
export function isRefusal(e: unknown): boolean {
  return (
    HostStateError.isInstance(e) ||
    UnsupportedUpgradeError.isInstance(e) ||
    InvalidInputError.isInstance(e) ||
    PackageError.isInstance(e) ||
    HostLockedError.isInstance(e)
  );
}

/** `emqx versions` as one line: "4.4.16 permanent, 4.4.0 old". */
export function describeInstalled(installed: InstalledRelease[]): string {
  return installed.map((r) => `${r.version} ${r.status}`).join(", ") || "no release";
}

/** The last line of a message about a node that was changed: what it lists now, or how to find out. */
function nodeStateLine(installed: InstalledRelease[] | null): string {
  return installed
    ? `the node now lists: ${describeInstalled(installed)}`
    : "the node's state could not be read afterwards: check `emqx versions` on the host";
}

/** Records on an error that ended an operation after it began changing the node what the node lists
 * now (`null`: it could not be read), in `nodeState` and as the message's last line. An error that
 * already carries it (`NodeChangedError`, or one recorded before) is left as it is. */
export function recordNodeState(e: EmqxProviderError, installed: InstalledRelease[] | null): void {
  if (e.nodeState !== undefined) return;
  e.nodeState = installed;
  e.message += `\n${nodeStateLine(installed)}`;
}

/** Another operation holds the host lock (or a stale lock is left behind). */
export class HostLockedError extends EmqxProviderError {
  readonly host: string;
  readonly lockId: string;
  readonly holder: string;
  constructor(f: { host: string; lockId: string; holder: string; message: string }) {
    super(f.message, { name: "HostLockedError" });
    this.host = f.host;
    this.lockId = f.lockId;
    this.holder = f.holder;
  }
  static isInstance(e: unknown): e is HostLockedError {
    return isNamed(e, "HostLockedError");
  }
}

/** Keeps the first `maxLines` lines (and at most `maxChars` characters) and says how much was cut. */
export function trimLines(text: string, maxLines: number, maxChars = 4000): string {
  const lines = text.replace(/\r\n/g, "\n").replace(/\n+$/, "").split("\n");
  let out = lines.slice(0, maxLines).join("\n");
  let cut = lines.length > maxLines ? lines.length - maxLines : 0;
  if (out.length > maxChars) out = out.slice(0, maxChars) + "…";
  if (cut > 0) out += `\n… (${cut} more lines)`;
  return out;
}

/** Reason first, then what the command printed, trimmed (stdout too: EMQX prints its errors there). */
function formatCommandMessage(reason: string, stdout: string, stderr: string): string {
  const parts = [reason];
  if (stdout.trim()) parts.push(`stdout:\n${trimLines(stdout, MAX_MESSAGE_OUTPUT_LINES)}`);
  if (stderr.trim()) parts.push(`stderr:\n${trimLines(stderr, MAX_MESSAGE_OUTPUT_LINES)}`);
  return parts.join("\n");
}

/** An EmqxFleet rollout stopped at a gate: more hosts failed than `rollout.maxFailures` allows.
 * Later batches were not started; the next `up` retries the failed hosts and goes on. */
export class RolloutHaltedError extends EmqxProviderError {
  readonly fleet: string;
  readonly batch: number;
  readonly failedHosts: string[];
  constructor(f: { fleet: string; batch: number; failedHosts: string[]; message: string }) {
    super(f.message, { name: "RolloutHaltedError" });
    this.fleet = f.fleet;
    this.batch = f.batch;
    this.failedHosts = f.failedHosts;
  }
  static isInstance(e: unknown): e is RolloutHaltedError {
    return isNamed(e, "RolloutHaltedError");
  }
}

/** The message of anything thrown. Duck-typed, never `instanceof Error`: serialized provider code
 * runs in a realm of its own, where errors from Node's built-ins (and from ours) fail `instanceof`. */
export function messageOf(e: unknown): string {
  const m = typeof e === "object" && e !== null ? (e as { message?: unknown }).message : undefined;
  return typeof m === "string" ? m : String(e);
}
