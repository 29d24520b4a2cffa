/**
 * The core's performance benchmark: receiving and sending data frames, our engine against the npm `ws`
 * package (with and without its native `bufferutil` addon) and a plain-copy baseline, in one process.
 *
 *   npm run bench                          (from packages/core; run `tsc -b` at the root first)
 *   npm run bench -- --quick               (smoke run: fewer, shorter rounds)
 *   node bench/dist/run.js --only receive --sizes 16 --types text --contenders ours   (e.g. to profile)
 *
 * Method. Every cell (payload size × text/binary) is prepared once, outside any timing: a stream of about
 * 1 MiB of back-to-back masked client frames (at least 4 messages), cut into 64 KiB chunks as a socket delivers them. Our engine
 * and ws both unmask in place, so before EVERY timed feed, for every contender alike, the chunk buffers
 * are restored from pristine copies (untimed). A sample is the mean time of one feed over repeated feeds
 * until the timed total reaches the target; rounds run over all cells, contenders interleaved and rotated
 * within each cell; the report shows the median over rounds. A full GC runs (untimed) before each sample so
 * that no contender pays for another's garbage (`--no-gc` turns that off).
 *
 * The allocator's state. With glibc's default thresholds a freed 64 KiB or 1 MiB message buffer is returned to
 * the kernel and the next one is mapped in again page by page: measured here, 15.8 minor page faults per 64 KiB
 * message and 203 per 1 MiB message for every contender alike, which made every contender take 260 µs per 64
 * KiB message (10 µs without) and hid the engines' differences, at random from one process to the next (the
 * GC before each sample frees buffers, and whether glibc trims depends on what ran before). So the process
 * first allocates and frees one 16 MiB block, which raises glibc's mmap threshold to 16 MiB and its trim
 * threshold to 32 MiB, as `@sansws/node` does in a server on its first large message: every contender then
 * reuses memory. `--no-prime` leaves glibc as it starts. The report gives the page faults per message of
 * every row, so a reader sees which state a run was in.
 * Sending times batches of `sendText` / `sendBinary` + `takeOutput()` against ws's `Sender.frame`.
 *
 * This is a benchmark, not a test: nothing here runs in `npm test`.
 */

import { Buffer } from 'node:buffer';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  allocateUnzeroed,
  type Contender,
  copyBaseline,
  type Message,
  oursReceive,
  oursSend,
  withNodeIsUtf8,
  withNodeOptions,
  wsReceive,
  wsSend,
} from './engines.ts';
import {
  asciiShare,
  binaryPayload,
  CHUNK_SIZE,
  ChunkedStream,
  frameStream,
  maskedHeaderSize,
  Prng,
  textPayload,
} from './inputs.ts';
import { loadWs } from './ws.ts';

// ---- options ---------------------------------------------------------------------------------------

interface Options {
  quick: boolean;
  rounds: number;
  targetMs: number;
  only: 'receive' | 'send' | null;
  sizes: number[];
  types: ('text' | 'binary')[];
  contenders: string[] | null;
  json: boolean;
  gc: boolean;
  prime: boolean;
}

const ALL_SIZES = [16, 1024, 64 * 1024, 1024 * 1024];
/** Each cell's frame stream (or send batch) holds about this many payload bytes. */
const STREAM_BYTES = 1024 * 1024;
const MIN_MESSAGES = 4;

