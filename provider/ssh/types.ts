// The SSH transport's inputs, with every default already applied (see pulumi/defaults.ts).

/** One SSH endpoint: the target host, or the bastion in front of it. */
export interface SshEndpoint {
  host: string;
  port: number;
  user: string;
  /** PEM/OpenSSH private key text. Takes preference over password. */
  privateKey?: string;
  privateKeyPassword?: string;
  password?: string;
  /** Path of an ssh-agent socket. */
  agentSocketPath?: string;
  /** Expected host key: an OpenSSH key line (`ssh-ed25519 AAAA... [comment]`) or a
   * `SHA256:<base64>` fingerprint. */
  hostKey?: string;
  /** known_hosts text (plain or hashed host names, `[host]:port` form for non-22 ports). */
  knownHosts?: string;
  /** Fingerprint recorded on first contact (trust on first use): any other key is refused. */
  pinnedFingerprint?: string;
  /** How long the TCP connect + SSH handshake may take. */
  readyTimeoutMs: number;
}

/** Where and how to connect, with retry policy. */
export interface SshTarget extends SshEndpoint {
  /** One bastion hop: the connection to the target is tunnelled through it. */
  proxy?: SshEndpoint;
  /** Total dial attempts for network failures (auth and host-key failures are never retried). */
  dialAttempts: number;
  /** Pause between dial attempts. */
  dialRetryDelayMs: number;
  /** Default timeout of one command on this host. */
  commandTimeoutMs: number;
}

/** Called with one progress line at a time (e.g. "upload 40%"). */
export type ProgressLogger = (line: string) => void;
