// The client-impact gate's own MQTT client: one MQTT 3.1.1 session the provider opens to the
// node's listener through a forwarded channel of its SSH connection (no port opened on the node;
// EMQX 4.4's internal listener 127.0.0.1:11883 takes anonymous clients, docs/emqx-4.4-observability.md
// §4) before the upgrade and keeps alive through it. The gate fails when that session was closed.
import type * as Mqtt from "mqtt";
import type { Duplex } from "stream";
import type { ProbeObservation } from "../plan/client-impact";

/** Where the probe connects, on the node's side. */
export interface ProbeTarget {
  host: string;
  port: number;
}

/** An open probe session. */
export interface ProbeSession {
  /** Publishes a QoS 1 message and waits for its PUBACK: the session still works end to end. */
  observe(timeoutMs: number): Promise<ProbeObservation>;
  end(): Promise<void>;
}

/** Connects through `open()` (a forwarded SSH channel); throws, saying why, when it cannot. */
export async function openProbe(
  open: () => Promise<Duplex>,
  target: ProbeTarget,
  clientId: string,
  timeoutMs: number,
): Promise<ProbeSession> {
  const channel = await open();
  // Required here, by package name: Pulumi serializes the provider by value and would otherwise
  // refer to mqtt by a file path inside it ("mqtt/build/index.js") that mqtt's package exports do
  // not allow, failing every `pulumi up` (test/unit/pulumi/release-provider.serialization.test.ts).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { MqttClient } = require("mqtt") as typeof Mqtt;
  // Keepalive 10 s: idle through a long relup, the broker must not drop it for silence.
  const client = new MqttClient(() => channel, {
    protocolVersion: 4,
    clientId,
    keepalive: 10,
    reconnectPeriod: 0,
    connectTimeout: timeoutMs,
    clean: true,
  });
  let closed: string | undefined;
  client.on("error", (e) => void (closed ??= `error: ${e.message}`));
  client.on("close", () => void (closed ??= "the broker closed the connection"));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no CONNACK from ${target.host}:${target.port} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    client.once("connect", () => (clearTimeout(timer), resolve()));
    client.once(
      "error",
      (e) => (
        clearTimeout(timer),
        reject(new Error(`MQTT CONNECT to ${target.host}:${target.port} failed: ${e.message}`))
      ),
    );
    client.once(
      "close",
      () => (
        clearTimeout(timer),
        reject(new Error(`${target.host}:${target.port} closed the connection before CONNACK`))
      ),
    );
  }).catch(async (e) => {
    client.end(true);
    throw e;
  });
  return {
    observe: async (waitMs) => {
      if (closed) return { state: "closed", reason: closed };
      const started = Date.now();
      const answer = await new Promise<string | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(`no PUBACK within ${waitMs} ms`), waitMs);
        client.publish(
          `emqx-release/probe/${clientId}`,
          "probe",
          { qos: 1 },
          (err) => (clearTimeout(timer), resolve(err ? err.message : undefined)),
        );
      });
      if (closed) return { state: "closed", reason: closed };
      return answer === undefined
        ? { state: "open", roundTripMs: Date.now() - started }
        : { state: "no answer", reason: answer };
    },
    end: async () => {
      await client.endAsync(true).catch(() => undefined);
    },
  };
}
