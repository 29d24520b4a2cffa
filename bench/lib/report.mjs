// @ts-check
/**
 * Turns the harness's results into ratio tables, target verdicts, a Markdown report and one SVG chart per
 * cell family (drawn here: no external services, no dependencies).
 *
 * @module
 */

const KiB = 1024;
const MiB = 1024 * 1024;

/** @param {number} n */
export const fmtSize = (n) => (n >= MiB ? `${n / MiB} MiB` : n >= KiB ? `${n / KiB} KiB` : `${n} B`);

/**
 * @param {number | null | undefined} v
 * @param {number} [digits]
 */
const num = (v, digits = 0) =>
  v === null || v === undefined || !Number.isFinite(v)
    ? '–'
    : v >= 100_000
    ? Math.round(v).toLocaleString('en-US')
    : v.toFixed(digits);

/** @param {number | null | undefined} v */
const ratio = (v) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : `${v.toFixed(2)}×`);

/**
 * @param {any} cell
 * @param {string} id
 * @param {string} metric
 * @returns {number | null}
 */
const get = (cell, id, metric) => cell.servers[id]?.median?.[metric] ?? null;

/**
 * @param {number | null} a
 * @param {number | null} b
 */
const div = (a, b) => (a === null || b === null || b === 0 ? null : a / b);

/** @param {any} cell */
const cellName = (cell) =>
  `${cell.type}${cell.compress ? ' deflate' : ''} ${fmtSize(cell.size)}, ${cell.conns}×${cell.inflight}`;

/** @param {any} cell */
const isLatency = (cell) => cell.conns === 1 && cell.inflight === 1;

/**
 * Speed as the targets on Bun and Deno judge it, as the operands of one ratio `a ÷ b` of `metric`: messages
 * per second (ours ÷ rival), and at 1×1 the round trip (the rival's p50 ÷ ours), so that above 1 is faster.
 * @param {any} cell
 * @param {string} ours
 * @param {string} rival
 * @returns {[string, string, string]}
 */
const speedOperands = (cell, ours, rival) =>
  isLatency(cell) ? [rival, ours, 'p50Us'] : [ours, rival, 'msgPerSec'];

/**
 * The rival of ours on each runtime, and its raw ceiling.
 * @type {Record<string, { ours: string, rival: string, rivalLabel: string, raw: string }>}
 */
const RUNTIMES = {
  node: { ours: 'sansws-node', rival: 'ws-node', rivalLabel: 'ws+bufferutil', raw: 'raw-node' },
  bun: { ours: 'sansws-bun', rival: 'bun-builtin', rivalLabel: 'Bun.serve', raw: 'raw-bun' },
  deno: { ours: 'sansws-deno', rival: 'deno-builtin', rivalLabel: 'Deno built-in', raw: 'raw-deno' },
};

/**
 * `a ÷ b` run by run: repeat i of every server of a cell ran back to back (servers interleaved), so these
 * pairs share the machine's state of the moment; repeats where either lacks the figure are skipped.
 * @param {any} cell
 * @param {string} a
 * @param {string} b
 * @param {string} metric
 * @returns {number[]}
 */
export const pairedRatios = (cell, a, b, metric) => {
  const x = cell.servers[a]?.series?.[metric];
  const y = cell.servers[b]?.series?.[metric];
  if (!Array.isArray(x) || !Array.isArray(y)) return [];
  /** @type {number[]} */
  const out = [];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const v = div(x[i] ?? null, y[i] ?? null);
    if (v !== null) out.push(v);
  }
  return out;
};

/**
 * One cell's check of a target: the ratio of medians, the same ratio run by run, and the test it must pass.
 * `stalled`: no ratio because the server divided by had a median of 0 (it echoed nothing in most windows).
 * @typedef {{
 *   cell: string, value: number | null, pairs: number[], pass: (v: number) => boolean, stalled: boolean
 * }} Check
 */

/**
 * How one missed cell reads in the report: its ratio, and when the runs are known, their range and how many
 * of them missed too (a miss in every run held for the seconds the cell took; one the runs straddle is within their noise).
 * @param {Check} check
 */
const describeMiss = (check) => {
  const head = `${check.cell}: ${ratio(check.value)}`;
  if (check.pairs.length === 0) return head;
  const missed = check.pairs.filter((v) => !check.pass(v)).length;
  const lo = Math.min(...check.pairs).toFixed(2);
  const hi = Math.max(...check.pairs).toFixed(2);
  return `${head} (runs ${lo}–${hi}×, ${missed} of ${check.pairs.length} missed)`;
};

/**
 * The two echoes of sansws each runtime's servers run: a loop of reads (`sansws-<runtime>`) and a message
 * handler (`sansws-<runtime>-handler`, `conn.setMessageHandler`). The targets are checked for each.
 */
const STYLES = [
  { suffix: '', note: '' },
  { suffix: '-handler', note: ' [message handler]' },
];

/**
 * Checks the targets of issue 8 against the medians: for the read-loop echo, then, when the run has them,
 * for the message-handler echo (its verdicts' targets end in "[message handler]").
 * @param {any} data
 */
