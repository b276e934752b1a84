// Unit tests of the shell text the lab runs: boot, network, teardown. Checked for syntax (sh -n, shellcheck, perl -c) and content.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { bootScript, FIRST_BOOT_MARKER, launchScript, writeFileScript } from '../../src/lab/boot.js';
import { initProgram } from '../../src/lab/files.js';
import { bridgeDownScript, bridgeUpScript, hostNetworkScript } from '../../src/lab/network.js';
import { planLab } from '../../src/lab/plan.js';
import { hostDownScript, labDownScript } from '../../src/lab/teardown.js';
import { labInventory } from './fixtures/inventory.js';

const plan = planLab(labInventory());
const db = plan.hosts[0]!;
const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHm2drPK+HU6lBqv1uWwFHkrQ1cgDKyZjs8YkVbLPcCA ironclad-lab';
const hasShellcheck = spawnSync('shellcheck', ['--version']).status === 0;

/** Syntax-check shell text with sh -n and, when installed, shellcheck. */
function checkShell(t: Test, name: string, script: string): void {
  const syntax = spawnSync('sh', ['-n'], { input: script, encoding: 'utf8' });
  t.equal(syntax.status, 0, `${name}: sh -n ${syntax.stderr}`);
  if (!hasShellcheck) return;
  const sc = spawnSync('shellcheck', ['-s', 'sh', '-'], { input: script, encoding: 'utf8' });
  t.equal(sc.status, 0, `${name}: shellcheck ${sc.stdout}`);
}

/** Index of the first line matching, to check the order of steps. */
function lineOf(script: string, pattern: RegExp): number {
  return script.split('\n').findIndex((l) => pattern.test(l));
}

t.test('every generated script is valid shell', async (t) => {
  const scripts: [string, string][] = [
    ['boot', bootScript(plan, db, key)],
    ['launch', launchScript(db)],
    ['bridge up', bridgeUpScript(plan)],
    ['bridge down', bridgeDownScript(plan)],
    ['host network', hostNetworkScript(plan, db)],
    ['host down', hostDownScript(plan, db, { wipe: true })],
    ['lab down', labDownScript(plan, plan.hosts, { wipe: true })],
  ];
  for (const [name, script] of scripts) checkShell(t, name, script);
});

