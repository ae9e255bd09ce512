// Types of the SSH transport. Its inputs (SshEndpoint, SshTarget) are the resolved connection of
// plan/connection.ts.

/** Called with one progress line at a time (e.g. "upload 40%"). */
export type ProgressLogger = (line: string) => void;
