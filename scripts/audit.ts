// `ironclad audit [--html FILE]`: the whole estate against the inventory, for refactoring weeks (exit 3 when anything fails).
import { writeFileSync } from 'node:fs';
import { collectAudit } from '../src/audit/collect.js';
import { renderAuditHtml } from '../src/audit/html.js';
import { renderAudit } from '../src/audit/render.js';
import { buildReport } from '../src/audit/report.js';
import { UserError } from '../src/core/errors.js';
import { withPool, type ConnectFn } from '../src/executor/pool.js';
import { inventoryFile, loadInventory, selectHosts } from '../src/inventory/load.js';
import { printJson, reportFailedHosts, type Family } from './cli.js';

/** The family with a given way to connect (SSH by default). */
export function createAuditFamily(connect?: ConnectFn): Family {
  return {
    name: 'audit',
    summary: 'audit [--html FILE]: drift, instances, backups (freshness, trend, drills), images, disks, versions, unknowns (exit 3 on a failure, 1 when a host is unreachable)',
    options: { html: { type: 'string' } },
    async run({ words, options, flags }) {
      if (words.length) throw new UserError(`audit takes no words (got '${words.join(' ')}')`, 'e.g. ironclad audit --html audit.html');
      const inv = loadInventory(inventoryFile(flags.inventory));
      const hosts = selectHosts(inv, flags.limit);
      const report = buildReport(await withPool((pool) => collectAudit(inv, hosts, pool), connect));
      if (typeof options.html === 'string') {
        writeFileSync(options.html, renderAuditHtml(report));
        process.stderr.write(`ironclad: audit written to ${options.html}\n`);
      }
      if (flags.json) printJson(report);
      else process.stdout.write(renderAudit(report, process.stdout.isTTY));
      const unreachable = report.hosts.flatMap((h) => (h.error !== undefined ? [{ host: h.host, error: h.error }] : []));
      reportFailedHosts(unreachable);
      if (unreachable.length) return 1; // the others were audited; exit 1 names the hosts that could not be
      return report.ok ? 0 : 3;
    },
  };
}

/** `ironclad audit`, over SSH. */
export const auditFamily: Family = createAuditFamily();
