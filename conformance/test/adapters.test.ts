/**
 * CI hook: the quick suite against our adapters, @sansws/node, @sansws/bun and @sansws/deno, in both roles
 * (conformance/echo; `npm run conformance` is the same run with reports and all endpoints in full).
 *
 * - Server role: each runtime's echo server (permessage-deflate on), `/` (whole messages), every quick case;
 *   Node's also on `/handler` (a message handler instead of reads), every quick case. The `/stream`,
 *   `/prepared` and the other runtimes' `/handler` endpoints run in `npm run conformance` (they would double
 *   this test's time; the contract suite covers streaming and prepared messages on every runtime).
 * - Client role: each runtime's `dial` driving the suite's fuzzing server, every quick case.
 *
 * Node runs in this process; Bun and Deno are child processes (their printed URL is the readiness signal),
 * always stopped in afterAll. The runtimes run one after the other (concurrently, on 2 cores, the suite's
 * timing-bound cases fail by load alone; `npm test` runs the conformance tests on their own, after the
 * other suites, for the same reason). Fails on any FAILED or NON-STRICT case.
 */

import { dial, listen, PreparedMessage, Upgrader } from '@sansws/node';
import { afterAll, describe, expect, it } from 'vitest';
import { type Child, runClient, type Runtime, startEcho } from '../echo/children.ts';
import { driveClient, type EchoAdapter, serveEcho } from '../echo/echo.ts';
import type { CaseResult } from '../src/case.ts';
import { selectCases } from '../src/cases/index.ts';
import { type Report, textSummary } from '../src/report.ts';
import { startFuzzingServer } from '../src/runner-client.ts';
import { runServerSuite } from '../src/runner-server.ts';

const node: EchoAdapter = {
  runtime: 'node',
  listen: listen as unknown as EchoAdapter['listen'],
  createUpgrader: (options) => new Upgrader(options),
  dial,
  prepare: (type, data) => new PreparedMessage(type, data),
};

/** Any FAILED or NON-STRICT case: the target is zero of both. */
function unexpected(report: Report): CaseResult[] {
  return report.results.filter((r) => r.result === 'FAILED' || r.result === 'NON-STRICT');
}

function explain(report: Report): string {
  return textSummary(report) + '\n' + JSON.stringify(unexpected(report), null, 1).slice(0, 20_000);
}

const children = new Set<Child>();
const stops: (() => Promise<void>)[] = [];
afterAll(async () => {
  await Promise.all([...children].map((child) => child.stop()));
  await Promise.all(stops.map((stop) => stop()));
});

async function startServer(runtime: Runtime): Promise<string> {
  if (runtime === 'node') {
    const server = await serveEcho(node, { compression: true, log: () => {} });
    stops.push(() =>
      (server as unknown as { shutdown(o: object): Promise<void> }).shutdown({ timeout: 1000 })
    );
    return server.url.replace(/\/$/, '');
  }
  const child = await startEcho(runtime, { compression: true });
  children.add(child);
  return child.url;
}

async function testClient(runtime: Runtime): Promise<Report> {
  const fuzzer = await startFuzzingServer({ port: 0, cases: selectCases('quick'), mode: 'quick' });
  try {
    const agent = `sansws-${runtime}`;
    const reported = fuzzer.waitForReport(agent);
    if (runtime === 'node') await driveClient(node, fuzzer.url, agent);
    else {
      const { code, output } = await runClient(runtime, fuzzer.url, agent, 150_000);
      expect(code, output).toBe(0);
    }
    return await reported;
  } finally {
    await fuzzer.close();
  }
}

describe('conformance, quick mode, against the adapters', () => {
  for (const runtime of ['node', 'bun', 'deno'] as const) {
    it(`${runtime}: server`, { timeout: 90_000 }, async () => {
      const url = await startServer(runtime);
      const whole = await runServerSuite({ url: `${url}/`, cases: selectCases('quick'), mode: 'quick' });
      expect(whole.results.length).toBeGreaterThan(400);
      expect(unexpected(whole), explain(whole)).toEqual([]);
    });
    if (runtime === 'node') {
      it('node: server, /handler', { timeout: 90_000 }, async () => {
        const url = await startServer(runtime);
        const report = await runServerSuite({
          url: `${url}/handler`,
          cases: selectCases('quick'),
          mode: 'quick',
        });
        expect(report.results.length).toBeGreaterThan(400);
        expect(unexpected(report), explain(report)).toEqual([]);
      });
    }
    it(`${runtime}: client`, { timeout: 90_000 }, async () => {
      const client = await testClient(runtime);
      expect(client.results.length).toBeGreaterThan(400);
      expect(unexpected(client), explain(client)).toEqual([]);
    });
  }
});
