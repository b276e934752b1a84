// The CPU one host spends on the scripts ironclad sends it: the census (`check instances`) and the plan's one round trip
// (facts + cluster state, as `plan`/`apply` gather them), each as the CLI sends it (captured from the build's own code),
// run over ssh under /usr/bin/time (user + system CPU of the shell and every process it reaped), RUNS times, builds
// interleaved. Read-only. Compare builds with --against DIR (another checkout with a dist/).
// Usage (after a build, on a provisioned lab host): node bench/scale/host-cpu.mjs -i INVENTORY --host H [--runs 20] [--against DIR]
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const here = resolve(fileURLToPath(import.meta.url), '../../..');
const builds = [here, ...(opt('--against') ? [resolve(opt('--against'))] : [])];
const runs = Number(opt('--runs', '20'));

/** A connector that records what it is asked to run and answers nothing. */
function recorder(name) {
  const seen = [];
  return {
    seen,
    conn: {
      host: name,
      run: async (script, o = {}) => (seen.push({ script, stdin: o.stdin ?? '' }), { host: name, command: '', code: 0, stdout: '', stderr: '', durationMs: 0 }),
      put: async () => undefined,
      get: async () => Buffer.alloc(0),
      hold: async () => undefined,
      close: async () => undefined,
    },
  };
}

/** The census and the plan's script of host H as build ROOT sends them. */
async function scripts(root, inventory, name) {
  const dist = (p) => import(resolve(root, 'dist', p));
  const [{ loadInventory, selectHosts }, { checkInstances }, { gatherForPlan }] = await Promise.all([dist('src/inventory/load.js'), dist('src/instances/check.js'), dist('src/provision/run.js')]);
  const host = selectHosts(loadInventory(resolve(inventory)), [name])[0];
  const census = recorder(name);
  await checkInstances(census.conn, host).catch(() => undefined);
  const plan = recorder(name);
  await gatherForPlan(plan.conn, host).catch(() => undefined);
  return { host, census: census.seen[0], plan: plan.seen[0] };
}

const inventory = opt('-i', 'inventory/inventory.yaml');
const name = opt('--host');
if (!name) throw new Error('usage: host-cpu.mjs -i INVENTORY --host H [--runs N] [--against DIR]');
const sets = await Promise.all(builds.map((b) => scripts(b, inventory, name)));
const { host } = sets[0];
const ssh = ['-i', host.ssh.identity_file, '-o', `UserKnownHostsFile=${host.ssh.known_hosts}`, '-o', 'BatchMode=yes', '-p', String(host.ssh.port), `${host.ssh.user}@${host.address}`];

/** CPU seconds (user + system) of one run: the census as `sh -s` with its script on stdin, the plan's script as the
 *  login shell runs an exec request (bash -c), here given on stdin to `bash -s`. The census may exit 3: still a run. */
function measure(kind, s) {
  const time = `/usr/bin/time -f '@cpu %U %S'`;
  const r = spawnSync('ssh', [...ssh, kind === 'census' ? `${time} ${s.script}` : `${time} bash -s`], { input: kind === 'census' ? s.stdin : s.script, encoding: 'utf8', maxBuffer: 1 << 26 });
  const m = /@cpu ([\d.]+) ([\d.]+)/.exec(r.stderr ?? '');
  if (!m) throw new Error(`${kind}: no CPU figure (exit ${r.status}): ${r.stderr}`);
  return Number(m[1]) + Number(m[2]);
}

const times = sets.map(() => ({ census: [], plan: [] }));
for (let i = 0; i < runs; i++)
  for (const [b, s] of sets.entries()) for (const kind of ['census', 'plan']) times[b][kind].push(measure(kind, s[kind]));
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return `mean ${((xs.reduce((a, b) => a + b, 0) / xs.length) * 1000).toFixed(0)} ms, median ${(s[Math.floor(s.length / 2)] * 1000).toFixed(0)} ms, min ${(s[0] * 1000).toFixed(0)} ms`;
};
for (const [b, root] of builds.entries())
  for (const kind of ['census', 'plan']) console.log(`${root} ${kind} (${runs} runs on ${name}): ${stats(times[b][kind])} of CPU`);
