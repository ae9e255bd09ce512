// A TCP proxy on loopback between the provider and a test sshd that injects network faults where a
// real network has them: it cuts the connection (RST) or stalls it (bytes stop flowing both ways,
// sockets stay open) once the client has sent N bytes, and can run a hook at a byte count (to fill
// a disk mid-upload). Faults apply to the first `faultyConnections` connections only, so a rerun
// through the same proxy goes clean.
import * as net from "net";

/** What to do to a connection, counted in bytes the client sent (handshake included). */
export interface ProxyFaults {
  /** Reset both sides once the client has sent this many bytes. */
  cutAfterBytes?: number;
  /** Stop forwarding in both directions (without closing) once the client has sent this many bytes. */
  stallAfterBytes?: number;
  /** Called once when the client has sent this many bytes (before they are forwarded). */
  at?: { bytes: number; run: () => void };
  /** How many connections (in accept order) get the faults. @default 1 */
  faultyConnections?: number;
}

/** A running proxy. */
export interface FaultProxy {
  host: string;
  port: number;
  /** Connections accepted so far. */
  connections(): number;
  /** Bytes each connection's client sent (as forwarded or dropped). */
  clientBytes(): number[];
  /** Whether a cut or a stall happened. */
  tripped(): boolean;
  close(): Promise<void>;
}

/** Starts a proxy on `listenHost` (an ephemeral port) forwarding to `target`. */
export async function startFaultProxy(
  target: { host: string; port: number },
  faults: ProxyFaults,
  listenHost = "127.0.0.1",
): Promise<FaultProxy> {
  const sockets = new Set<net.Socket>();
  const counts: number[] = [];
  let tripped = false;
  const faulty = faults.faultyConnections ?? 1;
  const server = net.createServer((client) => {
    const index = counts.length;
    counts.push(0);
    const armed = index < faulty;
    const upstream = net.connect(target.port, target.host);
    sockets.add(client).add(upstream);
    for (const s of [client, upstream]) s.on("close", () => sockets.delete(s)).on("error", () => undefined);
    let hookDone = false;
    let stalled = false;
    client.on("data", (chunk: Buffer) => {
      if (stalled) return;
      const before = counts[index];
      counts[index] += chunk.length;
      if (armed && faults.at && !hookDone && counts[index] >= faults.at.bytes) {
        hookDone = true;
        faults.at.run();
      }
      if (armed && faults.cutAfterBytes !== undefined && counts[index] >= faults.cutAfterBytes) {
        tripped = true;
        upstream.write(chunk.subarray(0, Math.max(0, faults.cutAfterBytes - before)));
        client.resetAndDestroy();
        upstream.resetAndDestroy();
        return;
      }
      if (armed && faults.stallAfterBytes !== undefined && counts[index] >= faults.stallAfterBytes) {
        tripped = true;
        stalled = true;
        upstream.write(chunk.subarray(0, Math.max(0, faults.stallAfterBytes - before)));
        upstream.pause();
        client.pause();
        return;
      }
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (!stalled) client.write(chunk);
    });
    client.on("end", () => upstream.end());
    upstream.on("end", () => client.end());
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, listenHost, () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: listenHost,
    port,
    connections: () => counts.length,
    clientBytes: () => [...counts],
    tripped: () => tripped,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
