// Prints a Markdown table comparing reports side by side: per section, the count of each result, then every
// case that was not OK in any report. Usage: node compare.mjs NAME=reports/server-x.json NAME2=... > table.md
import { readFileSync } from 'node:fs';

const reports = process.argv.slice(2).map((arg) => {
  const eq = arg.indexOf('=');
  return { name: arg.slice(0, eq), report: JSON.parse(readFileSync(arg.slice(eq + 1), 'utf8')) };
});
const short = {
  OK: 'OK',
  'NON-STRICT': 'NS',
  INFORMATIONAL: 'INFO',
  UNIMPLEMENTED: 'UNIMPL',
  FAILED: 'FAILED',
};
const sections = [...new Set(reports.flatMap((r) => r.report.results.map((c) => c.id.split('.')[0])))]
  .sort((a, b) => Number(a) - Number(b));
const cell = (results) => {
  const counts = {};
  for (const c of results) counts[c.result] = (counts[c.result] ?? 0) + 1;
  return Object.entries(short).filter(([k]) => counts[k]).map(([k, s]) => `${s} ${counts[k]}`).join(', ') ||
    '—';
};
console.log(`| section | ${reports.map((r) => r.name).join(' | ')} |`);
console.log(`| --- | ${reports.map(() => '---').join(' | ')} |`);
for (const s of sections) {
  console.log(
    `| ${s} | ${
      reports.map((r) => cell(r.report.results.filter((c) => c.id.split('.')[0] === s))).join(' | ')
    } |`,
  );
}
console.log(`| **all** | ${reports.map((r) => `**${cell(r.report.results)}**`).join(' | ')} |`);
const ids = [];
for (const r of reports) {
  for (const c of r.report.results) if (c.result !== 'OK' && !ids.includes(c.id)) ids.push(c.id);
}
const order = (id) => id.split('.').map(Number);
ids.sort((a, b) => {
  const x = order(a), y = order(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if ((x[i] ?? -1) !== (y[i] ?? -1)) return (x[i] ?? -1) - (y[i] ?? -1);
  }
  return 0;
});
console.log('');
console.log(`| case | ${reports.map((r) => r.name).join(' | ')} |`);
console.log(`| --- | ${reports.map(() => '---').join(' | ')} |`);
for (const id of ids) {
  const cells = reports.map((r) => {
    const c = r.report.results.find((x) => x.id === id);
    if (!c) return '—';
    return c.result === 'OK'
      ? 'OK'
      : c.result === 'FAILED'
      ? `**FAILED** (${c.remoteCloseCode ?? 'no close'})`
      : short[c.result];
  });
  console.log(`| ${id} | ${cells.join(' | ')} |`);
}
