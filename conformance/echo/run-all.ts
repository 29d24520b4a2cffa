/**
 * `npm run conformance [-- --full] [--runtimes node,bun] [--cases …] [--exclude …] [--out DIR] [--strict]`:
 * the suite against our adapter on every runtime, in both roles: as servers, the echo server of each runtime
 * (permessage-deflate on) on its four endpoints (`/`, `/stream`, `/prepared`, `/handler`); as clients, each
 * runtime's `dial` driving the fuzzing server. Writes `server-<agent>` and `client-<agent>` JSON and HTML
 * reports and `summary.md` to conformance/reports/ (or --out), prints the summary table, and exits 1 if a
 * case FAILED (with --strict, also if one was NON-STRICT).
 *
 * Quick mode by default (CI's); `--full` runs sections 1–10 in full mode (all 54 cases of 9.x) and 12–13 in
 * quick mode (5 messages per case instead of 1000: the full 12–13 takes tens of minutes per run).
 */

import process from 'node:process';
import { fileURLToPath } from 'node:url';
import {
  type CaseDef,
  type CaseResult,
  makeReport,
  type Mode,
  type Report,
  runServerSuite,
  selectCases,
  startFuzzingServer,
  summarize,
  writeReports,
} from '@sansws/conformance';
import { rootDir, runClient, type Runtime, RUNTIMES, startEcho } from './children.ts';
import { writeFileSync } from 'node:fs';

export const ENDPOINTS: readonly string[] = ['/', '/stream', '/prepared', '/handler'];

/** One pass of the suite: cases and the mode they run in. */
export interface Pass {
  readonly cases: readonly CaseDef[];
  readonly mode: Mode;
}

/** The passes of a run: quick, or full 1–10 plus quick 12–13. */
export function passes(full: boolean, include: readonly string[], exclude: readonly string[]): Pass[] {
  if (!full) return [{ cases: selectCases('quick', include, exclude), mode: 'quick' }];
  return [
    { cases: selectCases('full', include, [...exclude, '12.*', '13.*']), mode: 'full' },
    { cases: selectCases('quick', include, exclude).filter((c) => /^1[23]\./.test(c.id)), mode: 'quick' },
  ].filter((p) => p.cases.length > 0) as Pass[];
}

function merge(
  tested: 'server' | 'client',
  agent: string,
  target: string,
  full: boolean,
  started: Date,
  results: CaseResult[],
): Report {
  return makeReport(tested, agent, target, !full, started, results);
}

/** The agent name of a run: `sansws-node`, `sansws-bun-stream`, … */
export function agentName(runtime: Runtime, endpoint?: string): string {
  return endpoint === undefined || endpoint === '/'
    ? `sansws-${runtime}`
    : `sansws-${runtime}-${endpoint.slice(1)}`;
}

/** Tests the echo server of `runtime` on each endpoint; the server is always stopped. */
export async function testServers(
  runtime: Runtime,
  runs: readonly Pass[],
  endpoints: readonly string[] = ENDPOINTS,
  full = false,
): Promise<{ reports: Report[]; log: string }> {
  const server = await startEcho(runtime, { compression: true });
  try {
    const reports: Report[] = [];
    for (const endpoint of endpoints) {
      const started = new Date();
      const results: CaseResult[] = [];
      const url = `${server.url}${endpoint}`;
      for (const pass of runs) {
        const report = await runServerSuite({
          url,
          cases: pass.cases,
          mode: pass.mode,
          agent: agentName(runtime, endpoint),
        });
        results.push(...report.results);
      }
      reports.push(merge('server', agentName(runtime, endpoint), url, full, started, results));
    }
    return { reports, log: server.output() };
  } finally {
    await server.stop();
  }
}

/** Tests the client of `runtime` through the fuzzing server (one client run per pass). */
export async function testClient(runtime: Runtime, runs: readonly Pass[], full = false): Promise<Report> {
  const agent = agentName(runtime);
  const started = new Date();
  const results: CaseResult[] = [];
  let target = '';
  for (const pass of runs) {
    const fuzzer = await startFuzzingServer({ port: 0, cases: pass.cases, mode: pass.mode });
    try {
      target = fuzzer.url;
      const reported = fuzzer.waitForReport(agent);
      const { code, output } = await runClient(runtime, fuzzer.url, agent);
      if (code !== 0) throw new Error(`${runtime} client exited with ${code}:\n${output}`);
      results.push(...(await reported).results);
    } finally {
      await fuzzer.close();
    }
  }
  return merge('client', agent, target, full, started, results);
}

const COLUMNS = ['OK', 'NON-STRICT', 'INFORMATIONAL', 'UNIMPLEMENTED', 'FAILED'] as const;

/** A Markdown table: one row per report. */
export function summaryTable(reports: readonly Report[]): string {
  const rows = reports.map((r) => {
    const s = summarize(r.results);
    const name = r.agent.replace(/^sansws-/, '').split('-');
    const endpoint = r.tested === 'server' ? `/${name[1] ?? ''}` : '—';
    return [
      name[0]!,
      r.tested,
      endpoint,
      String(r.results.length),
      ...COLUMNS.map((c) => String(s[c])),
      `${(r.durationMs / 1000).toFixed(1)} s`,
    ];
  });
  const head = ['runtime', 'role', 'endpoint', 'cases', 'OK', 'NS', 'INFO', 'UNIMPL', 'FAILED', 'time'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function flag(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function cli(args: readonly string[]): Promise<number> {
  const full = args.includes('--full');
  const list = (name: string): string[] => (flag(args, name) ?? '').split(',').filter((s) => s !== '');
  const runtimes = list('--runtimes').filter((r): r is Runtime =>
    (RUNTIMES as readonly string[]).includes(r)
  );
  const out = flag(args, '--out') ?? `${rootDir()}conformance/reports`;
  const runs = passes(full, list('--cases'), list('--exclude'));
  const reports: Report[] = [];
  for (const runtime of runtimes.length > 0 ? runtimes : RUNTIMES) {
    console.log(`${runtime}: servers (${ENDPOINTS.join(' ')})…`);
    const servers = await testServers(runtime, runs, ENDPOINTS, full);
    console.log(`${runtime}: client…`);
    const ofRuntime = [...servers.reports, await testClient(runtime, runs, full)];
    reports.push(...ofRuntime);
    for (const report of ofRuntime) {
      writeReports(out, report);
      for (const r of report.results) {
        if (r.result !== 'OK' && r.result !== 'INFORMATIONAL') {
          console.log(`  ${report.agent} ${report.tested} ${r.id}: ${r.result}`);
        }
      }
    }
  }
  const table = summaryTable(reports);
  writeFileSync(
    `${out}/summary.md`,
    `${full ? 'full (1–10) + quick (12–13)' : 'quick'} mode, ${new Date().toISOString()}\n\n${table}\n`,
  );
  console.log(`\n${table}\n\nreports: ${out}`);
  const bad = reports.some((r) =>
    r.results.some((c) => c.result === 'FAILED' || (args.includes('--strict') && c.result === 'NON-STRICT'))
  );
  return bad ? 1 : 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exit(await cli(process.argv.slice(2)));
}
