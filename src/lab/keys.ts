// The lab's keys: the client key every host accepts, and known_hosts files listing each host's own key.
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { toShell } from '../core/command.js';
import { shq } from '../core/quote.js';
import { mustRun } from './exec.js';
import { knownHostsText } from './files.js';
import type { LabPlan } from './plan.js';

/** Make the lab key (ed25519, no passphrase) if it is missing, and its .pub; return the public key line. */
export async function ensureIdentity(file: string): Promise<string> {
  if (!existsSync(file))
    await mustRun('lab', `make the lab key ${file}`, `mkdir -p ${shq(dirname(file))} && ssh-keygen -q -t ed25519 -N '' -C ironclad-lab -f ${shq(file)}`);
  else if (!existsSync(`${file}.pub`))
    await mustRun('lab', `derive ${file}.pub`, `ssh-keygen -y -f ${shq(file)} > ${shq(`${file}.pub`)}`);
  return readFileSync(`${file}.pub`, 'utf8').trim();
}

/** Make the lab's secret files that are missing: random, readable by root only; existing ones are kept. */
export async function ensureSecrets(files: string[]): Promise<void> {
  for (const file of files)
    if (!existsSync(file))
      await mustRun('lab', `make the secret ${file}`, `mkdir -p ${shq(dirname(file))} && umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=' > ${shq(file)}`);
}

function readIfPresent(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The known_hosts files the lab should have, by path: each host's key where the host has one. */
export function wantedKnownHosts(plan: LabPlan, readKey: (path: string) => string | undefined): Map<string, string> {
  const files = new Map<string, string>();
  for (const file of new Set(plan.hosts.map((h) => h.knownHosts))) {
    const entries = plan.hosts.filter((h) => h.knownHosts === file).map((host) => ({ host, publicKey: readKey(host.hostKeyPub) }));
    files.set(file, knownHostsText(entries));
  }
  return files;
}

/** Write (or remove, when no host has a key) every known_hosts file of the lab; true when something changed. */
export async function syncKnownHosts(plan: LabPlan): Promise<boolean> {
  let changed = false;
  for (const [file, text] of wantedKnownHosts(plan, readIfPresent)) {
    const current = readIfPresent(file);
    if ((current ?? '') === text) continue;
    changed = true;
    if (text === '') await mustRun('lab', `remove ${file}`, `rm -f ${shq(file)}`);
    else {
      const upload = toShell({ kind: 'upload', path: file, content: text, mode: '644' });
      await mustRun('lab', `write ${file}`, `mkdir -p ${shq(dirname(file))} && ${upload.script}`, upload.stdin);
    }
  }
  return changed;
}
