// Reaching lab hosts: does sshd answer (a TCP banner check), and the ssh command line with strict host-key checking.
import { connect } from 'node:net';
import { shq } from '../core/quote.js';
import type { LabHostPlan } from './plan.js';

/** True when something on address:port greets with an SSH banner within timeoutMs. */
export function sshAnswers(address: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port });
    let seen = '';
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('data', (chunk) => {
      seen += chunk.toString('latin1');
      if (seen.includes('\n')) {
        socket.end('SSH-2.0-ironclad-lab-probe\r\n');
        done(seen.startsWith('SSH-'));
      }
    });
    socket.on('error', () => done(false));
    socket.on('close', () => done(seen.startsWith('SSH-')));
  });
}

/** Poll until sshd answers or the deadline passes; false on timeout. */
export async function waitForSsh(address: string, port: number, timeoutMs: number, stillBooting: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await sshAnswers(address, port, 1000)) return true;
    if (!(await stillBooting())) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** Shell text running `script` on a lab host over real ssh: the lab key, the lab's known_hosts, no trust on first use. */
export function sshCommand(host: LabHostPlan, script: string, user = 'root'): string {
  const opts = [
    'BatchMode=yes',
    'StrictHostKeyChecking=yes',
    `UserKnownHostsFile=${host.knownHosts}`,
    'GlobalKnownHostsFile=/dev/null',
    'IdentitiesOnly=yes',
    'ConnectTimeout=5',
    'LogLevel=ERROR',
  ];
  return [
    'ssh',
    ...opts.flatMap((o) => ['-o', shq(o)]),
    '-i',
    shq(host.identityFile),
    '-p',
    String(host.sshPort),
    shq(`${user}@${host.address}`),
    shq(script),
  ].join(' ');
}
