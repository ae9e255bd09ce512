// Real MQTT clients (MQTT.js) of the real-OTP test host's broker: each connects with a keepalive,
// subscribes to its own topic `clients/<name>` and publishes a numbered QoS 1 message `<name>-<seq>`
// there every `intervalMs` on one connection, and records every message it receives back (the broker
// prefixes the version of the connection process that delivered it: "4.4.2 client1-7"). So a test can
// prove that a hot upgrade kept every connection, switched deliveries to the new version and lost no
// QoS 1 message. Clients never reconnect on their own: a drop stays visible as `closedEarly`.
import mqtt, { type MqttClient } from "mqtt";

/** One delivered message as received. */
export interface Answer {
  version: string;
  line: string;
  atMs: number;
}

/** What one client saw. */
export interface ClientRecord {
  name: string;
  /** Payloads published, in order. */
  sent: string[];
  /** Payloads the broker acknowledged (PUBACK). */
  acked: string[];
  answers: Answer[];
  /** The connection closed or failed before stop() (with the reason). */
  closedEarly?: string;
}

/** Running clients. `stop()` stops publishing, waits for the last deliveries, disconnects, and reports. */
export interface Clients {
  records: ClientRecord[];
  /** Resolves once every client has at least `n` answers (throws after `timeoutMs`). */
  waitForAnswers(n: number, timeoutMs?: number): Promise<void>;
  /** Resolves once every client saw its connection close (throws after `timeoutMs`). */
  waitForClosed(timeoutMs?: number): Promise<void>;
  stop(): Promise<ClientRecord[]>;
}

/** Options of startClients. */
export interface ClientOptions {
  /** @default 100 */
  intervalMs?: number;
  /** MQTT keepalive in seconds. @default 5 */
  keepaliveSeconds?: number;
  /** Names are `<namePrefix><n>`. @default "client" */
  namePrefix?: string;
  onAnswer?: (client: string, a: Answer) => void;
}

/** Connects `count` MQTT clients to host:port (one after the other, each subscribed before the next). */
export async function startClients(
  host: string,
  port: number,
  count: number,
  opts: ClientOptions = {},
): Promise<Clients> {
  const intervalMs = opts.intervalMs ?? 100;
  const timers: NodeJS.Timeout[] = [];
  const clients: MqttClient[] = [];
  const records: ClientRecord[] = [];
  let stopping = false;
  for (let i = 0; i < count; i++) {
    const rec: ClientRecord = { name: `${opts.namePrefix ?? "client"}${i + 1}`, sent: [], acked: [], answers: [] };
    records.push(rec);
    const topic = `clients/${rec.name}`;
    const client = mqtt.connect({
      host,
      port,
      protocolVersion: 4,
      clientId: rec.name,
      keepalive: opts.keepaliveSeconds ?? 5,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    });
    clients.push(client);
    await new Promise<void>((resolve, reject) => {
      client.once("connect", () => resolve());
      client.once("error", (e) =>
        reject(new Error(`MQTT client ${rec.name} cannot connect to ${host}:${port}: ${e.message}`)),
      );
    });
    await client.subscribeAsync(topic, { qos: 1 });
    client.on("message", (_t, payload) => {
      const text = payload.toString("utf8");
      const sp = text.indexOf(" ");
      const a = { version: text.slice(0, sp), line: text.slice(sp + 1), atMs: Date.now() };
      rec.answers.push(a);
      opts.onAnswer?.(rec.name, a);
    });
    client.on("error", (e) => void (rec.closedEarly ??= `error: ${e.message}`));
    client.on("close", () => {
      if (!stopping) rec.closedEarly ??= "closed by the server";
    });
    let seq = 0;
    timers.push(
      setInterval(() => {
        if (rec.closedEarly || !client.connected) return;
        const line = `${rec.name}-${seq++}`;
        rec.sent.push(line);
        client.publish(topic, line, { qos: 1 }, (err) => {
          if (!err) rec.acked.push(line);
        });
      }, intervalMs),
    );
  }
  const waitFor = async (what: string, done: () => boolean, timeoutMs: number) => {
    for (const deadline = Date.now() + timeoutMs; !done(); await new Promise((r) => setTimeout(r, 20))) {
      if (Date.now() > deadline)
        throw new Error(
          `clients: ${what} within ${timeoutMs} ms: ${records.map((r) => `${r.name} ${r.answers.length} answers ${r.closedEarly ?? ""}`).join(", ")}`,
        );
    }
  };
  return {
    records,
    waitForAnswers: (n, timeoutMs = 10_000) =>
      waitFor(`not every client got ${n} answers`, () => records.every((r) => r.answers.length >= n), timeoutMs),
    waitForClosed: (timeoutMs = 10_000) =>
      waitFor(
        "not every client saw its connection close",
        () => records.every((r) => r.closedEarly !== undefined),
        timeoutMs,
      ),
    stop: async () => {
      timers.forEach(clearInterval);
      // Let events queued while the caller blocked (a synchronous exec) arrive first: a close
      // that happened before stop() must count as closed early.
      await new Promise((r) => setTimeout(r, 50));
      // Give the last deliveries time to come back (the broker answers within one receive round).
      for (
        const deadline = Date.now() + 3000;
        records.some((r) => !r.closedEarly && r.answers.length < r.sent.length) && Date.now() < deadline;
      ) {
        await new Promise((r) => setTimeout(r, 20));
      }
      stopping = true;
      await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
      return records;
    },
  };
}

/** The versions a client's answers went through, in order, each once: ["4.4.0", "4.4.2"]. */
export function versionSequence(rec: ClientRecord): string[] {
  return rec.answers.map((a) => a.version).filter((v, i, all) => i === 0 || all[i - 1] !== v);
}
