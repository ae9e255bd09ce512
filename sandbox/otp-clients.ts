// TCP clients of the real-OTP test host's service: each sends a numbered line every `intervalMs` on
// one connection and records every answer ("<version> <line>"), so a test can prove that a hot
// upgrade kept every connection, switched the answers to the new version and lost no line.
import * as net from "net";

/** One answer as received. */
export interface Answer {
  version: string;
  line: string;
  atMs: number;
}

/** What one client saw. */
export interface ClientRecord {
  name: string;
  sent: string[];
  answers: Answer[];
  /** The connection closed or failed before stop() (with the reason). */
  closedEarly?: string;
}

/** Running clients. `stop()` stops sending, waits for the last answers, closes, and reports. */
export interface Clients {
  records: ClientRecord[];
  /** Resolves once every client has at least `n` answers (throws after `timeoutMs`). */
  waitForAnswers(n: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<ClientRecord[]>;
}

/** Connects `count` clients to host:port; each sends `<name>-<seq>` every `intervalMs`; names are
 * `<namePrefix><n>` (client1, client2, ...). */
export async function startClients(host: string, port: number, count: number, intervalMs = 100, onAnswer?: (client: string, a: Answer) => void, namePrefix = "client"): Promise<Clients> {
  const sockets: net.Socket[] = [];
  const timers: NodeJS.Timeout[] = [];
  const records: ClientRecord[] = [];
  let stopping = false;
  for (let i = 0; i < count; i++) {
    const rec: ClientRecord = { name: `${namePrefix}${i + 1}`, sent: [], answers: [] };
    records.push(rec);
    const socket = net.connect(port, host);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("error", (e) => reject(new Error(`client ${rec.name} cannot connect to ${host}:${port}: ${e.message}`)));
    });
    let buf = "";
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      buf += d;
      for (let k = buf.indexOf("\n"); k >= 0; k = buf.indexOf("\n")) {
        const text = buf.slice(0, k);
        buf = buf.slice(k + 1);
        const sp = text.indexOf(" ");
        const a = { version: text.slice(0, sp), line: text.slice(sp + 1), atMs: Date.now() };
        rec.answers.push(a);
        onAnswer?.(rec.name, a);
      }
    });
    socket.on("error", (e) => void (rec.closedEarly ??= `error: ${e.message}`));
    socket.on("close", () => {
      if (!stopping) rec.closedEarly ??= "closed by the server";
    });
    let seq = 0;
    timers.push(setInterval(() => {
      if (rec.closedEarly) return;
      const line = `${rec.name}-${seq++}`;
      rec.sent.push(line);
      socket.write(`${line}\n`);
    }, intervalMs));
    sockets.push(socket);
  }
  const waitForAnswers = async (n: number, timeoutMs = 10_000) => {
    for (const deadline = Date.now() + timeoutMs; records.some((r) => r.answers.length < n); await new Promise((r) => setTimeout(r, 20))) {
      if (Date.now() > deadline) throw new Error(`clients did not get ${n} answers within ${timeoutMs} ms: ${records.map((r) => `${r.name} ${r.answers.length} ${r.closedEarly ?? ""}`).join(", ")}`);
    }
  };
  return {
    records,
    waitForAnswers,
    stop: async () => {
      timers.forEach(clearInterval);
      // Let events queued while the caller blocked (a synchronous exec) arrive first: a close
      // that happened before stop() must count as closed early.
      await new Promise((r) => setTimeout(r, 50));
      // The service answers within one recv round (300 ms); give the last lines time to come back.
      for (const deadline = Date.now() + 3000; records.some((r) => !r.closedEarly && r.answers.length < r.sent.length) && Date.now() < deadline; ) {
        await new Promise((r) => setTimeout(r, 20));
      }
      stopping = true;
      sockets.forEach((s) => s.destroy());
      return records;
    },
  };
}

/** The versions a client's answers went through, in order, each once: ["4.4.0", "4.4.2"]. */
export function versionSequence(rec: ClientRecord): string[] {
  return rec.answers.map((a) => a.version).filter((v, i, all) => i === 0 || all[i - 1] !== v);
}
