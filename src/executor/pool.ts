// One connection per host per run, reused by every step, closed together at the end; never a host outside --limit.
import { localConnector } from '../connectors/local.js';
import { sshConnector } from '../connectors/ssh.js';
import type { Connector } from '../connectors/types.js';
import type { Host } from '../inventory/types.js';
import { connectionLimit, OutsideLimit } from './limit.js';

export type ConnectFn = (host: Host) => Promise<Connector>;

/** A cache of connectors keyed by host name. `connect` defaults to SSH; tests may pass a fake. `limit`: the only
 *  hosts it connects to (default: the process's --limit); asking for another is an OutsideLimit, nothing dialled. */
export class ConnectionPool {
  private readonly open = new Map<string, Promise<Connector>>();
  private readonly limit: ReadonlySet<string> | undefined;
  constructor(private readonly connect: ConnectFn = defaultConnect, limit?: readonly string[]) {
    this.limit = limit?.length ? new Set(limit) : connectionLimit();
  }

  /** The host's connector, connecting on first use. A failed connection is not cached. */
  get(host: Host): Promise<Connector> {
    if (this.limit && !this.limit.has(host.name)) return Promise.reject(new OutsideLimit(host.name, this.limit));
    let c = this.open.get(host.name);
    if (!c) {
      c = this.connect(host);
      c.catch(() => this.open.delete(host.name));
      this.open.set(host.name, c);
    }
    return c;
  }

  /** Close every connection, ignoring the ones that never opened. */
  async closeAll(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map((p) => p.then((c) => c.close()).catch(() => undefined)));
  }
}

/** SSH for inventory hosts; the `local` transport (address 'local') runs on this machine. */
function defaultConnect(host: Host): Promise<Connector> {
  return host.address === 'local' ? Promise.resolve(localConnector(host.name)) : sshConnector(host);
}

/** Run fn with a pool that is always closed afterwards, also on failure. */
export async function withPool<T>(fn: (pool: ConnectionPool) => Promise<T>, connect?: ConnectFn): Promise<T> {
  const pool = new ConnectionPool(connect);
  try {
    return await fn(pool);
  } finally {
    await pool.closeAll();
  }
}
