#!/usr/bin/env node
/**
 * The command line:
 *
 *   sansws-conformance server ws://127.0.0.1:9001/path [--quick] [--cases 1.*,6.4.*] [--exclude 12.*]
 *                             [--agent NAME] [--out DIR] [--insecure] [--strict]
 *   sansws-conformance client [--port 9001] [--quick] [--cases …] [--exclude …] [--out DIR] [--once]
 *   sansws-conformance list [--quick] [--cases …] [--exclude …]
 *
 * `server` tests a WebSocket echo server and exits 1 when a case FAILED (with --strict, also when one was
 * NON-STRICT). `client` serves the echo-driver protocol for a client to test, writing reports on each
 * `/updateReports` (with --once it then exits, with the same status rule).
 */

import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import type { Mode } from './case.ts';
import { selectCases } from './cases/index.ts';
import { type Report, textSummary, writeReports } from './report.ts';
import { startFuzzingServer } from './runner-client.ts';
import { runServerSuite } from './runner-server.ts';

const USAGE = `usage:
  sansws-conformance server <ws://host:port/path> [--quick] [--cases P,..] [--exclude P,..] [--agent NAME]
                            [--out DIR] [--insecure] [--strict]
  sansws-conformance client [--port N] [--quick] [--cases P,..] [--exclude P,..] [--out DIR] [--once] [--strict]
  sansws-conformance list [--quick] [--cases P,..] [--exclude P,..]`;

interface Args {
  command: string;
  positional: string[];
  flags: Map<string, string | true>;
}

function parse(argv: readonly string[]): Args {
  const [command = '', ...rest] = argv;
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  const valued = new Set(['cases', 'exclude', 'agent', 'out', 'port']);
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    if (eq >= 0) flags.set(name, a.slice(eq + 1));
    else if (valued.has(name)) flags.set(name, rest[++i] ?? '');
    else flags.set(name, true);
  }
  return { command, positional, flags };
}

function list(value: string | true | undefined): string[] {
  return typeof value === 'string' ? value.split(',') : [];
}

const DEFAULT_OUT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'reports');

function exitCode(report: Report, strict: boolean): number {
  return report.summary.FAILED > 0 || (strict && report.summary['NON-STRICT'] > 0) ? 1 : 0;
}

async function main(): Promise<number> {
  const args = parse(process.argv.slice(2));
  const mode: Mode = args.flags.has('quick') ? 'quick' : 'full';
  const cases = selectCases(mode, list(args.flags.get('cases')), list(args.flags.get('exclude')));
  const out = typeof args.flags.get('out') === 'string' ? String(args.flags.get('out')) : DEFAULT_OUT;
  const strict = args.flags.has('strict');
  switch (args.command) {
    case 'list':
      for (const c of cases) console.log(`${c.id.padEnd(8)} ${c.description}`);
      return 0;
    case 'server': {
      const url = args.positional[0];
      if (!url) break;
      const agent = args.flags.get('agent');
      const report = await runServerSuite({
        url,
        cases,
        mode,
        ...(typeof agent === 'string' ? { agent } : {}),
        insecure: args.flags.has('insecure'),
        onResult: (r) => {
          if (r.result !== 'OK') console.log(`${r.id.padEnd(8)} ${r.result.padEnd(13)} ${r.reason}`);
        },
      });
      const files = writeReports(out, report);
      console.log(textSummary(report));
      console.log(`reports: ${files.json}\n         ${files.html}`);
      return exitCode(report, strict);
    }
    case 'client': {
      const port = Number(args.flags.get('port') ?? 9001);
      const once = args.flags.has('once');
      let done: (code: number) => void = () => {};
      const finished = new Promise<number>((resolve) => (done = resolve));
      const server = await startFuzzingServer({
        port,
        cases,
        mode,
        onReport: (report) => {
          const files = writeReports(out, report);
          console.log(textSummary(report));
          console.log(`reports: ${files.json}\n         ${files.html}`);
          if (once) done(exitCode(report, strict));
        },
      });
      console.log(
        `fuzzing server on ${server.url} (${cases.length} cases); drive it with /getCaseCount, ` +
          '/runCase?case=N&agent=A and /updateReports?agent=A',
      );
      const code = await finished;
      await server.close();
      return code;
    }
  }
  console.error(USAGE);
  return 2;
}

main().then((code) => process.exit(code), (error) => {
  console.error(error);
  process.exit(2);
});
