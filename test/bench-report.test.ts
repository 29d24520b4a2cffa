import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a JavaScript module of the harness (checked by bench/tsconfig.json), typed there by JSDoc
import { evaluate, pairedRatios, renderSummary } from '../bench/lib/report.mjs';

interface Figures {
  msgPerSec: number | null;
  serverCpuUsPerMsg: number | null;
  p50Us: number | null;
  p99Us: number | null;
}

/** A server's entry in a cell of results.json: medians and the same figures run by run. */
function server(runs: Array<Partial<Figures> | null>) {
  const series = (metric: keyof Figures) => runs.map((r) => r?.[metric] ?? null);
  const median = (metric: keyof Figures) => {
    const values = runs.map((r) => r?.[metric]).filter((v): v is number => typeof v === 'number');
    values.sort((a, b) => a - b);
    return values.length === 0 ? null : values[values.length >> 1]!;
  };
  const metrics = ['msgPerSec', 'serverCpuUsPerMsg', 'p50Us', 'p99Us'] as const;
  return {
    runs: runs.filter((r) => r !== null).length,
    failures: [],
    median: Object.fromEntries(metrics.map((m) => [m, median(m)])),
    series: Object.fromEntries(metrics.map((m) => [m, series(m)])),
  };
}

function cell(
  servers: Record<string, ReturnType<typeof server>>,
  shape: { conns: number; inflight: number; size?: number } = { conns: 100, inflight: 8 },
) {
  return { type: 'binary', compress: false, size: 16, ...shape, servers };
}

type Verdict = { target: string; met: boolean | null; detail: string; misses: string[]; everyRun?: number };

function verdictOf(data: unknown, prefix: string): Verdict {
  const found = (evaluate(data) as Verdict[]).find((v) => v.target.startsWith(prefix));
  if (found === undefined) throw new Error(`no verdict ${prefix}`);
  return found;
}

