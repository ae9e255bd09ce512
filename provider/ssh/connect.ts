// Dialing: one SSH connection to the target (optionally through one bastion), with host key
// verification, key/agent/password authentication, and bounded, visible retries of network
// failures. Every ssh2 error is classified here, once, into an SshConnectError.
import { AnyAuthMethod, Client, ConnectConfig, ParsedKey, ServerHostKeyAlgorithm, utils } from "ssh2";
import { Duplex } from "stream";
import { EmqxProviderError, SshConnectError, SshConnectStage } from "../errors";
import { HostKeyVerdict, preferredHostKeyAlgorithms, verifyHostKey } from "./host-key";
import { SshSession } from "./session";
import type { SshEndpoint, SshTarget } from "../plan/connection";
import { stripHostPrefix } from "../plan/host-prefix";
import { ProgressLogger } from "./types";

/** ssh2 reports a refused `forwardOut` with the SSH channel-open reason code; 2 is "connect
 * failed": the bastion could not reach the target (it may still be booting). */
const OPEN_CONNECT_FAILED = 2;

/** Opens an SSH session to `target` (through `target.proxy` if set). Network failures are retried
 * up to `dialAttempts` times, each failure logged as "[ssh host=H:P] attempt 2/5 failed: ...";
 * authentication and host key failures are never retried. */
