// When uninstallPrevious must leave the old releases alone.
import { uninstallPreviousRefusal } from "../../../provider/plan/uninstall-previous";

const BASE = {
  host: "10.0.0.7",
  action: "upgrade",
  from: "4.4.10",
  to: "4.4.16",
  ertsBefore: "12.1.5",
  ertsAfter: "12.3.2.2",
  old: ["4.4.10"],
};

// Row: [case, changes, undefined when uninstalling is safe, else a fragment of the reason]
const ROWS: [string, Partial<typeof BASE>, string | undefined][] = [
  [
    "fails across the ERTS change of 4.4.11 (12.1.5 -> 12.3.2.2): the VM still runs the old runtime",
    {},
    "crossed an ERTS change (12.1.5 -> 12.3.2.2) and the node has not restarted since",
  ],
  [
    "says what to do next",
    {},
    "restart the node when convenient (emqx stop, emqx start), then run `emqx uninstall 4.4.10`",
  ],
  ["same ERTS (4.4.12 -> 4.4.16): safe", { from: "4.4.12", ertsBefore: "12.3.2.2" }, undefined],
  [
    "making a --no-permanent trial across the change permanent is refused too",
    { action: "make-permanent" },
    "crossed an ERTS change",
  ],
  [
    "a downgrade is not judged: the VM may run either runtime",
    { action: "downgrade", from: "4.4.16", to: "4.4.10", ertsBefore: "12.3.2.2", ertsAfter: "12.1.5" },
    undefined,
  ],
  ["no old release: nothing to refuse", { old: [] }, undefined],
  ["an unknown ERTS is not taken for a change", { ertsBefore: "" }, undefined],
];
test.each(ROWS)("%s", (_name, over, fragment) => {
  const r = uninstallPreviousRefusal({ ...BASE, ...over });
  if (fragment === undefined) expect(r).toBeUndefined();
  else expect(r).toContain(fragment);
});