describe('bench report: paired runs', () => {
  it('pairs repeat i of one server with repeat i of the other, skipping repeats either lacks', () => {
    const c = cell({
      a: server([{ msgPerSec: 10 }, null, { msgPerSec: 30 }, { msgPerSec: 40 }]),
      b: server([{ msgPerSec: 20 }, { msgPerSec: 20 }, { msgPerSec: 0 }, { msgPerSec: 80 }]),
    });
    // Repeat 1: a failed; repeat 2: division by zero.
    expect(pairedRatios(c, 'a', 'b', 'msgPerSec')).toEqual([0.5, 0.5]);
    expect(pairedRatios(c, 'a', 'missing', 'msgPerSec')).toEqual([]);
  });

  it('tells a miss in every run from one the runs straddle', () => {
    const steady = cell({
      'sansws-bun': server([{ msgPerSec: 60 }, { msgPerSec: 62 }, { msgPerSec: 61 }]),
      'bun-builtin': server([{ msgPerSec: 100 }, { msgPerSec: 100 }, { msgPerSec: 100 }]),
    });
    const straddling = cell({
      'sansws-bun': server([{ msgPerSec: 70 }, { msgPerSec: 90 }, { msgPerSec: 72 }]),
      'bun-builtin': server([{ msgPerSec: 100 }, { msgPerSec: 100 }, { msgPerSec: 100 }]),
    }, { conns: 1, inflight: 64 });
    const bun = verdictOf({ cells: [steady, straddling] }, 'Bun: within 25%');
    expect(bun.met).toBe(false);
    expect(bun.everyRun).toBe(1);
    expect(bun.misses).toEqual([
      'binary 16 B, 100×8: 0.61× (runs 0.60–0.62×, 3 of 3 missed)',
      'binary 16 B, 1×64: 0.72× (runs 0.70–0.90×, 2 of 3 missed)',
    ]);
    expect(bun.detail).toContain('1 of the 2 missed cells missed in every run');
  });

  it('applies each target its own direction: CPU and latency lower is better, speed higher', () => {
    const latency = cell({
      'sansws-node': server([{ serverCpuUsPerMsg: 9, p50Us: 110, p99Us: 150, msgPerSec: 90 }]),
      'ws-node': server([{ serverCpuUsPerMsg: 10, p50Us: 100, p99Us: 200, msgPerSec: 100 }]),
    }, { conns: 1, inflight: 1 });
    const data = { cells: [latency] };
    expect(verdictOf(data, 'Node: server CPU').misses).toEqual([
      'binary 16 B, 1×1: 0.90× (runs 0.90–0.90×, 1 of 1 missed)',
    ]);
    expect(verdictOf(data, 'Node: throughput').misses).toEqual([
      'binary 16 B, 1×1: 0.90× (runs 0.90–0.90×, 1 of 1 missed)',
    ]);
    expect(verdictOf(data, 'Node: p50').misses).toEqual([
      'binary 16 B, 1×1: 1.10× (runs 1.10–1.10×, 1 of 1 missed)',
    ]);
    expect(verdictOf(data, 'Node: p99').met).toBe(true);
  });

  it('names the cells without a ratio because the rival echoed nothing (a median of 0 msg/s)', () => {
    const stalled = cell({
      'sansws-deno': server([{ msgPerSec: 900 }, { msgPerSec: 850 }, { msgPerSec: 880 }]),
      'deno-builtin': server([{ msgPerSec: 500 }, { msgPerSec: 0 }, { msgPerSec: 0 }]),
    });
    const fine = cell({
      'sansws-deno': server([{ msgPerSec: 90 }]),
      'deno-builtin': server([{ msgPerSec: 100 }]),
    }, { conns: 1, inflight: 64 });
    const verdict = verdictOf({ cells: [stalled, fine] }, 'Deno: within 25%');
    expect(verdict.met).toBe(true);
    expect(verdict.detail).toBe(
      "ours ÷ built-in (speed) from 0.90× to 0.90× over 1 cells; no ratio where the divisor's median was 0: " +
        'binary 16 B, 100×8',
    );
  });

  it('reads results without run-by-run figures (older results.json) as before', () => {
    const old = cell({
      'sansws-bun': { runs: 5, failures: [], median: { msgPerSec: 60 } },
      'bun-builtin': { runs: 5, failures: [], median: { msgPerSec: 100 } },
    } as never);
    const bun = verdictOf({ cells: [old] }, 'Bun: within 25%');
    expect(bun.misses).toEqual(['binary 16 B, 100×8: 0.60×']);
    expect(bun.everyRun).toBeUndefined();
    expect(bun.detail).not.toContain('every run');
  });

  it('checks the targets for the message-handler echo too, from its own figures, when the run has it', () => {
    const c = cell({
      'sansws-node': server([{ serverCpuUsPerMsg: 9, msgPerSec: 90 }]),
      'sansws-node-handler': server([{ serverCpuUsPerMsg: 7, msgPerSec: 110 }]),
      'ws-node': server([{ serverCpuUsPerMsg: 10, msgPerSec: 100 }]),
    });
    const memory = {
      servers: {
        'sansws-node': { perConnectionBytes: 6 * 1024 },
        'sansws-node-handler': { perConnectionBytes: 5.5 * 1024 },
        'raw-node': { perConnectionBytes: 4.75 * 1024 },
      },
    };
    const verdicts = evaluate({ cells: [c], memory }) as Verdict[];
    const loop = verdicts.filter((v) => !v.target.endsWith('[message handler]'));
    const handler = verdicts.filter((v) => v.target.endsWith('[message handler]'));
    expect(handler.map((v) => v.target.replace(' [message handler]', ''))).toEqual(loop.map((v) => v.target));
    expect(verdictOf({ cells: [c] }, 'Node: server CPU').met).toBe(false);
    expect(handler.find((v) => v.target.startsWith('Node: server CPU'))!.met).toBe(true);
    expect(handler.find((v) => v.target.startsWith('Node: throughput'))!.met).toBe(true);
    expect(loop.find((v) => v.target.startsWith('Node: idle memory'))!.met).toBe(false);
    expect(handler.find((v) => v.target.startsWith('Node: idle memory'))!.detail).toBe(
      'sansws 5.50 KiB vs raw 4.75 KiB: 0.75 KiB above',
    );
    // A run without the handler's servers has only the read loop's verdicts.
    const without = cell({
      'sansws-node': server([{ msgPerSec: 90 }]),
      'ws-node': server([{ msgPerSec: 100 }]),
    });
    expect((evaluate({ cells: [without] }) as Verdict[]).some((v) => v.target.includes('handler'))).toBe(
      false,
    );
  });

  it('judges idle memory on the median of its passes and says how each pass stood against raw', () => {
    const c = cell({ 'sansws-node': server([{ msgPerSec: 90 }]), 'ws-node': server([{ msgPerSec: 100 }]) });
    const memory = {
      servers: {
        // Passes in order; the verdict reads the medians (5.75 and 4.75 KiB): 1.00 KiB above, met.
        'sansws-node': { perConnectionBytes: 5.75 * 1024, passes: [6.5 * 1024, 5.75 * 1024, 5.5 * 1024] },
        'raw-node': { perConnectionBytes: 4.75 * 1024, passes: [4.75 * 1024, 5 * 1024, 4.5 * 1024] },
      },
    };
    const idle = (evaluate({ cells: [c], memory }) as Verdict[]).find((v) =>
      v.target.startsWith('Node: idle memory')
    )!;
    expect(idle.met).toBe(true);
    expect(idle.detail).toBe(
      'sansws 5.75 KiB vs raw 4.75 KiB: 1.00 KiB above (median of 3 passes; above raw pass by pass: ' +
        '1.75, 0.75, 1.00 KiB, 1 of 3 missed)',
    );
  });
});