export function evaluate(data) {
  const ids = new Set((/** @type {any[]} */ (data.cells)).flatMap((c) => Object.keys(c.servers)));
  for (const id of Object.keys(data.memory?.servers ?? {})) ids.add(id);
  return STYLES.filter((style) =>
    style.suffix === '' || Object.keys(RUNTIMES).some((r) => ids.has(`sansws-${r}${style.suffix}`))
  ).flatMap((style) => evaluateStyle(data, style.suffix, style.note));
}

/**
 * The targets for one echo style of ours.
 * @param {any} data
 * @param {string} suffix of our servers' ids
 * @param {string} note appended to each target
 */
function evaluateStyle(data, suffix, note) {
  /**
   * @type {{ target: string, met: boolean | null, detail: string, misses: string[], everyRun?: number }[]}
   */
  const verdicts = [];
  /**
   * @param {string} target
   * @param {Check[]} checks
   * @param {string} unit
   */
  const verdict = (target, checks, unit) => {
    const known = checks.filter((c) => c.value !== null);
    const missed = known.filter((c) => !c.pass(/** @type {number} */ (c.value)));
    const values = known.map((c) => /** @type {number} */ (c.value));
    // Cells that missed in every run that was paired (at least one).
    const everyRun = missed.filter((c) => c.pairs.length > 0 && c.pairs.every((v) => !c.pass(v))).length;
    const paired = missed.filter((c) => c.pairs.length > 0).length;
    const stalled = checks.filter((c) => c.value === null && c.stalled).map((c) => c.cell);
    const range = values.length > 0
      ? `${unit} from ${Math.min(...values).toFixed(2)}× to ${
        Math.max(...values).toFixed(2)
      }× over ${values.length} cells` +
        (paired > 0
          ? `; ${everyRun} of the ${missed.length} missed cell${
            missed.length === 1 ? '' : 's'
          } missed in every run`
          : '') +
        (stalled.length > 0 ? `; no ratio where the divisor's median was 0: ${stalled.join('; ')}` : '')
      : 'no data';
    verdicts.push({
      target: target + note,
      met: known.length === 0 ? null : missed.length === 0,
      detail: range,
      misses: missed.map(describeMiss),
      ...(paired > 0 ? { everyRun } : {}),
    });
  };
  /**
   * @param {any} cell
   * @param {string} a
   * @param {string} b
   * @param {string} metric
   * @param {(v: number) => boolean} pass
   * @returns {Check}
   */
  const check = (cell, a, b, metric, pass) => ({
    cell: cellName(cell),
    value: div(get(cell, a, metric), get(cell, b, metric)),
    pairs: pairedRatios(cell, a, b, metric),
    pass,
    stalled: get(cell, b, metric) === 0,
  });
  const cells = /** @type {any[]} */ (data.cells);
  /** RUNTIMES with this style's servers as ours. @type {typeof RUNTIMES} */
  const styled = Object.fromEntries(
    Object.entries(RUNTIMES).map(([runtime, r]) => [runtime, { ...r, ours: r.ours + suffix }]),
  );
  const node = styled['node'];
  if (node) {
    verdict(
      'Node: server CPU per message ≤ 0.8× ws+bufferutil, every cell',
      cells.map((c) => check(c, node.ours, node.rival, 'serverCpuUsPerMsg', (v) => v <= 0.8)),
      'ours ÷ ws',
    );
    verdict(
      'Node: throughput ≥ ws+bufferutil, every cell',
      cells.map((c) => check(c, node.ours, node.rival, 'msgPerSec', (v) => v >= 1)),
      'ours ÷ ws',
    );
    for (const q of /** @type {const} */ (['p50Us', 'p99Us'])) {
      verdict(
        `Node: ${q.slice(0, 3)} latency no worse than ws+bufferutil (1×1 cells)`,
        cells.filter(isLatency).map((c) => check(c, node.ours, node.rival, q, (v) => v <= 1)),
        'ours ÷ ws',
      );
    }
  }
  const mem = data.memory?.servers ?? {};
  const oursIdle = mem[`sansws-node${suffix}`]?.perConnectionBytes ?? null;
  const rawIdle = mem['raw-node']?.perConnectionBytes ?? null;
  verdicts.push({
    target: 'Node: idle memory per connection ≤ raw node:net + 1 KiB' + note,
    met: oursIdle === null || rawIdle === null ? null : oursIdle - rawIdle <= 1024,
    detail: oursIdle === null || rawIdle === null
      ? 'no data'
      : `sansws ${(oursIdle / KiB).toFixed(2)} KiB vs raw ${(rawIdle / KiB).toFixed(2)} KiB: ` +
        `${((oursIdle - rawIdle) / KiB).toFixed(2)} KiB above` +
        passesAbove(mem[`sansws-node${suffix}`]?.passes, mem['raw-node']?.passes),
    misses: [],
  });
  for (const runtime of /** @type {const} */ (['bun', 'deno'])) {
    const r = styled[runtime];
    if (!r) continue;
    verdict(
      `${
        runtime === 'bun' ? 'Bun' : 'Deno'
      }: within 25% of ${r.rivalLabel} (msg/s; p50 in 1×1 cells), every cell it has`,
      cells.map((c) => check(c, ...speedOperands(c, r.ours, r.rival), (v) => v >= 0.75)),
      'ours ÷ built-in (speed)',
    );
  }
  const denoDeflate = cells.filter((c) => c.compress && get(c, `sansws-deno${suffix}`, 'msgPerSec') !== null)
    .length;
  verdicts.push({
    target: 'Deno: ahead where the built-in lacks the feature (permessage-deflate)' + note,
    met: denoDeflate > 0 ? true : null,
    detail:
      `Deno's built-in server has no permessage-deflate; sansws on Deno ran ${denoDeflate} compressed cells`,
    misses: [],
  });
  for (const [runtime, r] of Object.entries(styled)) {
    verdict(
      `${runtime}: 64 KiB+ binary echo ≥ 60% of the raw TCP ceiling (msg/s)`,
      cells.filter((c) => c.type === 'binary' && !c.compress && c.size >= 64 * KiB).map((c) =>
        check(c, r.ours, r.raw, 'msgPerSec', (v) => v >= 0.6)
      ),
      'ours ÷ raw',
    );
  }
  return verdicts;
}