export async function connectSsh(target: SshTarget, log: ProgressLogger = () => undefined): Promise<SshSession> {
  const attempts = Math.max(1, Math.floor(target.dialAttempts));
  for (let attempt = 1; ; attempt++) {
    try {
      return await dialOnce(target, attempt);
    } catch (e) {
      const err = e as SshConnectError;
      if (!SshConnectError.isInstance(err) || !isNetworkFailure(err)) throw err;
      const hostPort = `${target.host}:${target.port}`;
      const reason = stripHostPrefix(hostPort, err.message);
      log(`[ssh host=${hostPort}] attempt ${attempt}/${attempts} failed: ${reason}`);
      if (attempt >= attempts) {
        const message = `could not connect to ${hostPort} after ${attempt} attempt${attempt === 1 ? "" : "s"}: ${reason}`;
        throw new SshConnectError({
          host: err.host,
          port: err.port,
          stage: err.stage,
          attempts: attempt,
          message,
          cause: err.cause,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, target.dialRetryDelayMs));
    }
  }
}

/** Whether a failed dial is worth repeating: the network failed, not auth or a host key. At the
 * bastion (stage "proxy") the original ssh2 error decides. */
function isNetworkFailure(err: SshConnectError): boolean {
  const isNetwork = (stage: SshConnectStage) => stage === "client-socket" || stage === "client-timeout";
  if (isNetwork(err.stage)) return true;
  const cause = err.cause as (Error & { level?: string; reason?: number }) | undefined;
  if (err.stage !== "proxy" || !cause || typeof cause.message !== "string") return false;
  return cause.reason === OPEN_CONNECT_FAILED || isNetwork(stageOf(cause));
}

/** The stage an ssh2 error belongs to, from its `err.level`. */
function stageOf(err: Error & { level?: string }): Exclude<SshConnectStage, "host-key" | "proxy"> {
  if (err.level === "client-authentication") return "client-authentication";
  if (err.level === "client-timeout") return "client-timeout";
  if (err.level === "client-socket" || err.level === "client-dns") return "client-socket";
  // ssh2 reports a server that drops the TCP connection before its banner (sshd's MaxStartups
  // throttling, a host still booting behind a load balancer) as level "protocol"; it is the network.
  if (/^Connection lost before handshake/.test(err.message)) return "client-socket";
  return "protocol";
}

/** One attempt: bastion (if any), tunnel, target. Anything opened is closed again on failure. */
async function dialOnce(target: SshTarget, attempt: number): Promise<SshSession> {
  const base = {
    host: target.host,
    port: target.port,
    user: target.user,
    hostKeyFingerprint: "",
    commandTimeoutMs: target.commandTimeoutMs,
  };
  if (!target.proxy) {
    const direct = await dialEndpoint(target, attempt);
    return new SshSession({ ...base, client: direct.client, hostKeyFingerprint: direct.fingerprint });
  }
  const proxy = target.proxy;
  const bastion = await dialEndpoint(proxy, attempt, target);
  try {
    const tunnel = await new Promise<Duplex>((resolve, reject) => {
      bastion.client.forwardOut("127.0.0.1", 0, target.host, target.port, (err, stream) =>
        err ? reject(err) : resolve(stream),
      );
    }).catch((err: Error) => {
      throw new SshConnectError({
        host: proxy.host,
        port: proxy.port,
        stage: "proxy",
        attempts: attempt,
        message: `bastion ${proxy.host}:${proxy.port} could not open a connection to ${target.host}:${target.port}: ${err.message}; check that the target is up and that the bastion may forward to it (AllowTcpForwarding, PermitOpen)`,
        cause: err,
      });
    });
    const hop = await dialEndpoint(target, attempt, undefined, tunnel);
    return new SshSession({
      ...base,
      client: hop.client,
      hostKeyFingerprint: hop.fingerprint,
      bastion: bastion.client,
      bastionHostKeyFingerprint: bastion.fingerprint,
    });
  } catch (e) {
    bastion.client.end();
    throw e;
  }
}

/** Connects to one endpoint and authenticates. `behind` is set when `endpoint` is the bastion in
 * front of that target; `sock` when the endpoint is reached through the bastion's tunnel. */
function dialEndpoint(
  endpoint: SshEndpoint,
  attempt: number,
  behind?: SshTarget,
  sock?: Duplex,
): Promise<{ client: Client; fingerprint: string }> {
  const client = new Client();
  let verdict: HostKeyVerdict | undefined;
  const agentErrors: string[] = [];
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (raw: unknown) => {
      if (settled) return;
      settled = true;
      client.end();
      reject(classifyConnectError(raw, { endpoint, attempt, behind, verdict, agentErrors }));
    };
    client.on("ready", () => {
      settled = true;
      resolve({ client, fingerprint: verdict ? verdict.fingerprint : "" });
    });
    client.on("error", (err: Error & { level?: string }) => {
      // An unusable agent is not fatal: ssh2 goes on to the next method (e.g. the password).
      if (err.level === "agent") agentErrors.push(err.message);
      else fail(err);
    });
    client.on("close", () =>
      fail(Object.assign(new Error("connection closed before the SSH session was ready"), { level: "client-socket" })),
    );
    try {
      const algorithms = preferredHostKeyAlgorithms(endpoint) as ServerHostKeyAlgorithm[];
      const config: ConnectConfig = {
        host: endpoint.host,
        port: endpoint.port,
        username: endpoint.user,
        sock,
        readyTimeout: endpoint.readyTimeoutMs,
        // A dead peer is noticed within a minute even while a long command prints nothing.
        keepaliveInterval: 15_000,
        keepaliveCountMax: 4,
        authHandler: authMethods(endpoint, behind),
        hostVerifier: (key: Buffer) => {
          verdict = verifyHostKey(key, endpoint);
          return verdict.accepted;
        },
      };
      // Keys are applied in order: drop the preferred algorithms, then put them first.
      if (algorithms.length > 0)
        config.algorithms = { serverHostKey: { append: [], remove: algorithms, prepend: algorithms } };
      client.connect(config);
    } catch (e) {
      fail(e);
    }
  });
}

/** The authentication methods to try, in order: key, agent, password (also answered to
 * keyboard-interactive prompts, which PAM-only servers use instead). */
function authMethods(endpoint: SshEndpoint, behind: SshTarget | undefined): AnyAuthMethod[] {
  const username = endpoint.user;
  const methods: AnyAuthMethod[] = [];
  if (endpoint.privateKey !== undefined) {
    const parsed = utils.parseKey(endpoint.privateKey, endpoint.privateKeyPassword);
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    // parseKey returns an Error instead of throwing (e.g. "Bad passphrase"); without this check
    // ssh2 would skip the key silently and report only "All configured authentication methods failed".
    const parseError = typeof (key as ParsedKey).isPrivateKey === "function" ? undefined : (key as Error);
    if (parseError || !(key as ParsedKey).isPrivateKey()) {
      throw new SshConnectError({
        ...where(endpoint, behind, "client-authentication"),
        attempts: 1,
        message: `${label(endpoint, behind)}: privateKey cannot be used (${parseError ? parseError.message : "it is a public key"}); check privateKey and privateKeyPassword`,
        cause: parseError,
      });
    }
    methods.push({ type: "publickey", username, key: key as ParsedKey });
  }
  if (endpoint.agentSocketPath) methods.push({ type: "agent", username, agent: endpoint.agentSocketPath });
  const password = endpoint.password;
  if (password !== undefined) {
    methods.push({ type: "password", username, password });
    methods.push({
      type: "keyboard-interactive",
      username,
      prompt: (_n, _i, _l, prompts, finish) => finish(prompts.map(() => password)),
    });
  }
  if (methods.length === 0) {
    throw new SshConnectError({
      ...where(endpoint, behind, "client-authentication"),
      attempts: 1,
      message: `${label(endpoint, behind)}: no privateKey, password or agentSocketPath given for user ${username}`,
    });
  }
  return methods;
}