describe('bench summary (docs/performance.md)', () => {
  it('gives Bun and Deno speed as the targets judge it: msg/s, and at 1×1 the rival p50 ÷ ours', () => {
    const figures = {
      'sansws-bun': server([{ msgPerSec: 80, p50Us: 50, serverCpuUsPerMsg: 3 }]),
      'bun-builtin': server([{ msgPerSec: 100, p50Us: 45, serverCpuUsPerMsg: 2 }]),
    };
    const text = renderSummary({
      cells: [
        cell(figures, { conns: 1, inflight: 64 }),
        cell(figures, { conns: 1, inflight: 1, size: 1024 }),
      ],
    }) as string;
    expect(text).toContain('| binary 16 B, 1×64 | 0.80× |');
    // 45 µs ÷ 50 µs: the built-in's round trip over ours, not the 0.80× of msg/s.
    expect(text).toContain('| binary 1 KiB, 1×1 | 0.90× |');
    expect(text).toContain(
      '16 B and 1 KiB, 1×1 (1): msg/s 0.80–0.80×, speed 0.90–0.90×, CPU/msg 1.50–1.50×',
    );
    // No Deno servers in this run: '–' in the Deno columns (not 'no deflate'), and no Deno ranges.
    expect(text).toContain('| binary 16 B, 1×64 | 0.80× | – | – | – | – | – |');
    expect(text).not.toContain('Deno, the loop');
  });

  it("docs/performance.md's tables are the committed results' own", () => {
    const root = join(dirname(fileURLToPath(import.meta.url)), '..');
    const results = JSON.parse(readFileSync(join(root, 'bench/results/results.json'), 'utf8'));
    const doc = readFileSync(join(root, 'docs/performance.md'), 'utf8');
    // deno fmt pads and aligns table cells: compare rows without their spaces.
    const rowsOf = (text: string) =>
      text.split('\n').filter((line) => line.startsWith('|')).map((line) =>
        line.replace(/\s+/g, '').replace(/:?-{3,}:?/g, '---')
      );
    const docRows = rowsOf(doc);
    const expected = rowsOf(renderSummary(results) as string);
    expect(expected.length).toBeGreaterThan(60);
    const missing = expected.filter((row) => !docRows.includes(row));
    expect(missing).toEqual([]);
  });
});