t.test('the init program is valid perl', async (t) => {
  const r = spawnSync('perl', ['-c'], { input: initProgram(), encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.match(initProgram(), /wait\(\)/, 'reaps every child, orphans included');
  t.match(initProgram(), /'\/usr\/sbin\/sshd', '-D', '-e'/, 'sshd in the foreground, logging to the boot log');
});

t.test('boot: records the pid, mounts the copy-on-write root, prepares it, becomes the init', async (t) => {
  const s = bootScript(plan, db, key);
  t.match(s, /^set -eu$/m);
  t.match(s, 'mount -t overlay overlay -o lowerdir=/,upperdir=/var/lib/icl-test/hosts/db-prod/upper,workdir=/var/lib/icl-test/hosts/db-prod/work /var/lib/icl-test/hosts/db-prod/root');
  for (const m of ['proc /var/lib/icl-test/hosts/db-prod/root/proc', 'sysfs /var/lib/icl-test/hosts/db-prod/root/sys', 'tmpfs /var/lib/icl-test/hosts/db-prod/root/dev', 'devpts /var/lib/icl-test/hosts/db-prod/root/dev/pts', 'tmpfs /var/lib/icl-test/hosts/db-prod/root/dev/shm', 'tmpfs /var/lib/icl-test/hosts/db-prod/root/run'])
    t.match(s, m, `mounts ${m}`);
  t.match(s, 'mknod -m 666 /var/lib/icl-test/hosts/db-prod/root/dev/null c 1 3');
  t.match(s, 'hostname db-prod');
  t.ok(lineOf(s, /init\.pid/) < lineOf(s, /mount -t overlay/), 'the pid is recorded first, so a failed boot can be found and cleared');
  t.match(s, `if [ ! -e /var/lib/icl-test/hosts/db-prod/root${FIRST_BOOT_MARKER} ]; then`);
  t.match(s, 'rm -rf /var/lib/icl-test/hosts/db-prod/root/etc/postgresql/*/* /var/lib/icl-test/hosts/db-prod/root/var/lib/postgresql/*/*', 'the inherited cluster goes on first boot');
  t.match(s, 'rm -f /var/lib/icl-test/hosts/db-prod/root/etc/ssh/ssh_host_*', "the machine's host keys go");
  t.match(s, "ssh-keygen -q -t ed25519 -N '' -C root@db-prod -f /var/lib/icl-test/hosts/db-prod/root/etc/ssh/ssh_host_ed25519_key");
  t.ok(lineOf(s, /FIRST_BOOT|etc\/ironclad-lab\/host$/) > lineOf(s, /ssh-keygen/), 'the marker is written after the first-boot work');
  t.match(s, `${key}\nICL_EOF`, 'the lab key is authorized');
  t.match(s, '10.213.7.20\tstaging', '/etc/hosts lists every lab host');
  t.match(s, 'mount -t tmpfs -o ro,size=4k,mode=755 tmpfs /var/lib/icl-test/hosts/db-prod/root/var/lib/icl-test', "the lab's state is hidden inside hosts");
  const lines = s.trimEnd().split('\n');
  t.match(lines[lines.length - 1], /^exec chroot \/var\/lib\/icl-test\/hosts\/db-prod\/root env -i PATH=\S+ HOME=\/root LANG=C.UTF-8 \/usr\/bin\/perl \/usr\/local\/sbin\/ironclad-lab-init$/, 'ends by becoming the init');
});

t.test('here-documents refuse text containing their tag', async (t) => {
  t.match(writeFileScript('/x', 'a\nb\n', '644'), "cat > /x <<'ICL_EOF'\na\nb\nICL_EOF\nchmod 644 /x");
  t.match(writeFileScript('/x', 'no newline', '600'), "no newline\nICL_EOF\n");
  t.throws(() => writeFileScript('/x', 'a\nICL_EOF\nb', '644'));
});

t.test('launch: detached, clean environment, new namespaces inside the netns', async (t) => {
  t.equal(
    launchScript(db),
    'setsid -f env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin ip netns exec icl-db-prod unshare --pid --uts --mount --ipc --fork --propagation private /bin/sh /var/lib/icl-test/hosts/db-prod/boot.sh </dev/null >>/var/lib/icl-test/hosts/db-prod/boot.log 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-',
  );
});

t.test('network: the bridge with the gateway, a veth per host with a fixed MAC', async (t) => {
  t.match(
    bridgeUpScript(plan),
    /\nip link show dev icl0 >\/dev\/null 2>&1 \|\| ip link add name icl0 address 02:1c:0a:d5:07:01 type bridge\nip addr replace 10.213.7.1\/24 dev icl0\nip link set dev icl0 up$/,
  );
  t.equal(bridgeDownScript(plan), 'if ip link show dev icl0 >/dev/null 2>&1; then ip link del dev icl0; fi');
  t.equal(
    hostNetworkScript(plan, db),
    [
      'ip netns add icl-db-prod',
      'ip link add name icl-db-prod type veth peer name eth0 address 02:1c:0a:d5:07:0a netns icl-db-prod',
      'ip link set dev icl-db-prod master icl0 up',
      'ip -n icl-db-prod addr add 10.213.7.10/24 dev eth0',
      'ip -n icl-db-prod link set dev lo up',
      'ip -n icl-db-prod link set dev eth0 up',
      'ip -n icl-db-prod route add default via 10.213.7.1',
    ].join('\n'),
  );
});

t.test('teardown: the recorded pid only after checking its netns, then the rest', async (t) => {
  const s = hostDownScript(plan, db, { wipe: false });
  t.match(s, 'if [ "$(ip netns identify "$pid" 2>/dev/null)" = icl-db-prod ]; then kill -KILL "$pid"');
  t.notMatch(s, /pkill|killall|pidof/, 'never by name');
  t.ok(lineOf(s, /kill -KILL "\$pid"/) < lineOf(s, /ip netns del/), 'the init dies before its netns goes');
  t.match(s, 'ip link del dev icl-db-prod');
  t.match(s, "awk -v d=/var/lib/icl-test/hosts/db-prod/ 'index($5 \"/\", d) == 1 { print $5 }' /proc/self/mountinfo", 'stray mounts under the host are found');
  t.notMatch(s, /rm -rf/, 'the disk is kept without wipe');
  t.match(s, 'if [ -n "$master" ] && [ "$master" != icl0 ]; then\n  echo "foreign db-prod $master"\nelse', "another lab's host of the same name is left alone");
  t.match(hostDownScript(plan, db, { wipe: true }), 'rm -rf --one-file-system /var/lib/icl-test/hosts/db-prod');

  const whole = labDownScript(plan, plan.hosts, { wipe: true });
  t.equal(whole.match(/# stop lab host/g)?.length, 4);
  t.match(whole, 'ip link del dev icl0');
  t.match(whole, 'rm -rf --one-file-system /var/lib/icl-test/hosts\n');
  t.notMatch(whole, /id_ed25519/, 'the lab key is kept');
  t.match(whole, 'rm -f /var/lib/icl-test/known_hosts\n', 'known_hosts goes with the host keys');
  const some = labDownScript(plan, [db], { wipe: true });
  t.equal(some.match(/# stop lab host/g)?.length, 1);
  t.notMatch(some, /ip link del dev icl0/, 'the bridge stays while other hosts may use it');
  t.notMatch(labDownScript(plan, plan.hosts, { wipe: false }), /rm -rf/);
});

t.test('the bridge is refused when another interface already has an address in the lab subnet (another lab)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'icl-fake-ip-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // a fake `ip`: `addr show to` prints $ADDRS, everything else is logged
  writeFileSync(join(dir, 'ip'), '#!/bin/sh\ncase "$*" in *"addr show to 10.213.7.0/24"*) printf "%s" "$ADDRS" ;; *) echo "ip $*" >> "$LOG" ;; esac\n', { mode: 0o755 });
  const run = (addrs: string) => {
    const log = join(dir, `log-${Math.random()}`);
    const r = spawnSync('sh', ['-c', bridgeUpScript(plan)], { encoding: 'utf8', env: { PATH: `${dir}:/usr/bin:/bin`, ADDRS: addrs, LOG: log } });
    return { code: r.status, stderr: r.stderr, calls: existsSync(log) ? readFileSync(log, 'utf8') : '' };
  };
  const taken = run('7: icl0s2    inet 10.213.7.1/24 scope global icl0s2\\       valid_lft forever\n');
  t.equal(taken.code, 3, 'refused');
  t.match(taken.stderr, 'lab.subnet 10.213.7.0/24 is already on icl0s2 ');
  t.equal(taken.calls, '', 'nothing created');
  const ours = run('7: icl0    inet 10.213.7.1/24 scope global icl0\\       valid_lft forever\n');
  t.equal(ours.code, 0, "the lab's own bridge is no conflict");
  t.match(ours.calls, 'ip addr replace 10.213.7.1/24 dev icl0');
  t.equal(run('').code, 0, 'a free subnet');
});
