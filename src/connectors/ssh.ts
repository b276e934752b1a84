// The ssh connector (node-ssh over ssh2): host keys verified against known_hosts, one connection per host, timeouts.
import { readFile } from 'node:fs/promises';
import { NodeSSH } from 'node-ssh';
import type { ClientChannel } from 'ssh2';
import { OperationError, UserError } from '../core/errors.js';
import { mask } from '../core/secrets.js';
import { limiter } from '../core/limiter.js';
import { COMMAND_TIMEOUT_S, CONNECT_TIMEOUT_S, KEEPALIVE } from '../core/timeouts.js';
import type { Host } from '../inventory/types.js';
import { algorithmsFor, keyRefusal, keysFor, verifyKey, type KeyVerdict } from './known-hosts.js';
import type { Connector, RunOptions, RunResult } from './types.js';

/** A refused host key is a safety refusal of the connection, reported as a failure of that host. */
export class HostKeyRefused extends OperationError {}

async function readOrExplain(path: string, what: string, fix: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e: any) {
    throw new UserError(`${what} ${path} cannot be read (${e.code ?? e.message})`, fix);
  }
}

/** Connect to an inventory host over SSH, verifying its host key; the connection is kept until close(). */
export async function sshConnector(host: Host): Promise<Connector> {
  const { ssh: cfg, address } = host;
  const known = keysFor(await readOrExplain(cfg.known_hosts, 'known_hosts file', `create it with the hosts' verified keys (ssh-keyscan ${address} >> ${cfg.known_hosts})`), address, cfg.port);
  const privateKey = await readOrExplain(cfg.identity_file, 'SSH identity file', `set ssh.identity_file in the inventory or create the key (ssh-keygen -t ed25519 -f ${cfg.identity_file})`);
  let verdict: KeyVerdict = { ok: true };
  const client = new NodeSSH();
  const algorithms = algorithmsFor(known);
  try {
    const connecting = client.connect({
      host: address,
      port: cfg.port,
      username: cfg.user,
      privateKey,
      readyTimeout: (cfg.connect_timeout ?? CONNECT_TIMEOUT_S) * 1000,
      keepaliveInterval: KEEPALIVE.intervalMs,
      keepaliveCountMax: KEEPALIVE.countMax,
      algorithms: algorithms.length ? { serverHostKey: algorithms as any } : undefined,
      hostVerifier: (key: Buffer) => {
        verdict = verifyKey(known, key);
        return verdict.ok;
      },
    } as any);
    // Nagle's algorithm off, from the key exchange on (node-ssh has made the socket by now, given the key's text): a
    // command is a few small packets each way (the channel's open, its stdin, its EOF), and with Nagle each waited for
    // the server's delayed ACK (40 ms): ~50 ms for any command, ~90 ms for one given stdin, where the work itself took
    // 3-15 ms (measured on the lab: psql with a statement on stdin, 60 -> 16 ms)
    client.connection?.setNoDelay(true);
    await connecting;
  } catch (e: any) {
    client.dispose();
    if (!verdict.ok) throw new HostKeyRefused(keyRefusal(verdict, host.name, address, cfg.port, cfg.known_hosts));
    throw new OperationError(`${host.name}: cannot connect to ${cfg.user}@${address}:${cfg.port}: ${e.message ?? e}`);
  }
  const defaultTimeout = (cfg.command_timeout ?? COMMAND_TIMEOUT_S) * 1000;
  const ch: Channels = { client, slot: limiter(MAX_CHANNELS), lost: null };
  // a connection lost after it opened (keepalives unanswered, reset) is an error event of the client: without a
  // listener it would end the whole process; it ends this host's commands instead (exit 255, the reason in stderr)
  client.connection?.on('error', (e: Error) => {
    ch.lost = `${host.name}: connection lost: ${e.message}`;
  });
  const onSftp = <T>(use: (sftp: Awaited<ReturnType<NodeSSH['requestSFTP']>>) => Promise<T>): Promise<T> =>
    ch.slot(async () => {
      const sftp = await client.requestSFTP();
      try {
        return await use(sftp);
      } finally {
        sftp.end();
      }
    });
  return {
    host: host.name,
    run: (script, opts = {}) => exec(ch, host.name, script, { ...opts, timeoutMs: opts.timeoutMs ?? defaultTimeout }),
    hold: (script) => hold(ch, host.name, script),
    put: (path, content, mode) =>
      onSftp((sftp) => new Promise<void>((resolve, reject) => sftp.writeFile(path, content, mode !== undefined ? { mode } : {}, (err) => (err ? reject(err) : resolve())))),
    get: (path) => onSftp((sftp) => new Promise<Buffer>((resolve, reject) => sftp.readFile(path, (err, buf) => (err ? reject(err) : resolve(buf))))),
    async close() {
      client.dispose();
    },
  };
}

