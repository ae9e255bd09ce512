// The one seam between the EMQX CLI adapter and whatever runs commands on a host.
// The SSH session implements it; unit tests implement it with fixture text.

/** What one command on the host returned. `exitCode` is null when it was killed by a signal or
 * timed out. */
export interface CommandResult {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Options for one command. */
export interface RunOptions {
  /** Kill the command (and report `timedOut`) after this long. @default the session's command timeout */
  timeoutMs?: number;
  /** Bytes written to the command's stdin, then stdin is closed. @default nothing (stdin closed) */
  stdin?: string | Buffer;
}

/** Runs argv on one host. argv is never passed through a shell unquoted. */
export interface Runner {
  /** The host as the user named it, for messages. */
  readonly host: string;
  /** The login user, for messages (e.g. the sudoers line to add). */
  readonly user?: string;
  run(argv: string[], options?: RunOptions): Promise<CommandResult>;
}
