// Lab slots (pure): the same lab inventory made into a second, third... lab that shares nothing with the first, so
// end-to-end tests can run in parallel queues. Slot 1 is the inventory unchanged; slot N moves the bridge, the subnet
// (every address in it) and the state directory (every path under it).
import YAML from 'yaml';

/** The highest slot: the subnet's second octet grows by slot - 1 and must stay an octet. */
export const MAX_SLOT = 9;

/** A lab section: what a slot changes. */
export interface LabSection {
  bridge: string;
  subnet: string;
  state_dir: string;
}

/** A slot number from text (an environment variable): 1 when absent; an Error when not 1..MAX_SLOT. */
export function parseSlot(text: string | undefined): number {
  if (text === undefined || text === '') return 1;
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > MAX_SLOT) throw new Error(`lab slot '${text}' is not a number from 1 to ${MAX_SLOT}`);
  return Number(text);
}

/** The lab section of slot N: bridge `<bridge>s<N>`, subnet a.(b+N-1).c.d, state_dir `<state_dir>-s<N>`; slot 1 unchanged. */
export function slotLab(lab: LabSection, slot: number): LabSection {
  if (slot === 1) return lab;
  const octets = lab.subnet.split('.');
  const second = Number(octets[1]) + slot - 1;
  if (octets.length !== 4 || !Number.isInteger(second) || second > 255) throw new Error(`lab.subnet '${lab.subnet}' has no slot ${slot}`);
  return {
    bridge: `${lab.bridge}s${slot}`,
    subnet: [octets[0], second, ...octets.slice(2)].join('.'),
    state_dir: `${lab.state_dir.replace(/\/+$/, '')}-s${slot}`,
  };
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** The first three octets of a /24 subnet with the trailing dot (`10.213.7.`): what every address in it starts with. */
function subnetStem(subnet: string): string {
  if (!/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\/24$/.test(subnet)) throw new Error(`lab.subnet '${subnet}': a slot needs a /24`);
  return subnet.split('.').slice(0, 3).join('.') + '.';
}

/**
 * The text of a lab inventory for slot N: the bridge renamed, every address of the subnet moved to the slot's subnet,
 * and the state directory (alone or as the start of a path) moved to the slot's; everything else byte for byte.
 * Throws when the result's lab section is not the slot's (a shape this rewrite does not know).
 */
export function slotInventoryText(text: string, slot: number): string {
  if (slot === 1) return text;
  const lab = (YAML.parse(text) as { lab?: LabSection } | null)?.lab;
  if (!lab?.bridge || !lab.subnet || !lab.state_dir) throw new Error('a lab slot needs an inventory with lab.bridge, lab.subnet and lab.state_dir');
  const to = slotLab(lab, slot);
  const out = text
    .replace(new RegExp(`(\\bbridge:\\s*)${escape(lab.bridge)}(?![\\w-])`, 'g'), `$1${to.bridge}`)
    .replace(new RegExp(`(?<![\\d.])${escape(subnetStem(lab.subnet))}(?=\\d)`, 'g'), subnetStem(to.subnet))
    .replace(new RegExp(`${escape(lab.state_dir.replace(/\/+$/, ''))}(?![\\w.-])`, 'g'), to.state_dir);
  const got = (YAML.parse(out) as { lab: LabSection }).lab;
  if (got.bridge !== to.bridge || got.subnet !== to.subnet || got.state_dir.replace(/\/+$/, '') !== to.state_dir)
    throw new Error(`lab slot ${slot}: the rewritten lab section is ${JSON.stringify(got)}, not ${JSON.stringify(to)}`);
  return out;
}
