/**
 * Reports: a JSON document (every result, the traffic of every case that was not OK) and an HTML page with
 * one row per case, coloured by result; clicking a row shows what was expected, what happened and the
 * traffic.
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CaseResult } from './case.ts';
import { CATEGORIES } from './cases/index.ts';
import type { Behavior, WireEntry } from './session.ts';

/** One run of the suite against one implementation. */
export interface Report {
  readonly suite: 'sansws-conformance';
  /** `server`: the suite tested a server (fuzzing client); `client`: it tested a client (fuzzing server). */
  readonly tested: 'server' | 'client';
  readonly agent: string;
  /** The URL tested (server) or served (client). */
  readonly target: string;
  readonly quick: boolean;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly summary: Record<Behavior, number>;
  readonly results: readonly CaseResult[];
}

const BEHAVIORS: readonly Behavior[] = ['OK', 'NON-STRICT', 'INFORMATIONAL', 'UNIMPLEMENTED', 'FAILED'];

/** Counts of each class. */
export function summarize(results: readonly CaseResult[]): Record<Behavior, number> {
  const out = Object.fromEntries(BEHAVIORS.map((b) => [b, 0])) as Record<Behavior, number>;
  for (const r of results) out[r.result]++;
  return out;
}

/** Builds a report. */
export function makeReport(
  tested: 'server' | 'client',
  agent: string,
  target: string,
  quick: boolean,
  started: Date,
  results: readonly CaseResult[],
): Report {
  return {
    suite: 'sansws-conformance',
    tested,
    agent,
    target,
    quick,
    startedAt: started.toISOString(),
    durationMs: Date.now() - started.getTime(),
    summary: summarize(results),
    results,
  };
}

/** A file-name-safe form of an agent name. */
export function slug(agent: string): string {
  return agent.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '') || 'agent';
}

/** Writes `<tested>-<agent>.json` and `.html` into `dir`; returns their paths. */
export function writeReports(dir: string, report: Report): { json: string; html: string } {
  mkdirSync(dir, { recursive: true });
  const base = path.join(dir, `${report.tested}-${slug(report.agent)}`);
  writeFileSync(`${base}.json`, JSON.stringify(report, null, 1) + '\n');
  writeFileSync(`${base}.html`, renderHtml(report));
  return { json: `${base}.json`, html: `${base}.html` };
}

/** A one-screen text summary: counts, then every case that was not OK. */
export function textSummary(report: Report): string {
  const s = report.summary;
  const lines = [
    `${report.agent} (${report.tested} tested, ${
      report.quick ? 'quick' : 'full'
    }): ${report.results.length} ` +
    `cases, OK ${s.OK}, NON-STRICT ${s['NON-STRICT']}, INFORMATIONAL ${s.INFORMATIONAL}, ` +
    `UNIMPLEMENTED ${s.UNIMPLEMENTED}, FAILED ${s.FAILED} (${(report.durationMs / 1000).toFixed(1)} s)`,
  ];
  for (const r of report.results) {
    if (r.result !== 'OK') lines.push(`  ${r.id.padEnd(8)} ${r.result.padEnd(13)} ${r.reason}`);
  }
  return lines.join('\n');
}

const COLOURS: Record<Behavior, string> = {
  OK: '#2e7d32',
  'NON-STRICT': '#9e9d24',
  INFORMATIONAL: '#1565c0',
  UNIMPLEMENTED: '#6d4c41',
  FAILED: '#c62828',
};

