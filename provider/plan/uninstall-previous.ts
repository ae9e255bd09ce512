// When `uninstallPrevious` must not run: the upgrade just crossed an ERTS change (4.4.10 -> 4.4.11
// moves from ERTS 12.1.5 to 12.3.2.2) and the node has not restarted since, so its VM still runs
// the old ERTS and OTP libraries, which `emqx uninstall <old>` deletes (docs/emqx-4.4-hot-upgrade.md §3.4, Appendix B
// 10). Only upgrades (and making a trial upgrade permanent) are judged: they certainly left the VM on the old
// runtime. After a downgrade the VM may run either ERTS (it is not known which it booted). Pure.

/** What the rule looks at: the permanent release's ERTS before and after the change. */
export interface UninstallPreviousInput {
  host: string;
  /** What the operation ran: "upgrade", "make-permanent", "downgrade", ... */
  action: string;
  from: string;
  to: string;
  ertsBefore: string;
  ertsAfter: string;
  /** The releases `uninstallPrevious` would remove (status `old`). */
  old: string[];
}

/** The reason to leave the old releases installed, or undefined when uninstalling them is safe. */
export function uninstallPreviousRefusal(i: UninstallPreviousInput): string | undefined {
  if (i.action !== "upgrade" && i.action !== "make-permanent") return undefined;
  if (i.old.length === 0 || !i.ertsBefore || !i.ertsAfter || i.ertsBefore === i.ertsAfter) return undefined;
  const list = i.old.join(", ");
  return `${i.host}: uninstallPrevious refused: the upgrade from ${i.from} to ${i.to} crossed an ERTS change (${i.ertsBefore} -> ${i.ertsAfter}) and the node has not restarted since, so its VM still runs erts-${i.ertsBefore} and the libraries of ${list}; \`emqx uninstall\` would delete the runtime it booted from. ${list} stays installed: restart the node when convenient (emqx stop, emqx start), then run ${i.old.map((v) => `\`emqx uninstall ${v}\``).join(", ")}`;
}
