// A test process holding a lab, for the lab's own teardown tests: `node hold-lab.ts INVENTORY wait|throw` brings the
// lab up through withLab, prints `up`, then waits to be killed (wait) or crashes with an uncaught error (throw).
import { withLab } from './lab.js';

const [inventoryFile, mode] = process.argv.slice(2);
await withLab({ teardown: () => undefined }, { inventoryFile });
process.stdout.write('up\n');
if (mode === 'throw') throw new Error('the test crashed while holding the lab');
setInterval(() => undefined, 1000);
