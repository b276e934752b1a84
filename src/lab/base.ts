// The base tree of systemd lab hosts: a minimal Debian made once by debootstrap on this machine, cached, shared
// read-only by every systemd host (each gets its own overlay). Hosts have no route to a mirror, so the packages
// provisioning installs later (PostgreSQL, rsync) wait as .deb files in the tree's own apt cache, with apt's lists.
//
// Cached in /var/cache/ironclad-lab/base/<suite>-<hash of the recipe> (not in a lab's state_dir: `lab down` wipes
// that, and every systemd lab on the machine shares the tree). A changed recipe is a new directory, built on the
// next `lab up`; `ironclad lab base --refresh` rebuilds the current one (newer Debian point release) and removes
// bases no running host uses.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OperationError } from '../core/errors.js';
import { shq } from '../core/quote.js';
import { LAB_PATH } from './boot.js';
import { mustRun, runHere } from './exec.js';
import { withLabLock } from './lock.js';

/** Where base trees are cached. */
export const BASE_CACHE = '/var/cache/ironclad-lab/base';

/** What goes into the base: installed by debootstrap, and only downloaded (installed by provisioning on a host). */
export const BASE_RECIPE = {
  suite: 'bookworm',
  mirror: 'http://deb.debian.org/debian',
  // what a small real server has before ironclad touches it: systemd as init, sshd, cron, sudo, age, openssl
  include: ['systemd', 'systemd-sysv', 'dbus', 'openssh-server', 'iproute2', 'procps', 'cron', 'sudo', 'age', 'zstd', 'openssl', 'less'],
  cached: ['postgresql-15', 'postgresql-client-15', 'postgresql-common', 'postgresql-client-common', 'rsync'],
  // timers that would only fail without a mirror (and wake every host): masked
  masked: ['apt-daily.timer', 'apt-daily-upgrade.timer', 'e2scrub_all.timer', 'fstrim.timer'],
};

/** Marker file inside a finished base tree (it names the recipe); a directory without it is unfinished. */
export const BASE_MARKER = 'etc/ironclad-lab-base';

/** The recipe as text (what its hash covers: changing any of it makes a new base). */
export function recipeText(recipe = BASE_RECIPE): string {
  return JSON.stringify({ ...recipe, script: 2 });
}

/** The base tree's directory for a recipe. */
export function baseDir(recipe = BASE_RECIPE): string {
  const hash = createHash('sha256').update(recipeText(recipe)).digest('hex').slice(0, 12);
  return join(BASE_CACHE, `${recipe.suite}-${hash}`);
}

/** Shell text that builds the base into `dir`.tmp and renames it into place once complete (pure). */
export function baseBuildScript(dir: string, recipe = BASE_RECIPE): string {
  const tmp = `${dir}.tmp`;
  const t = (p: string) => shq(`${tmp}${p}`);
  const inChroot = (cmd: string) => `chroot ${shq(tmp)} env -i PATH=${LAB_PATH} DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 ${cmd}`;
  return [
    'set -eu',
    `rm -rf --one-file-system ${shq(tmp)}`,
    `mkdir -p ${shq(BASE_CACHE)}`,
    `debootstrap --variant=minbase --include=${recipe.include.join(',')} ${recipe.suite} ${shq(tmp)} ${shq(recipe.mirror)}`,
    '# debootstrap\'s own .debs go; the packages hosts install later are downloaded with their dependencies',
    inChroot('apt-get clean'),
    inChroot(`apt-get install -y -q --download-only --no-install-recommends ${recipe.cached.join(' ')}`),
    '# every host makes its own identity at its first boot; no policy-rc.d (it would keep clusters down)',
    `rm -f ${t('/etc/ssh')}/ssh_host_* ${t('/usr/sbin/policy-rc.d')}`,
    `: > ${t('/etc/machine-id')}`,
    `echo '# lab hosts have no route out and no DNS' > ${t('/etc/resolv.conf')}`,
    ...recipe.masked.map((u) => `ln -sfn /dev/null ${t(`/etc/systemd/system/${u}`)}`),
    `rm -f ${recipe.masked.map((u) => t(`/etc/systemd/system/timers.target.wants/${u}`)).join(' ')}`,
    `printf '%s\\n' ${shq(recipeText(recipe))} > ${t(`/${BASE_MARKER}`)}`,
    'sync -f ' + shq(tmp),
    `if [ -e ${shq(dir)} ]; then mv ${shq(dir)} ${shq(`${dir}.old`)}; fi`,
    `mv ${shq(tmp)} ${shq(dir)}`,
    `rm -rf --one-file-system ${shq(`${dir}.old`)}`,
    '',
  ].join('\n');
}

/** True when `dir` holds a finished base tree. */
export function baseReady(dir: string): boolean {
  return existsSync(join(dir, BASE_MARKER));
}

/** Lower layers of the overlays mounted on this machine: running hosts' mounts live in their own mount namespaces, so every process's mountinfo is read. */
async function lowerLayersInUse(): Promise<Set<string>> {
  const r = await runHere(`cat /proc/[0-9]*/mountinfo 2>/dev/null | grep -o 'lowerdir=[^,]*' | sort -u`);
  return new Set(r.stdout.split('\n').filter(Boolean).map((l) => l.replace(/^lowerdir=/, '')));
}

/** Base trees of the cache other than `keep` that no host uses (safe to remove). */
function unusedBases(keep: string, used: Set<string>): string[] {
  let names: string[];
  try {
    names = readdirSync(BASE_CACHE);
  } catch {
    return [];
  }
  return names.map((n) => join(BASE_CACHE, n)).filter((d) => d !== keep && !d.endsWith('.tmp') && !used.has(d));
}

/** What `ensureBase` did. */
export interface BaseResult {
  dir: string;
  action: 'none' | 'built' | 'refreshed';
  durationMs: number;
  removed: string[];
}

/** The base tree, built when missing (or rebuilt when `refresh`); one build at a time on this machine. */
export async function ensureBase(opts: { refresh?: boolean; progress?: (line: string) => void } = {}): Promise<BaseResult> {
  const dir = baseDir();
  const started = Date.now();
  if (baseReady(dir) && !opts.refresh) return { dir, action: 'none', durationMs: 0, removed: [] };
  return withLabLock(join(BASE_CACHE, '..', 'base.lock'), async () => {
    let action: BaseResult['action'] = 'none';
    if (opts.refresh && (await lowerLayersInUse()).has(dir))
      throw new OperationError(`lab: running systemd hosts use the base tree ${dir}; take their labs down before refreshing it`);
    if (!baseReady(dir) || opts.refresh) {
      opts.progress?.(`lab: building the systemd hosts' base tree ${dir} (debootstrap ${BASE_RECIPE.suite}, about a minute)`);
      await mustRun('lab', `build the base tree ${dir}`, baseBuildScript(dir));
      action = opts.refresh ? 'refreshed' : 'built';
    }
    const removed = unusedBases(dir, await lowerLayersInUse());
    if (removed.length) await mustRun('lab', 'remove old base trees', removed.map((d) => `rm -rf --one-file-system ${shq(d)}`).join('\n'));
    return { dir, action, durationMs: Date.now() - started, removed };
  }, 900_000);
}

/** The recipe a finished base was made from (its marker), or undefined. */
export function baseRecipeOf(dir: string): string | undefined {
  try {
    return readFileSync(join(dir, BASE_MARKER), 'utf8').trim();
  } catch {
    return undefined;
  }
}