function parseOptions(argv: readonly string[]): Options {
  const options: Options = {
    quick: false,
    rounds: 15,
    targetMs: 50,
    only: null,
    sizes: ALL_SIZES,
    types: ['text', 'binary'],
    contenders: null,
    json: true,
    gc: true,
    prime: true,
  };
  let rounds: number | null = null;
  let targetMs: number | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    switch (arg) {
      case '--quick':
        options.quick = true;
        break;
      case '--rounds':
        rounds = Number(value());
        break;
      case '--ms':
        targetMs = Number(value());
        break;
      case '--only': {
        const only = value();
        if (only !== 'receive' && only !== 'send') throw new Error('--only takes receive or send');
        options.only = only;
        break;
      }
      case '--sizes':
        options.sizes = value().split(',').map(parseSize);
        break;
      case '--types':
        options.types = value().split(',').map((t) => {
          if (t !== 'text' && t !== 'binary') throw new Error(`unknown type ${t}`);
          return t;
        });
        break;
      case '--contenders':
        options.contenders = value().split(',');
        break;
      case '--no-json':
        options.json = false;
        break;
      case '--no-gc':
        options.gc = false;
        break;
      case '--no-prime':
        options.prime = false;
        break;
      case '--help':
        process.stdout.write(
          'usage: run.js [--quick] [--rounds N] [--ms N] [--only receive|send] [--sizes 16,1k,64k,1m]\n' +
            '              [--types text,binary] [--contenders ours,ws,...] [--no-json] [--no-gc] [--no-prime]\n',
        );
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${arg}`);
    }
  }
  options.rounds = rounds ?? (options.quick ? 3 : 15);
  options.targetMs = targetMs ?? (options.quick ? 10 : 50);
  if (!(options.rounds >= 1) || !(options.targetMs > 0)) throw new Error('bad --rounds or --ms');
  return options;
}

function parseSize(text: string): number {
  const match = /^(\d+)([kKmM]?)$/.exec(text);
  if (match === null) throw new Error(`bad size ${text}`);
  const unit = match[2]!.toLowerCase();
  return Number(match[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1024 * 1024 : 1);
}

function sizeLabel(size: number): string {
  if (size >= 1024 * 1024) return `${size / (1024 * 1024)} MiB`;
  if (size >= 1024) return `${size / 1024} KiB`;
  return `${size} B`;
}

// ---- measuring -------------------------------------------------------------------------------------

let collectGarbage: () => void = () => {};
let forcedGc = false;
try {
  setFlagsFromString('--expose-gc');
  collectGarbage = runInNewContext('gc') as () => void;
  forcedGc = true;
} catch {
  // No forced GC between samples; the numbers get noisier, nothing else changes.
}

const immediate = (): Promise<void> => new Promise((done) => setImmediate(done));

interface Cell {
  readonly side: 'receive' | 'send';
  readonly size: number;
  readonly message: Message;
  /** Messages per unit of work. */
  readonly messages: number;
  /** Wire bytes per unit of work (frames, headers included). */
  readonly wireBytes: number;
  /** Restores the input before each timed unit (receive side), or null. */
  readonly restore: (() => void) | null;
  readonly contenders: Contender[];
  readonly samples: Map<string, number[]>;
  /** Minor page faults per message, per sample. */
  readonly faults: Map<string, number[]>;
}

/**
 * Seconds per unit of work: repeated units until the timed total reaches `targetMs`, averaged; and the
 * minor page faults per message over those units (restores included: they fault only when the process does).
 */
async function sample(
  cell: Cell,
  contender: Contender,
  targetMs: number,
  gc: boolean,
): Promise<{ seconds: number; faults: number }> {
  if (gc) collectGarbage();
  let elapsed = 0;
  let units = 0;
  const faults = process.resourceUsage().minorPageFault;
  do {
    cell.restore?.();
    const start = performance.now();
    const seen = contender.run();
    elapsed += performance.now() - start;
    units++;
    if (seen !== cell.messages) {
      throw new Error(`${contender.label}: saw ${seen} messages, expected ${cell.messages}`);
    }
  } while (elapsed < targetMs);
  const faulted = process.resourceUsage().minorPageFault - faults;
  // Lets ws's Writable run its deferred after-write callbacks outside the timing.
  await immediate();
  return { seconds: elapsed / units / 1000, faults: faulted / (units * cell.messages) };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

// ---- cells -----------------------------------------------------------------------------------------

function makeMessage(type: 'text' | 'binary', size: number, rng: Prng): Message {
  if (type === 'text') return { type, ...textPayload(size, rng) };
  const bytes = binaryPayload(size, rng);
  return { type, text: '', bytes };
}

function unitMessages(size: number): number {
  return Math.max(MIN_MESSAGES, Math.floor(STREAM_BYTES / (maskedHeaderSize(size) + size)));
}

function wanted(options: Options, id: string): boolean {
  return options.contenders === null || options.contenders.includes(id);
}

function receiveCell(
  options: Options,
  ws: ReturnType<typeof loadWs>,
  size: number,
  type: 'text' | 'binary',
): Cell {
  const rng = new Prng(size * 31 + (type === 'text' ? 1 : 2));
  const message = makeMessage(type, size, rng);
  const messages = unitMessages(size);
  const stream = new ChunkedStream(frameStream(type === 'text' ? 1 : 2, message.bytes, messages, rng));
  const all: Contender[] = [
    oursReceive('ours', 'ours', stream, message, {}),
    oursReceive('ours-isutf8', "ours + node adapter's isUtf8", stream, message, withNodeIsUtf8),
    oursReceive('ours-alloc', 'ours + allocate: allocUnsafeSlow', stream, message, {
      allocate: allocateUnzeroed,
    }),
    // The engine as `@sansws/node` configures it (for binary, the same code as ours-alloc).
    oursReceive(
      'ours-node',
      "ours + node adapter's isUtf8, allocate and bufferutil mask",
      stream,
      message,
      withNodeOptions,
    ),
    wsReceive('ws', 'ws Receiver (no addon)', ws.withoutAddons, stream, message, false),
    wsReceive('ws-bu', 'ws Receiver (bufferutil)', ws.withAddons, stream, message, false),
    ...(type === 'text'
      ? [wsReceive('ws-tostring', 'ws (no addon) + toString()', ws.withoutAddons, stream, message, true)]
      : []),
    copyBaseline(stream, messages),
  ];
  return {
    side: 'receive',
    size,
    message,
    messages,
    wireBytes: stream.totalBytes,
    restore: () => stream.restore(),
    contenders: all.filter((c) => wanted(options, c.id)),
    samples: new Map(),
    faults: new Map(),
  };
}

function sendCell(
  options: Options,
  ws: ReturnType<typeof loadWs>,
  size: number,
  type: 'text' | 'binary',
): Cell {
  const rng = new Prng(size * 37 + (type === 'text' ? 3 : 4));
  const message = makeMessage(type, size, rng);
  const messages = unitMessages(size);
  const all: Contender[] = [
    oursSend(message, messages),
    oursSend(message, messages, withNodeOptions, 'ours-node', "ours + node adapter's bufferutil mask"),
    wsSend('ws', 'ws Sender.frame (no addon)', ws.withoutAddons, message, messages),
    wsSend('ws-bu', 'ws Sender.frame (bufferutil)', ws.withAddons, message, messages),
    ...(type === 'binary'
      ? [wsSend('ws-inplace', 'ws (bufferutil), readOnly: false', ws.withAddons, message, messages, true)]
      : []),
  ];
  return {
    side: 'send',
    size,
    message,
    messages,
    wireBytes: messages * (maskedHeaderSize(size) + size),
    restore: null,
    contenders: all.filter((c) => wanted(options, c.id)),
    samples: new Map(),
    faults: new Map(),
  };
}

// ---- report ----------------------------------------------------------------------------------------

interface Row {
  side: 'receive' | 'send';
  size: number;
  type: 'text' | 'binary';
  contender: string;
  label: string;
  informational: boolean;
  secondsPerUnit: number;
  messagesPerSecond: number;
  megabytesPerSecond: number;
  /** (max − min) / median of the per-round samples. */
  spread: number;
  /** Median over rounds of the minor page faults per message. */
  faultsPerMessage: number;
  samples: number[];
  vsWs: number | null;
  vsWsBufferutil: number | null;
  /**
   * Median over rounds of ws+bufferutil's sample ÷ ours in the same round (the two ran minutes apart at
   * most, so drift of the machine between rounds cancels), or null.
   */
  pairedVsWsBufferutil: number | null;
  vsCopy: number | null;
}

function rowsOf(cell: Cell): Row[] {
  const perSecond = new Map<string, number>();
  for (const [id, values] of cell.samples) perSecond.set(id, cell.messages / median(values));
  const ratio = (ours: number, other: string): number | null => {
    const value = perSecond.get(other);
    return value === undefined ? null : ours / value;
  };
  return cell.contenders.map((c) => {
    const values = cell.samples.get(c.id) ?? [];
    const mid = median(values);
    const rate = cell.messages / mid;
    const isOurs = c.id.startsWith('ours');
    const wsBu = cell.samples.get('ws-bu');
    const paired = isOurs && wsBu !== undefined && wsBu.length === values.length && values.length > 0
      ? median(values.map((ours, round) => wsBu[round]! / ours))
      : null;
    return {
      side: cell.side,
      size: cell.size,
      type: cell.message.type,
      contender: c.id,
      label: c.label,
      informational: c.informational,
      secondsPerUnit: mid,
      messagesPerSecond: rate,
      megabytesPerSecond: (rate * cell.size) / 1e6,
      spread: (Math.max(...values) - Math.min(...values)) / mid,
      faultsPerMessage: median(cell.faults.get(c.id) ?? [0]),
      samples: values,
      vsWs: isOurs ? ratio(rate, 'ws') : null,
      vsWsBufferutil: isOurs ? ratio(rate, 'ws-bu') : null,
      pairedVsWsBufferutil: paired,
      vsCopy: isOurs && cell.side === 'receive' ? ratio(rate, 'copy') : null,
    };
  });
}

function formatRate(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)} M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)} k`;
  return value.toFixed(0);
}

function formatMb(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

function formatRatio(value: number | null): string {
  if (value === null) return '';
  return `${value >= 0.1 ? value.toFixed(2) : value.toPrecision(2)}×`;
}

function table(rows: readonly Row[], withCopy: boolean): string {
  const head = [
    'size',
    'type',
    'contender',
    'msg/s',
    'MB/s',
    'spread',
    'page faults/msg',
    'ours ÷ ws',
    'ours ÷ ws+bufferutil',
    'the same, paired',
  ];
  if (withCopy) head.push('ours ÷ copy');
  const lines = [
    `| ${head.join(' | ')} |`,
    `|${head.map((_, i) => (i >= 3 ? ' ---: ' : ' --- ')).join('|')}|`,
  ];
  for (const row of rows) {
    const cells = [
      sizeLabel(row.size),
      row.type,
      row.informational
        ? `(${row.label})`
        : row.contender.startsWith('ours')
        ? `**${row.label}**`
        : row.label,
      formatRate(row.messagesPerSecond),
      formatMb(row.megabytesPerSecond),
      `±${((row.spread * 100) / 2).toFixed(0)}%`,
      row.faultsPerMessage >= 10 ? row.faultsPerMessage.toFixed(0) : row.faultsPerMessage.toFixed(1),
      formatRatio(row.vsWs),
      formatRatio(row.vsWsBufferutil),
      formatRatio(row.pairedVsWsBufferutil),
    ];
    if (withCopy) cells.push(formatRatio(row.vsCopy));
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

function targets(rows: readonly Row[]): string {
  const lines = [
    '| size | type | ours ÷ ws (target ≥ 1.50) | ours ÷ ws+bufferutil (target ≥ 1.00 from 64 KiB) | met ' +
    "| ours with @sansws/node's options ÷ ws+bufferutil | the same, paired |",
    '| --- | --- | ---: | ---: | --- | ---: | ---: |',
  ];
  const byCell = new Map<string, { size: number; type: string; ours?: Row; node?: Row }>();
  for (const row of rows) {
    if (row.side !== 'receive' || (row.contender !== 'ours' && row.contender !== 'ours-node')) continue;
    const key = `${row.size} ${row.type}`;
    const entry = byCell.get(key) ?? { size: row.size, type: row.type };
    if (row.contender === 'ours') entry.ours = row;
    else entry.node = row;
    byCell.set(key, entry);
  }
  for (const { size, type, ours, node } of byCell.values()) {
    const needBu = size >= 64 * 1024;
    const vsWs = ours?.vsWs ?? null;
    const vsBu = ours?.vsWsBufferutil ?? null;
    const okWs = vsWs === null ? null : vsWs >= 1.5;
    const okBu = !needBu || vsBu === null ? null : vsBu >= 1;
    const verdict = okWs === false || okBu === false
      ? '**no**'
      : okWs === null && okBu === null
      ? 'n/a'
      : 'yes';
    lines.push(
      `| ${sizeLabel(size)} | ${type} | ${formatRatio(vsWs)} | ${
        needBu ? formatRatio(vsBu) : `(${formatRatio(vsBu)})`
      } | ${verdict} | ${formatRatio(node?.vsWsBufferutil ?? null)} | ${
        formatRatio(node?.pairedVsWsBufferutil ?? null)
      } |`,
    );
  }
  return lines.join('\n');
}

// ---- main ------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const ws = loadWs();
  const cpus = os.cpus();
  const machine = {
    node: process.version,
    v8: process.versions.v8,
    platform: `${process.platform} ${process.arch}`,
    cpu: cpus[0]?.model ?? 'unknown',
    cpus: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    forcedGc,
  };
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  log(`machine: ${machine.cpu} × ${machine.cpus}, node ${machine.node}, ${machine.platform}`);
  for (const addon of ws.addons) {
    log(
      `${addon.name} ${addon.version ?? '(not installed)'}: ${
        addon.native ? 'LOADED' : 'NOT loaded'
      } (${addon.detail})`,
    );
  }
  log(`ws ${ws.version} as installed:     masking ${ws.withAddons.masking}; UTF-8 ${ws.withAddons.utf8}`);
  log(
    `ws ${ws.version} addons disabled:  masking ${ws.withoutAddons.masking}; UTF-8 ${ws.withoutAddons.utf8}`,
  );

  const cells: Cell[] = [];
  for (const size of options.sizes) {
    for (const type of options.types) {
      if (options.only !== 'send') cells.push(receiveCell(options, ws, size, type));
    }
  }
  for (const size of options.sizes) {
    for (const type of options.types) {
      if (options.only !== 'receive') cells.push(sendCell(options, ws, size, type));
    }
  }
  for (const cell of cells) for (const c of cell.contenders) c.verify();
  log(
    `inputs verified; ${cells.length} cells, ${options.rounds} rounds of ${options.targetMs} ms per sample`,
  );

  const started = performance.now();
  // Warm-up round (not recorded): lets every contender's code reach its optimised tier.
  for (const cell of cells) {
    for (const c of cell.contenders) await sample(cell, c, Math.min(options.targetMs, 20), options.gc);
  }
  if (options.prime) {
    // See "The allocator's state" above: one 16 MiB block, freed by the collection below.
    Buffer.allocUnsafeSlow(16 * 1024 * 1024);
    collectGarbage();
  }
  for (let round = 0; round < options.rounds; round++) {
    for (const cell of cells) {
      const n = cell.contenders.length;
      for (let k = 0; k < n; k++) {
        const contender = cell.contenders[(k + round) % n]!;
        const { seconds, faults } = await sample(cell, contender, options.targetMs, options.gc);
        const list = cell.samples.get(contender.id) ?? [];
        list.push(seconds);
        cell.samples.set(contender.id, list);
        const faultList = cell.faults.get(contender.id) ?? [];
        faultList.push(faults);
        cell.faults.set(contender.id, faultList);
      }
    }
    log(`round ${round + 1}/${options.rounds} done (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  for (const cell of cells) for (const c of cell.contenders) c.verify();

  const rows = cells.flatMap(rowsOf);
  const textCells = cells.filter((c) => c.message.type === 'text');
  const ascii = textCells.length === 0 ? null : asciiShare(textCells[textCells.length - 1]!.message.bytes);
  const receiveRows = rows.filter((r) => r.side === 'receive');
  const sendRows = rows.filter((r) => r.side === 'send');
  const out: string[] = [];
  out.push(`# @sansws/core benchmark${options.quick ? ' (quick)' : ''}`);
  out.push('');
  out.push(
    `Machine: ${machine.cpu}, ${machine.cpus} CPUs, ${machine.memoryGiB} GiB; node ${machine.node} ` +
      `(V8 ${machine.v8}), ${machine.platform}. ws ${ws.version}; ` +
      ws.addons.map((a) => `${a.name} ${a.version ?? '-'} ${a.native ? 'loaded' : 'NOT loaded'}`).join(', ') +
      '.',
  );
  out.push(
    `Median of ${options.rounds} rounds, each sample ≥ ${options.targetMs} ms of timed work; ` +
      `spread = ±half the (max − min) range over rounds, relative to the median. MB = 10⁶ payload bytes. ` +
      (options.prime
        ? 'glibc primed (one 16 MiB block freed after the warm-up, as @sansws/node does): message buffers reuse memory.'
        : 'glibc not primed (--no-prime): freed message buffers may go back to the kernel and fault in again.'),
  );
  if (receiveRows.length > 0) {
    out.push('');
    out.push('## Receive (server role, masked client frames)');
    out.push('');
    out.push(
      `Each feed: ~${STREAM_BYTES / 2 ** 20} MiB (at least ${MIN_MESSAGES} messages) of back-to-back ` +
        `frames, cut into ${CHUNK_SIZE / 1024} KiB chunks; ` +
        'chunk buffers restored from pristine copies before every timed feed (untimed, all contenders alike). ' +
        `Text is valid UTF-8, ${ascii === null ? '?' : (ascii * 100).toFixed(0)}% ASCII bytes. ` +
        'Ours delivers text as an event whose string is decoded on first access (never in the timed runs); ' +
        'ws delivers a Buffer; the informational "+ toString()" row adds a decode to ws. ' +
        'ws with and without addons both validate UTF-8 with ' +
        `${ws.withoutAddons.utf8}.`,
    );
    out.push('');
    out.push(table(receiveRows, true));
    out.push('');
    out.push(
      "### Targets (ours, default options; last column: with @sansws/node's isUtf8, allocate and mask)",
    );
    out.push('');
    out.push(targets(receiveRows));
  }
  if (sendRows.length > 0) {
    out.push('');
    out.push('## Send (client role: framing + masking)');
    out.push('');
    out.push(
      `Batches of ~${
        STREAM_BYTES / 2 ** 20
      } MiB of payload (at least ${MIN_MESSAGES} messages). Ours: sendText/sendBinary + takeOutput(). ` +
        'ws: static Sender.frame(data, { fin, rsv1: false, opcode, mask: true, readOnly }) with readOnly as ' +
        "ws's send() sets it (text: false, its fresh Buffer is masked in place; binary Buffer: true, copied " +
        "while masking, the caller's data untouched as with ours). The informational readOnly: false row " +
        "masks the caller's binary buffer in place without copying.",
    );
    out.push('');
    out.push(table(sendRows, false));
  }
  const markdown = out.join('\n') + '\n';
  process.stdout.write(markdown);

  if (options.json) {
    const dir = resolve(dirname(fileURLToPath(import.meta.url)), '../../.bench-out');
    mkdirSync(dir, { recursive: true });
    const result = {
      date: new Date().toISOString(),
      options,
      machine,
      ws: {
        version: ws.version,
        addons: ws.addons,
        withAddons: { masking: ws.withAddons.masking, utf8: ws.withAddons.utf8 },
        withoutAddons: { masking: ws.withoutAddons.masking, utf8: ws.withoutAddons.utf8 },
      },
      method: { streamBytes: STREAM_BYTES, chunkSize: CHUNK_SIZE, restoreBeforeEachFeed: true },
      rows,
    };
    writeFileSync(join(dir, 'results.json'), JSON.stringify(result, null, 2) + '\n');
    writeFileSync(join(dir, 'results.md'), markdown);
    log(`wrote ${join(dir, 'results.json')} and results.md`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