/**
 * A Markdown table.
 * @param {string[]} head
 * @param {string[][]} rows
 */
function table(head, rows) {
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

/** @param {any} data */
function ratioTables(data) {
  const cells = /** @type {any[]} */ (data.cells);
  const nodeRows = cells.map((c) => [
    cellName(c),
    num(get(c, 'sansws-node', 'msgPerSec')),
    ratio(div(get(c, 'sansws-node', 'msgPerSec'), get(c, 'ws-node', 'msgPerSec'))),
    ratio(div(get(c, 'sansws-node', 'msgPerSec'), get(c, 'ws-node-js', 'msgPerSec'))),
    ratio(div(get(c, 'sansws-node', 'serverCpuUsPerMsg'), get(c, 'ws-node', 'serverCpuUsPerMsg'))),
    isLatency(c) ? ratio(div(get(c, 'sansws-node', 'p50Us'), get(c, 'ws-node', 'p50Us'))) : '',
    isLatency(c) ? ratio(div(get(c, 'sansws-node', 'p99Us'), get(c, 'ws-node', 'p99Us'))) : '',
    ratio(div(get(c, 'sansws-node', 'msgPerSec'), get(c, 'raw-node', 'msgPerSec'))),
    `${num(get(c, 'sansws-node', 'serverFaultsPerMsg'), 1)} / ${
      num(get(c, 'ws-node', 'serverFaultsPerMsg'), 1)
    }`,
    ratio(div(get(c, 'sansws-node-handler', 'msgPerSec'), get(c, 'ws-node', 'msgPerSec'))),
    ratio(div(get(c, 'sansws-node-handler', 'serverCpuUsPerMsg'), get(c, 'ws-node', 'serverCpuUsPerMsg'))),
    isLatency(c) ? ratio(div(get(c, 'sansws-node-handler', 'p50Us'), get(c, 'ws-node', 'p50Us'))) : '',
  ]);
  const node = table(
    [
      'cell (Node)',
      'sansws msg/s',
      'msg/s ÷ ws',
      '÷ ws no addons',
      'CPU/msg ÷ ws',
      'p50 ÷ ws',
      'p99 ÷ ws',
      'msg/s ÷ raw',
      'page faults/msg: sansws / ws',
      'handler: msg/s ÷ ws',
      'CPU/msg ÷ ws',
      'p50 ÷ ws',
    ],
    nodeRows,
  );
  const other = table(
    [
      'cell',
      'Bun msg/s ÷ Bun.serve',
      'CPU/msg ÷',
      'p50 ÷',
      'msg/s ÷ raw',
      'handler: msg/s ÷',
      'Deno msg/s ÷ built-in',
      'CPU/msg ÷',
      'p50 ÷',
      'msg/s ÷ raw',
      'handler: msg/s ÷',
    ],
    cells.map((c) => [
      cellName(c),
      ratio(div(get(c, 'sansws-bun', 'msgPerSec'), get(c, 'bun-builtin', 'msgPerSec'))),
      ratio(div(get(c, 'sansws-bun', 'serverCpuUsPerMsg'), get(c, 'bun-builtin', 'serverCpuUsPerMsg'))),
      isLatency(c) ? ratio(div(get(c, 'sansws-bun', 'p50Us'), get(c, 'bun-builtin', 'p50Us'))) : '',
      ratio(div(get(c, 'sansws-bun', 'msgPerSec'), get(c, 'raw-bun', 'msgPerSec'))),
      ratio(div(get(c, 'sansws-bun-handler', 'msgPerSec'), get(c, 'bun-builtin', 'msgPerSec'))),
      c.compress
        ? 'no deflate'
        : ratio(div(get(c, 'sansws-deno', 'msgPerSec'), get(c, 'deno-builtin', 'msgPerSec'))),
      c.compress
        ? ''
        : ratio(div(get(c, 'sansws-deno', 'serverCpuUsPerMsg'), get(c, 'deno-builtin', 'serverCpuUsPerMsg'))),
      isLatency(c) && !c.compress
        ? ratio(div(get(c, 'sansws-deno', 'p50Us'), get(c, 'deno-builtin', 'p50Us')))
        : '',
      ratio(div(get(c, 'sansws-deno', 'msgPerSec'), get(c, 'raw-deno', 'msgPerSec'))),
      c.compress
        ? ''
        : ratio(div(get(c, 'sansws-deno-handler', 'msgPerSec'), get(c, 'deno-builtin', 'msgPerSec'))),
    ]),
  );
  return { node, other };
}

/**
 * With several passes of the idle measurement: ours above raw pass by pass (both servers ran in the same
 * pass, minutes apart at most), and in how many passes that missed the 1 KiB.
 * @param {(number | null)[] | undefined} ours @param {(number | null)[] | undefined} raw
 */
function passesAbove(ours, raw) {
  if (!ours || !raw || ours.length < 2) return '';
  const above = ours.map((o, i) => (o == null || raw[i] == null ? null : o - /** @type {number} */ (raw[i])));
  const known = above.filter((a) => a !== null);
  const missed = known.filter((a) => a > 1024).length;
  return ` (median of ${ours.length} passes; above raw pass by pass: ${kibList(above)} KiB, ` +
    `${missed} of ${known.length} missed)`;
}

/** Byte counts in KiB, two decimals, comma-separated ('–' for a pass without a figure). */
const kibList = (/** @type {(number | null)[]} */ values) =>
  values.map((v) => (v == null ? '–' : (v / KiB).toFixed(2))).join(', ');

/** @param {(number | null)[] | undefined} passes */
const passList = (passes) => (passes && passes.length > 1 ? ` (${kibList(passes)})` : '');

/** @param {any} data */
function memoryTable(data) {
  const mem = data.memory?.servers ?? {};
  return table(
    [
      'server',
      'connections',
      'per idle connection (median; passes)',
      'RSS before → with them (after GC)',
      'RSS with them, before GC',
    ],
    Object.entries(data.servers).map(([id, s]) => {
      const m = mem[id] ?? {};
      return [
        /** @type {any} */ (s).label,
        num(m.connections),
        m.perConnectionBytes == null
          ? `– ${m.error ?? ''}`
          : `${(m.perConnectionBytes / KiB).toFixed(2)} KiB${passList(m.passes)}`,
        m.rss == null ? '–' : `${(m.baselineRss / MiB).toFixed(1)} → ${(m.rss / MiB).toFixed(1)} MiB`,
        m.rssBeforeGc == null ? '–' : `${(m.rssBeforeGc / MiB).toFixed(1)} MiB`,
      ];
    }),
  );
}

/** @param {any} data */
function clientTable(data) {
  if (!data.clients) return '';
  const ids = Object.keys(data.clients.clients);
  const rows = ids.map((id) => [
    data.clients.clients[id],
    ...data.clients.cells.map((/** @type {any} */ cell) => {
      const m = cell.clients[id]?.median ?? {};
      if (m.msgPerSec == null) return 'failed';
      const lat = cell.inflight === 1 ? `p50 ${num(m.p50Us)} / p99 ${num(m.p99Us)} µs, ` : '';
      return `${lat}${num(m.msgPerSec)} msg/s, ${num(m.clientCpuUsPerMsg, 1)} µs CPU/msg`;
    }),
  ]);
  return table(
    [
      'client',
      ...data.clients.cells.map((/** @type {any} */ c) => `${c.type} ${fmtSize(c.size)} ×${c.inflight}`),
    ],
    rows,
  );
}

/**
 * Absolute figures, one table per cell family: a row per server, a column per payload size.
 * @param {any} data
 */
function familyTables(data) {
  const cells = /** @type {any[]} */ (data.cells);
  const families = [...new Set(cells.map((c) => c.family))];
  return families.map((family) => {
    const members = cells.filter((c) => c.family === family);
    const first = members[0];
    const ids = Object.keys(first.servers);
    const latency = isLatency(first);
    const rows = ids.map((id) => {
      const loads = members.map((c) => get(c, id, 'loadCpuPct')).filter((v) => v !== null);
      return [
        data.servers[id]?.label ?? id,
        ...members.map((c) => {
          const m = c.servers[id]?.median;
          if (!m || m.msgPerSec === null) {
            return `failed${
              c.servers[id]?.failures?.[0] ? `: ${c.servers[id].failures[0].slice(0, 60)}` : ''
            }`;
          }
          const head = latency ? `${num(m.p50Us)} / ${num(m.p99Us)} µs` : `${num(m.msgPerSec)}/s`;
          const rss = c.conns > 1 ? `, ${num(m.serverRssBytes / MiB)} MiB` : '';
          return `${head} · ${num(m.serverCpuUsPerMsg, 1)} µs${rss}`;
        }),
        loads.length > 0 ? `${num(Math.max(.../** @type {number[]} */ (loads)))}%` : '–',
      ];
    });
    const legend = latency
      ? 'p50 / p99 round trip · server CPU per message'
      : `messages echoed per second · server CPU per message${
        first.conns > 1 ? ' · server RSS under load' : ''
      }`;
    return `### ${first.type}${
      first.compress ? ' + permessage-deflate' : ''
    }, ${first.shape}\n\n${legend}; ` +
      `last column: the load generator's highest CPU use in these cells.\n\n` +
      table(['server', ...members.map((c) => fmtSize(c.size)), 'load CPU'], rows) +
      `\n\n![${family}](${family}.svg)`;
  });
}

/**
 * @param {any} data
 * @param {any[]} verdicts
 * @param {string[]} charts
 */
export function renderReport(data, verdicts, charts) {
  const m = data.machine;
  const { node, other } = ratioTables(data);
  const targets = verdicts.map((v) =>
    `- ${v.met === null ? 'NO DATA' : v.met ? 'MET' : 'MISSED'}: ${v.target} — ${v.detail}` +
    (v.misses.length > 0 ? `\n  - missed in: ${v.misses.join('; ')}` : '')
  ).join('\n');
  const servers = Object.entries(data.servers).map(([id, s]) => {
    const info = /** @type {any} */ (s).info ?? {};
    const extras = Object.entries(info).filter(([k]) => !['ready', 'port', 'compress'].includes(k));
    return `- \`${id}\`: ${/** @type {any} */ (s).label}${
      extras.length > 0 ? ` (${extras.map(([k, v]) => `${k}: ${v}`).join('; ')})` : ''
    }`;
  }).join('\n');
  const summary = [
    `Machine: ${m.nproc} × ${m.cpu}, ${m.memoryGiB} GiB, Linux ${m.kernel}; Node ${m.node}, Bun ${m.bun}, ${m.deno}; ${m.pinned}.` +
    (m.allocatorEnv?.length
      ? ` Allocator settings in every server's environment: ${m.allocatorEnv.join(', ')}.`
      : ''),
    `Mode: ${data.mode}, ${data.config.repeats} repeats per cell (median), ${data.config.warmupMs} ms warm-up + ` +
    `${data.config.windowMs} ms windows${
      data.settling?.windows > 0 ? `, ${describeSettling(data.settling)}` : ''
    }; ${data.durationSeconds} s.`,
    '',
    'Node: sansws ÷ ws (bufferutil) and ÷ raw node:net; "handler": the echo from a message handler ' +
    '(`sansws-node-handler`) instead of a loop of reads, giving each message back once echoed (`Conn.release`)',
    '',
    node,
    '',
    'Bun and Deno: sansws ÷ the built-in WebSocket server and ÷ raw TCP',
    '',
    other,
    '',
    `Idle memory (${num(data.memory?.connections)} connections per server):`,
    '',
    memoryTable(data),
    '',
    data.clients ? `Clients against ${data.clients.server}:\n\n${clientTable(data)}\n` : '',
    'Targets (issue 8):',
    '',
    'Each verdict reads the ratio of medians. A missed cell also gives the same ratio run by run (repeat i ' +
    'of both servers ran back to back, servers interleaved) — its range and how many of those runs missed: ' +
    'a cell that missed in every run missed for the seconds its runs took, one the runs straddle is within ' +
    'their noise; the machine drifts over minutes, so compare full runs before calling a miss steady.',
    '',
    targets,
  ].join('\n');
  const markdown = [
    `# sansws server benchmark: ${data.mode} run, ${data.date.slice(0, 10)}`,
    '',
    'Generated by `node bench/run.mjs` (see docs/performance.md). Ratios of medians; "CPU/msg" is the server\'s ' +
    'user + system CPU time per echoed message from /proc/<pid>/stat (10 ms ticks, summed over the window).',
    '',
    'Servers:',
    '',
    servers,
    '',
    summary,
    '',
    '## Absolute figures per cell family',
    '',
    familyTables(data).join('\n\n'),
    '',
    '## Charts',
    '',
    charts.map((c) => `- [${c}](${c})`).join('\n'),
    '',
  ].join('\n');
  return { markdown, summary };
}

// ---------------------------------------------------------------------------------------------------------
// SVG charts.

/** @type {Record<string, string>} */
const COLORS = {
  'sansws-node': '#1f4e9c',
  'sansws-node-handler': '#5b8bd9',
  'ws-node': '#e07b00',
  'ws-node-js': '#f3b866',
  'raw-node': '#9a9a9a',
  'sansws-bun': '#2e7d32',
  'sansws-bun-handler': '#74b377',
  'bun-builtin': '#c62828',
  'raw-bun': '#b0b0b0',
  'sansws-deno': '#6a1b9a',
  'sansws-deno-handler': '#a66bc9',
  'deno-builtin': '#00838f',
  'raw-deno': '#c8c8c8',
  'node-builtin': '#8d6e63',
};

/** @param {string} s */
const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Small multiples of horizontal bars: one panel per column, one bar per series, each panel on its own scale.
 * @param {string} title
 * @param {{ title: string, bars: { id: string, label: string, value: number | null, text: string }[] }[][]} rows
 *   panels, by row
 */
function barChart(title, rows) {
  const labelWidth = 190;
  const panelWidth = 230;
  const barHeight = 14;
  const gap = 4;
  const columns = Math.max(...rows.map((r) => r.length));
  const barsPerPanel = Math.max(...rows.flat().map((p) => p.bars.length));
  const panelHeight = 24 + barsPerPanel * (barHeight + gap) + 8;
  const width = labelWidth + columns * panelWidth + 10;
  const height = 34 + rows.length * panelHeight;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="8" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  rows.forEach((panels, r) => {
    const top = 34 + r * panelHeight;
    const labels = panels[0]?.bars ?? [];
    labels.forEach((bar, i) => {
      out.push(
        `<text x="${labelWidth - 6}" y="${top + 24 + i * (barHeight + gap) + 11}" text-anchor="end">${
          esc(bar.label)
        }</text>`,
      );
    });
    panels.forEach((panel, p) => {
      const left = labelWidth + p * panelWidth;
      out.push(`<text x="${left}" y="${top + 14}" font-weight="bold">${esc(panel.title)}</text>`);
      const max = Math.max(1e-9, ...panel.bars.map((b) => b.value ?? 0));
      panel.bars.forEach((bar, i) => {
        const y = top + 24 + i * (barHeight + gap);
        const w = bar.value === null ? 0 : Math.max(1, (bar.value / max) * (panelWidth - 80));
        out.push(
          `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="${
            COLORS[bar.id] ?? '#555'
          }"/>`,
          `<text x="${(left + w + 3).toFixed(1)}" y="${y + 11}">${
            esc(bar.value === null ? 'n/a' : bar.text)
          }</text>`,
        );
      });
    });
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** @param {any} data */
export function renderCharts(data) {
  /** @type {Record<string, string>} */
  const charts = {};
  const cells = /** @type {any[]} */ (data.cells);
  for (const family of [...new Set(cells.map((c) => c.family))]) {
    const members = cells.filter((c) => c.family === family);
    const first = members[0];
    const latency = isLatency(first);
    const ids = Object.keys(first.servers);
    /**
     * @param {string} metric
     * @param {(v: number) => string} text
     * @param {string} what
     */
    const row = (metric, text, what) =>
      members.map((c) => ({
        title: `${fmtSize(c.size)}: ${what}`,
        bars: ids.map((id) => {
          const v = get(c, id, metric);
          return { id, label: data.servers[id]?.label ?? id, value: v, text: v === null ? '' : text(v) };
        }),
      }));
    const primary = latency
      ? row('p50Us', (v) => `${num(v)} µs`, 'p50 µs (lower is better)')
      : row('msgPerSec', (v) => `${num(v)}/s`, 'msg/s (higher is better)');
    const cpu = row('serverCpuUsPerMsg', (v) => `${num(v, 1)} µs`, 'server CPU µs/msg (lower is better)');
    const title = `Echo, ${first.type}${first.compress ? ' + permessage-deflate' : ''}, ${first.shape}`;
    charts[`${family}.svg`] = barChart(title, [primary, cpu]);
  }
  const mem = data.memory?.servers ?? {};
  const memIds = Object.keys(mem).filter((id) => mem[id]?.perConnectionBytes != null);
  if (memIds.length > 0) {
    charts['memory.svg'] = barChart(
      `Resident memory per idle connection (${num(data.memory.connections)} open)`,
      [[{
        title: 'KiB per connection (lower is better)',
        bars: memIds.map((id) => ({
          id,
          label: data.servers[id]?.label ?? id,
          value: mem[id].perConnectionBytes / KiB,
          text: `${(mem[id].perConnectionBytes / KiB).toFixed(2)} KiB`,
        })),
      }]],
    );
  }
  if (data.clients) {
    const ids = Object.keys(data.clients.clients);
    charts['clients.svg'] = barChart(`Clients against ${data.clients.server}`, [
      data.clients.cells.map((/** @type {any} */ cell) => ({
        title: `${cell.type} ${fmtSize(cell.size)} ×${cell.inflight}: ${
          cell.inflight === 1 ? 'p50 µs' : 'msg/s'
        }`,
        bars: ids.map((id) => {
          const m = cell.clients[id]?.median ?? {};
          const v = cell.inflight === 1 ? m.p50Us : m.msgPerSec;
          const colorId = id === 'bun-builtin' || id === 'deno-builtin' ? id : id;
          return {
            id: colorId,
            label: data.clients.clients[id],
            value: v ?? null,
            text: v == null ? '' : cell.inflight === 1 ? `${num(v)} µs` : `${num(v)}/s`,
          };
        }),
      })),
      data.clients.cells.map((/** @type {any} */ cell) => ({
        title: 'client CPU µs/msg',
        bars: ids.map((id) => {
          const v = cell.clients[id]?.median?.clientCpuUsPerMsg ?? null;
          return { id, label: data.clients.clients[id], value: v, text: v === null ? '' : `${num(v, 1)} µs` };
        }),
      })),
    ]);
  }
  return charts;
}

/**
 * @typedef {object} Settling How long the windows waited for every server to be quiet first
 *   (bench/lib/proc.mjs `waitQuiet`), over a run.
 * @property {number} windows
 * @property {number} quietMs how long every server had to be quiet
 * @property {number} maxWaitMs the longest wait before a window started anyway
 * @property {number | null} medianMs
 * @property {number | null} maxMs
 * @property {number} notQuiet windows that started after the longest wait
 */

/**
 * The waits of a run in one sentence (for the report and the console).
 * @param {Settling} s
 */
export function describeSettling(s) {
  return `each started once every server had used no CPU for ${s.quietMs} ms (waited: median ${
    (s.medianMs ?? 0).toFixed(0)
  } ms, at most ${(s.maxMs ?? 0).toFixed(0)} ms; ${s.notQuiet} of ${s.windows} windows still busy after ${
    s.maxWaitMs / 1000
  } s)`;
}

// ---------------------------------------------------------------------------------------------------------
// The summary docs/performance.md gives: ranges by group of cells, and the ratio tables of both echoes.

/** The groups of cells the summary gives ranges for. */
const GROUPS = [
  {
    label: '16 B and 1 KiB, pipelined',
    has: (/** @type {any} */ c) => !c.compress && c.size <= KiB && !isLatency(c),
  },
  {
    label: '16 B and 1 KiB, 1×1',
    has: (/** @type {any} */ c) => !c.compress && c.size <= KiB && isLatency(c),
  },
  { label: '64 KiB and 1 MiB', has: (/** @type {any} */ c) => !c.compress && c.size >= 64 * KiB },
  { label: 'permessage-deflate', has: (/** @type {any} */ c) => c.compress },
];

/**
 * Our speed ÷ the rival's, as the targets on Bun and Deno judge it ({@link speedOperands}).
 * @param {any} cell
 * @param {string} ours
 * @param {string} rival
 */
const speedRatio = (cell, ours, rival) => {
  const [a, b, metric] = speedOperands(cell, ours, rival);
  return div(get(cell, a, metric), get(cell, b, metric));
};

/** @param {Array<number | null>} values */
const range = (values) => {
  const known = /** @type {number[]} */ (values.filter((v) => v !== null && Number.isFinite(v)));
  if (known.length === 0) return '–';
  return `${Math.min(...known).toFixed(2)}–${Math.max(...known).toFixed(2)}×`;
};

/**
 * The comparisons the summary's ranges are given for: [ours, rival, label].
 * @type {Array<[string, string, string]>}
 */
const SUMMARY_PAIRS = [
  ['sansws-node', 'ws-node', 'Node, the loop ÷ `ws`'],
  ['sansws-node-handler', 'ws-node', 'Node, the handler ÷ `ws`'],
  ['sansws-bun', 'bun-builtin', 'Bun, the loop ÷ `Bun.serve`'],
  ['sansws-bun-handler', 'bun-builtin', 'Bun, the handler ÷ `Bun.serve`'],
  ['sansws-deno', 'deno-builtin', 'Deno, the loop ÷ its built-in'],
  ['sansws-deno-handler', 'deno-builtin', 'Deno, the handler ÷ its built-in'],
];

/** Per runtime, the servers whose 64 KiB+ binary echoes the summary compares with the raw TCP echo. */
const RAW_PAIRS = [
  { raw: 'raw-node', servers: ['sansws-node', 'sansws-node-handler', 'ws-node'] },
  { raw: 'raw-bun', servers: ['sansws-bun', 'sansws-bun-handler', 'bun-builtin'] },
  { raw: 'raw-deno', servers: ['sansws-deno', 'sansws-deno-handler', 'deno-builtin'] },
];

/**
 * The summary of one full run as docs/performance.md gives it (Markdown): for each of our echoes against
 * its rival, the ranges of the ratios over groups of cells; the 64 KiB+ binary echoes against raw TCP; the
 * Node table and the Bun and Deno table of both echoes; idle memory per connection.
 * @param {any} data
 */
export function renderSummary(data) {
  const cells = /** @type {any[]} */ (data.cells);
  const ranges = SUMMARY_PAIRS.flatMap(([ours, rival, label]) => {
    const groups = GROUPS.map((g) => ({
      g,
      cells: cells.filter((c) => g.has(c) && c.servers[ours] && c.servers[rival]),
    }))
      .filter((x) => x.cells.length > 0);
    if (groups.length === 0) return [];
    return [
      `- ${label}: ` +
      groups.map(({ g, cells: group }) =>
        `${g.label} (${group.length}): msg/s ${
          range(group.map((c) => div(get(c, ours, 'msgPerSec'), get(c, rival, 'msgPerSec'))))
        }` +
        `, speed ${range(group.map((c) => speedRatio(c, ours, rival)))}` +
        `, CPU/msg ${
          range(group.map((c) => div(get(c, ours, 'serverCpuUsPerMsg'), get(c, rival, 'serverCpuUsPerMsg'))))
        }`
      ).join('; '),
    ];
  });
  const large = cells.filter((c) => c.type === 'binary' && !c.compress && c.size >= 64 * KiB);
  const raws = RAW_PAIRS.flatMap(({ raw, servers }) =>
    servers.filter((id) => large.some((c) => c.servers[id] && c.servers[raw])).map((id) => {
      const values = large.map((c) => div(get(c, id, 'msgPerSec'), get(c, raw, 'msgPerSec')));
      const below = values.filter((v) => v !== null && v < 0.6).length;
      const figures = `${range(values)}, below 0.60× in ${below} of ${values.length}`;
      return `- \`${id}\` ÷ \`${raw}\`, binary 64 KiB and 1 MiB: ${figures}`;
    })
  );
  /** A figure only where it applies to the cell (blank, not '–', elsewhere). */
  const only = (/** @type {boolean} */ when, /** @type {string} */ text) => (when ? text : '');
  const nodeTable = table(
    [
      'cell',
      '`ws` msg/s',
      'loop: msg/s ÷ `ws`',
      'loop: CPU/msg ÷ `ws`',
      'handler: msg/s ÷ `ws`',
      'handler: CPU/msg ÷ `ws`',
      'handler: p50 ÷ `ws`',
      'handler: msg/s ÷ raw',
    ],
    cells.map((c) => [
      cellName(c),
      num(get(c, 'ws-node', 'msgPerSec')),
      ratio(div(get(c, 'sansws-node', 'msgPerSec'), get(c, 'ws-node', 'msgPerSec'))),
      ratio(div(get(c, 'sansws-node', 'serverCpuUsPerMsg'), get(c, 'ws-node', 'serverCpuUsPerMsg'))),
      ratio(div(get(c, 'sansws-node-handler', 'msgPerSec'), get(c, 'ws-node', 'msgPerSec'))),
      ratio(div(get(c, 'sansws-node-handler', 'serverCpuUsPerMsg'), get(c, 'ws-node', 'serverCpuUsPerMsg'))),
      only(isLatency(c), ratio(div(get(c, 'sansws-node-handler', 'p50Us'), get(c, 'ws-node', 'p50Us')))),
      only(
        c.type === 'binary' && !c.compress,
        ratio(div(get(c, 'sansws-node-handler', 'msgPerSec'), get(c, 'raw-node', 'msgPerSec'))),
      ),
    ]),
  );
  const raw = (/** @type {any} */ c, /** @type {string} */ id, /** @type {string} */ rawId) =>
    only(c.type === 'binary' && !c.compress, ratio(div(get(c, id, 'msgPerSec'), get(c, rawId, 'msgPerSec'))));
  const builtinTable = table(
    [
      'cell',
      'Bun: loop ÷ `Bun.serve`',
      'handler ÷ `Bun.serve`',
      'handler ÷ raw',
      'Deno: loop ÷ built-in',
      'handler ÷ built-in',
      'handler ÷ raw',
    ],
    cells.map((c) => {
      // Deno's built-in server has no permessage-deflate: its compressed cells have no rival.
      const deno = !c.compress;
      return [
        cellName(c),
        ratio(speedRatio(c, 'sansws-bun', 'bun-builtin')),
        ratio(speedRatio(c, 'sansws-bun-handler', 'bun-builtin')),
        raw(c, 'sansws-bun-handler', 'raw-bun'),
        deno ? ratio(speedRatio(c, 'sansws-deno', 'deno-builtin')) : 'no deflate',
        deno ? ratio(speedRatio(c, 'sansws-deno-handler', 'deno-builtin')) : '',
        deno ? raw(c, 'sansws-deno-handler', 'raw-deno') : '',
      ];
    }),
  );
  const mem = data.memory?.servers ?? {};
  /** @param {string} id */
  const idle = (id) => {
    const s = mem[id];
    if (s?.perConnectionBytes == null) return '';
    const passes = Array.isArray(s.passes) && s.passes.length > 1
      ? ` (${s.passes.map((/** @type {number} */ p) => (p / KiB).toFixed(2)).join(', ')})`
      : '';
    return `${(s.perConnectionBytes / KiB).toFixed(2)}${passes}`;
  };
  const memoryTable = table(
    ['server', 'Node', 'Bun', 'Deno'],
    [
      ['sansws, loop', idle('sansws-node'), idle('sansws-bun'), idle('sansws-deno')],
      [
        'sansws, handler',
        idle('sansws-node-handler'),
        idle('sansws-bun-handler'),
        idle('sansws-deno-handler'),
      ],
      [
        '`ws` + `bufferutil` / `Bun.serve` / `Deno.upgradeWebSocket`',
        idle('ws-node'),
        idle('bun-builtin'),
        idle('deno-builtin'),
      ],
      ['`ws` without addons', idle('ws-node-js'), '', ''],
      ['raw TCP echo', idle('raw-node'), idle('raw-bun'), idle('raw-deno')],
    ],
  );
  return [
    `Ranges over groups of cells (how many in brackets); speed as the targets judge it (msg/s; at 1×1 the rival's p50 ÷ ours):`,
    '',
    ...ranges,
    '',
    ...raws,
    '',
    nodeTable,
    '',
    builtinTable,
    '',
    memoryTable,
    '',
  ].join('\n');
}