function esc(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function wireLine(w: WireEntry): string {
  const t = `<span class="t">${w.t.toFixed(1)} ms</span>`;
  switch (w.kind) {
    case 'tx':
    case 'rx':
      return `${t} <b>${w.kind === 'tx' ? 'TX octets' : 'RX octets'}</b> (${w.length}): <code>${
        esc(w.hex)
      }</code>`;
    case 'tx-frame':
    case 'rx-frame':
      return `${t} <b>${
        w.kind === 'tx-frame' ? 'TX frame' : 'RX frame'
      }</b> opcode=${w.opcode} fin=${w.fin} ` +
        `rsv=${w.rsv} masked=${w.masked} len=${w.length}${w.chop ? ` chop=${w.chop}` : ''}: ` +
        `<code>${esc(w.payload)}</code>`;
    default:
      return `${t} <i>${esc(w.text)}</i>`;
  }
}

function details(r: CaseResult): string {
  const parts = [
    `<p><b>Description:</b> ${esc(r.description)}</p>`,
    `<p><b>Expectation:</b> ${esc(r.expectation)}</p>`,
    `<p><b>Result:</b> ${esc(r.result)}: ${esc(r.reason)}</p>`,
    `<p><b>Behavior:</b> ${esc(r.behavior)}; <b>close:</b> ${esc(r.behaviorClose)} (${
      esc(r.resultClose)
    })</p>`,
    `<p><b>Close:</b> closedByMe=${r.closedByMe} droppedByMe=${r.droppedByMe} wasClean=${r.wasClean} ` +
    `remote code=${r.remoteCloseCode ?? '—'} reason=${esc(r.remoteCloseReason ?? '—')}; expected ` +
    `${esc(JSON.stringify(r.expectedClose))}</p>`,
  ];
  if (r.violation) parts.push(`<p><b>Peer violation:</b> ${esc(r.violation)}</p>`);
  if (r.extensions) parts.push(`<p><b>Extensions:</b> ${esc(r.extensions)}</p>`);
  parts.push(`<p><b>Observed:</b> <code>${esc(JSON.stringify(r.received))}</code></p>`);
  parts.push(`<p><b>Expected:</b> <code>${esc(JSON.stringify(r.expected))}</code></p>`);
  if (r.handshake) {
    parts.push(`<p><b>Handshake</b></p><pre>${esc(r.handshake.request)}\n${esc(r.handshake.response)}</pre>`);
  }
  if (r.wirelog) {
    parts.push(
      '<p><b>Traffic</b></p><div class="wire">' + r.wirelog.map(wireLine).join('<br>') +
        (r.wirelogDropped ? `<br><i>… ${r.wirelogDropped} more entries</i>` : '') + '</div>',
    );
  } else {
    parts.push('<p><i>Traffic is kept for cases that were not OK.</i></p>');
  }
  return parts.join('\n');
}

/** The HTML page of a report. */
export function renderHtml(report: Report): string {
  const rows: string[] = [];
  let section = '';
  report.results.forEach((r, i) => {
    const top = r.id.split('.')[0]!;
    if (top !== section) {
      section = top;
      rows.push(`<tr class="sec"><td colspan="5">${esc(top)} ${esc(CATEGORIES[top] ?? '')}</td></tr>`);
    }
    rows.push(
      `<tr class="case" onclick="t(${i})"><td>${esc(r.id)}</td>` +
        `<td style="background:${COLOURS[r.result]};color:#fff">${esc(r.result)}</td>` +
        `<td>${r.remoteCloseCode ?? ''}</td><td>${r.reportTime ? `${r.durationMs} ms` : ''}</td>` +
        `<td>${
          esc(r.description.length > 140 ? r.description.slice(0, 140) + '…' : r.description)
        }</td></tr>` +
        `<tr id="d${i}" class="det" hidden><td colspan="5">${details(r)}</td></tr>`,
    );
  });
  const s = report.summary;
  const counts = BEHAVIORS.map((b) =>
    `<span class="pill" style="background:${COLOURS[b]}">${esc(b)} ${s[b]}</span>`
  ).join(' ');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>sansws conformance: ${esc(report.agent)} (${esc(report.tested)})</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;width:100%}
td{border-bottom:1px solid #ddd;padding:3px 6px;vertical-align:top}
tr.case{cursor:pointer} tr.case:hover{background:#f3f3f3}
tr.sec td{background:#333;color:#fff;font-weight:bold}
tr.det td{background:#fafafa}
.pill{color:#fff;padding:2px 8px;border-radius:8px}
code,pre,.wire{font:12px ui-monospace,monospace;word-break:break-all;white-space:pre-wrap}
.t{color:#888}
</style></head><body>
<h1>sansws conformance: ${esc(report.agent)}</h1>
<p>The suite tested a <b>${esc(report.tested)}</b> (${report.quick ? 'quick' : 'full'} mode) at
<code>${esc(report.target)}</code>, started ${esc(report.startedAt)}, ${
    (report.durationMs / 1000).toFixed(1)
  } s.</p>
<p>${counts}</p>
<p>Click a row to see what was expected, what happened and the traffic.</p>
<table><thead><tr><th>Case</th><th>Result</th><th>Close</th><th>Time</th><th>Description</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>
<script>function t(i){var e=document.getElementById('d'+i);e.hidden=!e.hidden}</script>
</body></html>
`;
}