/** sshd opens at most MaxSessions channels on one connection (10 by default) and refuses more ("Channel open
 *  failure"); a command beyond this many waits until a channel closes (and a refused opening is retried). */
const MAX_CHANNELS = 8;

/** A connection and its channel slots: `slot(fn)` runs fn when a channel is free and holds that channel until the
 *  promise fn returns has settled. */
interface Channels {
  client: NodeSSH;
  slot: ReturnType<typeof limiter>;
  /** Why the connection was lost, once it was. */
  lost: string | null;
}

/** What shell text on a host did, timed from now on (the command masked). */
type ResultOf = (code: number, stdout: string, stderr: string) => RunResult;

/** An exec channel for shell text on the open connection, handed to `use`; not connected, or the channel refused:
 *  that result instead. */
function onChannel<T>(ch: Channels, host: string, script: string, use: (stream: ClientChannel, result: ResultOf, resolve: (v: T | RunResult) => void) => void): Promise<T | RunResult> {
  const started = Date.now();
  const result: ResultOf = (code, stdout, stderr) => ({ host, command: mask(script), code, stdout, stderr, durationMs: Date.now() - started });
  return new Promise((resolve) => {
    // the channel's slot is held until the channel closes (a held command's promise resolves long before)
    void ch.slot(
      () =>
        new Promise<void>((closed) => {
          const conn = ch.client.connection;
          if (!conn || ch.lost) {
            closed();
            return resolve(result(255, '', ch.lost ?? 'not connected'));
          }
          // sshd frees a closed channel's session a moment after the close: a channel opened right after several
          // closed may still find MaxSessions taken, and is refused without running anything. It is asked again.
          const open = (attempt: number) =>
            conn.exec(script, (err, stream) => {
              if (err) {
                if (/open failed/i.test(err.message) && attempt < 8) return void setTimeout(() => open(attempt + 1), 10 * 2 ** attempt);
                closed();
                return resolve(result(255, '', `ssh exec failed: ${err.message}`));
              }
              stream.on('close', () => closed());
              use(stream, result, resolve);
            });
          open(0);
        }),
    );
  });
}

/** Shell text that holds something while its channel stays open (Connector.hold): closing the connection, or losing it,
 *  ends it. */
function hold(ch: Channels, host: string, script: string): Promise<RunResult | undefined> {
  return onChannel<undefined>(ch, host, script, (stream, result, resolve) => {
    const out: Buffer[] = [];
    const errOut: Buffer[] = [];
    let held = false;
    let code = 255;
    stream.on('data', (d: Buffer) => {
      out.push(d);
      if (!held && Buffer.concat(out).includes('\n')) {
        held = true;
        resolve(undefined);
      }
    });
    stream.stderr.on('data', (d: Buffer) => errOut.push(d));
    stream.on('exit', (c: number | null) => (code = c ?? 255));
    stream.on('close', () => held || resolve(result(code, Buffer.concat(out).toString('utf8'), Buffer.concat(errOut).toString('utf8'))));
  });
}

/** Run shell text on an open connection with a timeout; a timed-out command is closed and reported with code 124. */
function exec(ch: Channels, host: string, script: string, opts: RunOptions): Promise<RunResult> {
  return onChannel<RunResult>(ch, host, script, (stream, result, resolve) => {
    const out: Buffer[] = [];
    const errOut: Buffer[] = [];
    let code: number | undefined;
    let timedOut = false;
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          stream.signal?.('KILL');
          stream.close();
        }, opts.timeoutMs)
      : undefined;
    stream.on('data', (d: Buffer) => out.push(d));
    stream.stderr.on('data', (d: Buffer) => errOut.push(d));
    stream.on('exit', (c: number | null, signal?: string) => {
      code = c ?? (signal ? 128 : 255);
    });
    stream.on('close', () => {
      if (timer) clearTimeout(timer);
      const stderr = Buffer.concat(errOut).toString('utf8') + (timedOut ? `\n(timed out after ${opts.timeoutMs} ms)` : '') + (code === undefined && ch.lost ? `\n(${ch.lost})` : '');
      resolve(result(timedOut ? 124 : code ?? 255, Buffer.concat(out).toString('utf8'), stderr));
    });
    if (opts.stdin !== undefined) stream.end(opts.stdin);
    else stream.end();
  });
}
