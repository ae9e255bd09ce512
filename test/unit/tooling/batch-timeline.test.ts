// The rollout benchmark's account of where each batch's time went (bench/rollout-bench.ts), from
// emulator call logs: a wrong split would put the gap in the wrong place in BENCHMARKS.md.
import { batchTimelines } from "../../../bench/rollout-bench";

const call = (argv0: string, ts: number, durationMs: number) => ({ argv: [argv0], ts, durationMs });

test("splits hosts into batches in fleet order: contact spread, reach -> upgrade, emqx time before it, the gap between batches", () => {
  const hosts = [
    [
      call("versions", 1000, 200),
      call("root_dir", 1300, 100),
      call("upgrade", 2000, 3000),
      call("versions", 5100, 100),
    ],
    [call("versions", 1500, 300), call("upgrade", 4000, 3000), call("versions", 7100, 200)],
    [call("versions", 9300, 100), call("upgrade", 9500, 3000), call("versions", 12600, 100)],
  ];
  expect(batchTimelines(hosts, 2)).toEqual([
    {
      contactSpreadMs: 500,
      contactedAtOnce: 2,
      reachToUpgradeMs: [1000, 2500],
      emqxBeforeUpgradeMs: [300, 300],
      lengthMs: 6300,
      gapBeforeMs: undefined,
    },
    {
      contactSpreadMs: 0,
      contactedAtOnce: 1,
      reachToUpgradeMs: [200],
      emqxBeforeUpgradeMs: [100],
      lengthMs: 3400,
      gapBeforeMs: 2000,
    },
  ]);
});
