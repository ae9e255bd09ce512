// One SSH connection, described once: the inputs a user writes (with their defaults and docs), the
// resolved shape the SSH transport reads, and the one function that applies the defaults.
// pulumi/release.ts derives ConnectionArgs from ConnectionInputs (each field a pulumi.Input), and
// test/unit/pulumi/release.types.test.ts fails to compile when the two drift apart.

/** Defaults of the connection inputs and of dialing, named so docs, code and tests agree. */
export const CONNECTION_DEFAULTS = {
  port: 22,
  user: "root",
  readyTimeoutMs: 20_000,
  dialAttempts: 5,
  dialRetryDelayMs: 2_000,
} as const;

/** The connection inputs that hold credentials: secrets in state, never echoed in a message. */
export const CONNECTION_SECRET_FIELDS = ["privateKey", "privateKeyPassword", "password", "sudoPassword"] as const;

/** How to reach one node over SSH, as a user writes it. Same names as @pulumi/command's
 * `remote.ConnectionArgs`. */
export interface ConnectionInputs {
  /** Host name or IP address of the node. */
  host: string;
  /** @default 22 */
  port?: number;
  /** @default "root" */
  user?: string;
  /** Private key text (PEM or OpenSSH). Takes preference over `password`. Stored as a secret. */
  privateKey?: string;
  /** Passphrase of `privateKey`. Stored as a secret. */
  privateKeyPassword?: string;
  /** Password authentication. Stored as a secret. */
  password?: string;
  /** The login user's sudo password, used with `runAs` on hosts whose sudoers asks for one (sent
   * on sudo's stdin, never in a command line). Stored as a secret. @default none: `sudo -n` */
  sudoPassword?: string;
  /** ssh-agent socket to authenticate with. @default none (the agent is not used unless given) */
  agentSocketPath?: string;
  /**
   * The host key to expect: an OpenSSH key line (`ssh-ed25519 AAAA...`) or a `SHA256:...`
   * fingerprint. @default none: with neither `hostKey` nor `knownHosts`, the key seen on first
   * contact is recorded in `hostKeyFingerprint` (with a warning) and any later change is refused.
   */
  hostKey?: string;
  /** known_hosts text to check the host key against (plain or hashed entries). @default none */
  knownHosts?: string;
  /** How long the TCP connect and SSH handshake may take. @default 20000 */
  readyTimeoutMs?: number;
  /** One bastion hop: the connection to the node is tunnelled through it. @default none */
  proxy?: Omit<ConnectionInputs, "proxy">;
}

/** One SSH endpoint (the node, or the bastion in front of it) with every default applied: what
 * the SSH transport reads. */
export interface SshEndpoint extends Pick<
  ConnectionInputs,
  "host" | "privateKey" | "privateKeyPassword" | "password" | "agentSocketPath" | "hostKey" | "knownHosts"
> {
  port: number;
  user: string;
  readyTimeoutMs: number;
  /** Fingerprint recorded on first contact (trust on first use): any other key is refused. */
  pinnedFingerprint?: string;
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

/** The port a connection input points at (`port`, else the default): also what `diff` compares. */
export function endpointPort(c: { port?: unknown }): unknown {
  return c.port ?? CONNECTION_DEFAULTS.port;
}

/** Applies every default of one endpoint. */
export function resolveEndpoint(c: Omit<ConnectionInputs, "proxy">, pinnedFingerprint?: string): SshEndpoint {
  return {
    host: c.host,
    port: endpointPort(c) as number,
    user: c.user ?? CONNECTION_DEFAULTS.user,
    privateKey: c.privateKey,
    privateKeyPassword: c.privateKeyPassword,
    password: c.password,
    agentSocketPath: c.agentSocketPath,
    hostKey: c.hostKey,
    knownHosts: c.knownHosts,
    pinnedFingerprint,
    readyTimeoutMs: c.readyTimeoutMs ?? CONNECTION_DEFAULTS.readyTimeoutMs,
  };
}

/** Applies every default of the node's connection and its bastion. `pinned` carries the
 * fingerprints recorded on first contact (state), used only when neither hostKey nor knownHosts
 * is given. */
export function resolveTarget(
  c: ConnectionInputs,
  commandTimeoutMs: number,
  pinned?: { target?: string; proxy?: string },
): SshTarget {
  return {
    ...resolveEndpoint(c, pinned?.target),
    proxy: c.proxy ? resolveEndpoint(c.proxy, pinned?.proxy) : undefined,
    dialAttempts: CONNECTION_DEFAULTS.dialAttempts,
    dialRetryDelayMs: CONNECTION_DEFAULTS.dialRetryDelayMs,
    commandTimeoutMs,
  };
}
