// A TCP relay that counts the bytes going each way: put between an SSH client and sshd, it measures
// what really crossed the wire (the client's own `bytesSent` is a claim; this is the evidence).
import * as net from "net";

/** A running relay: connect to `host:port` instead of the target. */
export interface CountingRelay {
  host: string;
  port: number;
  /** Bytes from the clients to the target so far. */
  upBytes(): number;
  /** Bytes from the target to the clients so far. */
  downBytes(): number;
  close(): Promise<void>;
}

/** Listens on a free port of `target.host` and relays every connection to `target`. */
export async function startCountingRelay(target: { host: string; port: number }): Promise<CountingRelay> {
  let up = 0;
  let down = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => (client.destroy(), upstream.destroy()));
    }
    client.on("data", (d: Buffer) => (up += d.length));
    upstream.on("data", (d: Buffer) => (down += d.length));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, target.host, resolve);
  });
  return {
    host: target.host,
    port: (server.address() as net.AddressInfo).port,
    upBytes: () => up,
    downBytes: () => down,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
