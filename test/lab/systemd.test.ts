// Unit tests of the systemd lab flavor: which hosts are systemd hosts, and the shell text that builds the base tree,
// boots a host with systemd-nspawn and takes it down (checked for content and parsed by sh -n).
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { BASE_CACHE, BASE_RECIPE, baseBuildScript, baseDir } from '../../src/lab/base.js';
import { CGROUP_ROOTS, cgroupDownScript, nspawnCommand, systemdBootScript, systemdLaunchScript } from '../../src/lab/nspawn.js';
import { planLab, SYSTEMD_TAG } from '../../src/lab/plan.js';
import { hostDownScript } from '../../src/lab/teardown.js';
import { labHost, labInventory } from './fixtures/inventory.js';

/** sh -n: the text parses as a shell script. */
function parses(script: string): string {
  const r = spawnSync('sh', ['-n'], { input: script, encoding: 'utf8' });
  return r.status === 0 ? '' : r.stderr;
}

const systemdHost = { ...labHost('sd-db', '10.213.7.10'), tags: [SYSTEMD_TAG] };
const plan = planLab(labInventory({ hosts: [systemdHost, labHost('app-prod', '10.213.7.11')] }));
const [sd, ns] = plan.hosts as [(typeof plan.hosts)[0], (typeof plan.hosts)[0]];
const BASE = '/var/cache/ironclad-lab/base/bookworm-0123456789ab';

t.test('a host is a systemd host by its tag, or by lab.flavor; namespace otherwise', async (t) => {
  t.equal(sd.flavor, 'systemd', 'tagged lab-systemd');
  t.equal(ns.flavor, 'namespace', 'untagged');
  const whole = planLab(labInventory({ lab: { bridge: 'icl0', subnet: '10.213.7.0/24', state_dir: '/var/lib/icl-test', flavor: 'systemd' } as never }));
  t.same(new Set(whole.hosts.map((h) => h.flavor)), new Set(['systemd']), 'lab.flavor: systemd makes every host one');
  t.equal(sd.cgroup, 'ironclad-lab/icl-sd-db', 'its cgroup is named after its netns (unique on the machine)');
});

t.test('the boot script mounts the overlay on the base, gives the host its identity, and records pid 1 of the container', async (t) => {
  const s = systemdBootScript(plan, sd, BASE, 'ssh-ed25519 AAAA lab');
  t.equal(parses(s), '', 'parses');
  t.match(s, `lowerdir=${BASE},upperdir=${sd.upper},workdir=${sd.work}`);
  t.match(s, /ssh-keygen -q -t ed25519/);
  t.match(s, /etc\/machine-id/);
  t.match(s, /etc\/hostname <<'ICL_EOF'\nsd-db\n/);
  t.match(s, 'ssh-ed25519 AAAA lab');
  t.match(s, `${sd.cgroup}/cgroup.procs`, 'nspawn runs in the host cgroup');
  t.match(s, /NF == 3 && \$3 == 1/, 'the init is pid 1 of a nested pid namespace');
  t.match(s, `> ${sd.pidFile}`);
  t.match(s, /wait "\$nspawn"/, 'the script lives as long as nspawn');
  const cmd = nspawnCommand(sd);
  for (const flag of ['--boot', '--register=no', '--keep-unit', '--resolv-conf=off', `--directory=${sd.root}`, '--machine=icl-sd-db', '--hostname=sd-db']) t.match(cmd, flag);
  t.notMatch(cmd, /--private-network|--network-/, 'nspawn keeps the netns it is started in');
});

t.test('the launch enters the netns with nsenter (ip netns exec would hide the cgroups) and drops the caller\'s descriptors', async (t) => {
  const l = systemdLaunchScript(sd);
  t.equal(parses(l), '');
  t.match(l, `nsenter --net=/run/netns/${sd.netns} unshare --mount --propagation private`);
  t.notMatch(l, /ip netns exec/);
  t.match(l, /3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-/);
});

t.test('teardown of a systemd host also kills by pid what its cgroup lists and removes the cgroup; a namespace host has none', async (t) => {
  const down = hostDownScript(plan, sd, { wipe: true });
  t.equal(parses(down), '');
  t.match(down, cgroupDownScript(sd));
  t.match(down, /find "\$d" -name cgroup\.procs -exec cat/);
  t.match(down, /xargs -r kill -KILL/);
  t.match(down, 'rm -rf --one-file-system /run/systemd/nspawn/propagate/icl-sd-db', "nspawn's directory of the machine (named by the unique machine name; a killed nspawn leaves it)");
  t.match(down, /-depth -type d -exec rmdir/);
  t.notMatch(hostDownScript(plan, ns, { wipe: true }), /cgroup/);
  t.equal(parses(CGROUP_ROOTS), '');
});

t.test('the base tree: cached by recipe, built aside and renamed, no identity or policy-rc.d left in it', async (t) => {
  t.match(baseDir(), new RegExp(`^${BASE_CACHE}/bookworm-[0-9a-f]{12}$`));
  t.not(baseDir({ ...BASE_RECIPE, include: [...BASE_RECIPE.include, 'vim'] }), baseDir(), 'another recipe, another directory');
  const s = baseBuildScript(BASE);
  t.equal(parses(s), '');
  t.match(s, `debootstrap --variant=minbase --include=${BASE_RECIPE.include.join(',')} bookworm ${BASE}.tmp`);
  t.match(s, /apt-get install -y -q --download-only --no-install-recommends postgresql-15 /);
  t.match(s, /ssh_host_\* .*policy-rc\.d/);
  t.match(s, `mv ${BASE}.tmp ${BASE}`);
  t.ok(s.indexOf('ironclad-lab-base') < s.indexOf(`mv ${BASE}.tmp`), 'the marker is written before the rename');
  for (const timer of BASE_RECIPE.masked) t.match(s, `ln -sfn /dev/null ${BASE}.tmp/etc/systemd/system/${timer}`);
});
