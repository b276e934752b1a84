// The lab slot of this test process ($IRONCLAD_LAB_SLOT, default 1): which copy of each lab inventory it uses, so two
// queues of e2e files (scripts/e2e.ts) run side by side on labs that share no bridge, subnet, namespace or state dir.
// Slot 1 is the repository's inventories unchanged. Tests take addresses and paths from the inventory or the plan.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { intToIpv4, parseSubnet, type LabPlan } from '../../../src/lab/plan.js';
import { parseSlot, slotInventoryText } from '../../../src/lab/slot.js';

/** This process's lab slot. */
export const LAB_SLOT = parseSlot(process.env.IRONCLAD_LAB_SLOT);

/** A lab inventory's text for this slot (inline inventories of tests go through it too). */
export function slotText(text: string): string {
  return slotInventoryText(text, LAB_SLOT);
}

/**
 * The inventory file of this slot: the file itself in slot 1, else its rewritten copy `.slotN.<name>` beside it (so
 * paths relative to the inventory, such as a scrub file, still resolve), written atomically.
 */
export function slotFile(file: string): string {
  if (LAB_SLOT === 1) return file;
  const copy = join(dirname(file), `.slot${LAB_SLOT}.${basename(file)}`);
  const tmp = `${copy}.${process.pid}.tmp`;
  writeFileSync(tmp, slotText(readFileSync(file, 'utf8')));
  renameSync(tmp, copy);
  return copy;
}

/** Host number `n` of a lab's subnet: an address for a test's own extra host, or one nobody answers on. */
export function labAddress(plan: LabPlan, n: number): string {
  return intToIpv4(parseSubnet(plan.subnet).network + n);
}

/** Text as a regular expression source matching itself (an address from the plan inside a pattern). */
export function reText(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
