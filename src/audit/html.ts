// The audit as one self-contained HTML page (inline CSS and SVG, no script, no network): findings and a chart per database.
import { humanBytes } from '../facts/render.js';
import { summaryLine } from './render.js';
import type { AuditReport, BackupSeries, Level } from './types.js';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const W = 560;
const H = 150;
const PAD = { left: 8, right: 8, top: 20, bottom: 22 };

/** One bar chart of a series' values: a bar per backup, red where it dropped, so a fall to near zero stands out. */
export function barChart(s: BackupSeries, metric: 'rows' | 'bytes'): string {
  const values = s.points.map((p) => p[metric]);
  const max = Math.max(1, ...values);
  const n = Math.max(1, values.length);
  const slot = (W - PAD.left - PAD.right) / n;
  const plotH = H - PAD.top - PAD.bottom;
  const label = (v: number) => (metric === 'bytes' ? humanBytes(v) : v.toLocaleString('en'));
  const bars = s.points.map((p, i) => {
    const h = Math.max(1, (p[metric] / max) * plotH);
    const x = PAD.left + i * slot + slot * 0.15;
    const y = PAD.top + plotH - h;
    return `<rect class="bar${p.drop ? ' drop' : ''}" x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(slot * 0.7).toFixed(1)}" height="${h.toFixed(1)}" data-id="${esc(p.id)}" data-value="${p[metric]}"><title>${esc(`${p.time}  ${label(p[metric])}${p.drop ? '  DROP' : ''}`)}</title></rect>`;
  });
  const first = s.points[0]?.time.slice(0, 16) ?? '';
  const last = s.points.at(-1)?.time.slice(0, 16) ?? '';
  return [
    `<svg class="chart" data-metric="${metric}" data-host="${esc(s.host)}" data-database="${esc(s.database)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(`${s.host}/${s.database} ${metric} per backup`)}">`,
    `<text x="${PAD.left}" y="13" class="axis">${metric === 'bytes' ? 'size' : 'rows'} (max ${esc(label(max))})</text>`,
    `<line x1="${PAD.left}" y1="${H - PAD.bottom}" x2="${W - PAD.right}" y2="${H - PAD.bottom}" class="base"/>`,
    ...bars,
    `<text x="${PAD.left}" y="${H - 6}" class="axis">${esc(first)}</text>`,
    `<text x="${W - PAD.right}" y="${H - 6}" class="axis" text-anchor="end">${esc(last)}</text>`,
    values.length ? '' : `<text x="${W / 2}" y="${H / 2}" text-anchor="middle" class="axis">no backups</text>`,
    '</svg>',
  ].join('\n');
}

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;width:100%}td{padding:4px 8px;border-bottom:1px solid #eee;vertical-align:top}
tr.ok td.level{color:#1a7f37}tr.warning td.level{color:#9a6700;font-weight:bold}tr.failure td.level{color:#cf222e;font-weight:bold}
tr.failure{background:#ffebe9}tr.warning{background:#fff8c5}ul{margin:2px 0;padding-left:18px;color:#555}
.summary{padding:8px 12px;border-radius:6px}.summary.ok{background:#dafbe1}.summary.failure{background:#ffebe9}
.chart{border:1px solid #ddd;margin:4px 8px 4px 0}.bar{fill:#0969da}.bar.drop{fill:#cf222e}.base{stroke:#999}.axis{font-size:11px;fill:#555}`;

/** The page. */
export function renderAuditHtml(r: AuditReport): string {
  const hosts = r.hosts.map((h) =>
    [
      `<h2 class="host ${h.level}" data-host="${esc(h.host)}">${esc(h.host)}: ${h.level}</h2>`,
      '<table>',
      ...h.findings.map(
        (f) =>
          `<tr class="${f.level}" data-area="${f.area}" data-subject="${esc(f.subject)}"><td class="level">${f.level}</td><td>${f.area}</td><td>${esc(f.subject)}</td><td>${esc(f.message)}${f.details.length ? `<ul>${f.details.map((d) => `<li>${esc(d)}</li>`).join('')}</ul>` : ''}</td></tr>`,
      ),
      '</table>',
    ].join('\n'),
  );
  const charts = r.backups.map((s) => `<div class="database" data-host="${esc(s.host)}" data-database="${esc(s.database)}"><h3>${esc(`${s.host} / ${s.database}`)}: ${s.points.length} backups</h3>\n${barChart(s, 'bytes')}\n${barChart(s, 'rows')}</div>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ironclad audit ${esc(r.generated_at)}</title><style>${CSS}</style></head>
<body>
<h1>ironclad audit</h1>
<p class="summary ${r.ok ? 'ok' : 'failure'}" id="summary">${esc(summaryLine(r))}</p>
<h2>Backups over time</h2>
${charts.join('\n') || '<p>No host has backups.</p>'}
${hosts.join('\n')}
</body></html>
`;
}
