// Bytes the runner sends for a 20-node rollout with packagePath (the runner uploads the package to
// every node) and with packageUrl (every node downloads it from a package server): the provider's
// check and create for each node (no engine), 5 nodes at a time, each node's SSH connection through a
// counting relay (byte-counter.ts), so the figures are what crossed the wire.
import * as fs from "fs";
import { createHash } from "crypto";
import * as path from "path";
import { EmqxReleaseProvider } from "../provider";
import { startPackageServer } from "../sandbox/package-server";
import { packageShelf } from "../sandbox/test-host";
import { BenchHost, startBenchHost } from "./bench-hosts";
import { startCountingRelay } from "./byte-counter";
import { BenchSection } from "./report";

const ADDRESS = "127.0.0.175";
const FROM = "4.4.0";
const TO = "4.4.16";
const PARALLEL = 5;
const MIB = 1024 * 1024;

/** What the benchmark needs. */
export interface UrlBenchSetup {
  shelf: ReturnType<typeof packageShelf>;
  hostCount: number;
  packageMiB: number;
}

/** Runs the rollout once per source and reports the runner's bytes. */
export async function benchUrl(setup: UrlBenchSetup, log: (line: string) => void): Promise<BenchSection> {
  const pkg = await setup.shelf.build({ version: TO, extraBytes: setup.packageMiB * MIB });
  const size = fs.statSync(pkg).size;
  const sha = createHash("sha256").update(fs.readFileSync(pkg)).digest("hex");
  const server = await startPackageServer(ADDRESS);
  server.route(`/${path.basename(pkg)}`, { file: pkg });
  const hosts: BenchHost[] = [];
  try {
    for (let i = 0; i < setup.hostCount; i++) hosts.push(await startBenchHost(ADDRESS));
    const run = async (source: Record<string, unknown>) => {
      for (const h of hosts) h.reset(FROM, {});
      server.reset();
      const relays = await Promise.all(hosts.map((h) => startCountingRelay({ host: ADDRESS, port: h.sshd.port })));
      const provider = new EmqxReleaseProvider();
      const checkReads: Array<{ bytesFetched?: number; requests?: number; via?: string }> = [];
      const started = Date.now();
      try {
        for (let i = 0; i < hosts.length; i += PARALLEL) {
          await Promise.all(
            hosts.slice(i, i + PARALLEL).map(async (h, k) => {
              const news = {
                connection: {
                  host: ADDRESS,
                  port: relays[i + k].port,
                  user: "root",
                  privateKey: h.sshd.clientPrivateKey,
                  hostKey: h.sshd.hostKeyLine,
                },
                version: TO,
                emqxPath: h.emqxPath,
                ...source,
              };
              const c = await provider.check({}, news);
              if (c.failures.length) throw new Error(`check: ${JSON.stringify(c.failures)}`);
              checkReads.push(c.inputs.__package as { bytesFetched?: number; requests?: number; via?: string });
              await provider.create(c.inputs);
            }),
          );
        }
        return {
          ms: Date.now() - started,
          up: relays.reduce((n, r) => n + r.upBytes(), 0),
          served: server.bytesSent(),
          checkBytes: checkReads.reduce((n, r) => n + (r.bytesFetched ?? 0), 0),
          checkRequests: checkReads.reduce((n, r) => n + (r.requests ?? 0), 0),
          checksReused: checkReads.filter((r) => r.via === "reused").length,
        };
      } finally {
        await Promise.all(relays.map((r) => r.close()));
      }
    };
    const quiet = console.log;
    console.log = () => undefined;
    let viaPath: Awaited<ReturnType<typeof run>>;
    let viaUrl: Awaited<ReturnType<typeof run>>;
    try {
      log(`url: ${setup.hostCount} nodes with packagePath`);
      viaPath = await run({ packagePath: pkg });
      log(`url: ${setup.hostCount} nodes with packageUrl`);
      viaUrl = await run({ packageUrl: server.url(`/${path.basename(pkg)}`), packageSha256: sha });
    } finally {
      console.log = quiet;
    }
    const mib = (b: number) => `${(b / MIB).toFixed(2)} MiB`;
    const n = setup.hostCount;
    return {
      id: "url",
      title: `Bytes the runner sends: ${n}-node rollout, packagePath vs packageUrl`,
      command: "BENCH_ONLY=url npm run bench",
      rows: [
        { what: `runner -> nodes, ${n} nodes, packagePath (package ${mib(size)})`, value: mib(viaPath.up) },
        {
          what: `runner -> nodes, ${n} nodes, packageUrl (SSH commands only)`,
          value: `${mib(viaUrl.up)} (${((viaUrl.up / n / size) * 100).toFixed(2)}% of the package per node)`,
          target: "0 package bytes from the runner",
          met: viaUrl.up < size,
        },
        { what: `package server -> nodes, packageUrl`, value: mib(viaUrl.served) },
        {
          what: `check (preview) of the remote package, ${n} nodes naming it`,
          value: `${(viaUrl.checkBytes / 1024).toFixed(0)} KiB in ${viaUrl.checkRequests} range requests in all (${((viaUrl.checkBytes / size) * 100).toFixed(2)}% of the zip); ${viaUrl.checksReused} of ${n} checks reused the first one's read`,
        },
      ],
      details: [
        `${n} emulator nodes behind real sshd on ${ADDRESS}, ${PARALLEL} at a time, EmqxReleaseProvider check + create per node (no engine), each SSH connection through a counting TCP relay. ` +
          `packagePath: ${mib(viaPath.up)} from the runner in ${(viaPath.ms / 1000).toFixed(1)} s. ` +
          `packageUrl: ${mib(viaUrl.up)} from the runner (less than one package: met = ${viaUrl.up < size}), ${mib(viaUrl.served)} from the package server (check's range reads included), in ${(viaUrl.ms / 1000).toFixed(1)} s.`,
      ],
    };
  } finally {
    await Promise.all(hosts.map((h) => h.stop()));
    await server.stop();
  }
}