/** "bastion B:P (in front of T:P)" or "T:P", the start of every message. */
function label(endpoint: SshEndpoint, behind: SshTarget | undefined): string {
  return behind
    ? `bastion ${endpoint.host}:${endpoint.port} (in front of ${behind.host}:${behind.port})`
    : `${endpoint.host}:${endpoint.port}`;
}

/** host/port/stage of an error: a failure at the bastion is stage "proxy" and names the bastion. */
function where(endpoint: SshEndpoint, behind: SshTarget | undefined, stage: SshConnectStage) {
  return { host: endpoint.host, port: endpoint.port, stage: behind ? ("proxy" as const) : stage };
}

interface DialContext {
  endpoint: SshEndpoint;
  attempt: number;
  behind?: SshTarget;
  verdict?: HostKeyVerdict;
  agentErrors: string[];
}

/** The one place ssh2 errors become ours, by `err.level`. Our own errors pass through as they are. */
function classifyConnectError(raw: unknown, ctx: DialContext): EmqxProviderError {
  if (EmqxProviderError.isInstance(raw)) return raw;
  // Duck-typed, not `instanceof Error`: socket errors come from Node's own realm, which differs
  // from the module's under jest (and under Pulumi's closure serialization).
  const err: Error & { level?: string } =
    typeof raw === "object" && raw !== null && "message" in raw ? (raw as Error) : new Error(String(raw));
  const { endpoint, behind, verdict } = ctx;
  const at = label(endpoint, behind);
  let stage: SshConnectStage = stageOf(err);
  let message: string;
  if (verdict && !verdict.accepted) {
    stage = "host-key";
    const expected = verdict.expected.length > 0 ? `; expected ${verdict.expected.join(" or ")}` : "";
    message =
      `${at}: host key refused: the host presented ${verdict.keyType} key ${verdict.fingerprint}, which ${verdict.reason}${expected}. ` +
      `If the host was reinstalled or its key was rotated on purpose, confirm the new fingerprint on the host ` +
      `(ssh-keygen -lf /etc/ssh/ssh_host_${verdict.keyType.replace(/^ssh-|-.*$/g, "")}_key.pub) and update hostKey/knownHosts ` +
      `(or the pinned fingerprint); otherwise do not connect: the connection may be intercepted`;
  } else if (stage === "client-authentication") {
    const agent = ctx.agentErrors.length > 0 ? ` (agent: ${ctx.agentErrors.join("; ")})` : "";
    message = `${at}: authentication as ${endpoint.user} failed (tried ${authMethodNames(endpoint)}): ${err.message}${agent}; check user and privateKey/privateKeyPassword/password/agentSocketPath`;
  } else if (stage === "client-timeout") {
    message = `${at}: no SSH session within ${endpoint.readyTimeoutMs} ms (${err.message}); check that the host is up and the port reachable, or raise readyTimeoutMs`;
  } else if (stage === "client-socket") {
    message = `${at}: cannot reach the SSH server: ${err.message}`;
  } else {
    message = `${at}: SSH handshake failed: ${err.message}`;
  }
  const secrets = [endpoint.password, endpoint.privateKeyPassword, endpoint.privateKey];
  return new SshConnectError({
    ...where(endpoint, behind, stage),
    attempts: ctx.attempt,
    message: redact(message, secrets),
    cause: err,
  });
}

function authMethodNames(endpoint: SshEndpoint): string {
  const names = [
    endpoint.privateKey !== undefined && "privateKey",
    endpoint.agentSocketPath && "agent",
    endpoint.password !== undefined && "password",
  ];
  return names.filter(Boolean).join(", ");
}

/** Belt and braces: no secret reaches a message even if a library echoes one. */
function redact(text: string, secrets: Array<string | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join("<redacted>");
  }
  return out;
}
