// rollbackRefusal: a failed gate is answered with `emqx downgrade <previous>` only when the
// previous release is still installed as old and the new release's relup covers the way back.
import { rollbackRefusal, RollbackInput } from "../../../provider/plan/rollback";

const base: RollbackInput = {
  host: "10.0.0.7",
  from: "4.4.3",
  to: "4.4.2",
  permanent: true,
  installed: [
    { version: "4.4.3", status: "permanent" },
    { version: "4.4.2", status: "old" },
  ],
  relupDownTo: ["4.4.0", "4.4.1", "4.4.2"],
};

// Row: [case, change to the input, refusal pattern or undefined]
const ROWS: [string, Partial<RollbackInput>, RegExp | undefined][] = [
  ["rolls back after a permanent upgrade with the previous release old and a down path", {}, undefined],
  [
    "refuses when the previous release was uninstalled",
    { installed: [{ version: "4.4.3", status: "permanent" }] },
    /4\.4\.2 is no longer installed as an old release on 10\.0\.0\.7 \(`emqx versions` lists it not at all\)/,
  ],
  [
    "refuses when the relup has no way down",
    { relupDownTo: ["4.4.0"] },
    /4\.4\.3's relup has no way down to 4\.4\.2 \(it covers 4\.4\.0\)/,
  ],
  ["refuses a --no-permanent trial", { permanent: false }, /installed with --no-permanent: declare 4\.4\.2 again/],
];
test.each(ROWS)("%s", (_c, change, refusal) => {
  const r = rollbackRefusal({ ...base, ...change });
  if (refusal) expect(r).toMatch(refusal);
  else expect(r).toBeUndefined();
});
