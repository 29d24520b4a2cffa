// @ts-check
/**
 * The load generator: one Node process (pinned to its own core by the harness) that drives every echo server
 * over raw `node:net` sockets with pre-built masked frames, and checks every echoed byte (see wire.mjs).
 *
 * It runs commands sent over the IPC channel by bench/run.mjs, one at a time:
 * - `cell`: open `conns` connections, keep `inflight` messages in flight on each for a warm-up, then measure
 *   a window (echoes, their round trips when one is in flight, the server's CPU time from /proc, our own CPU
 *   time), stop sending, wait for every outstanding echo, close.
 * - `idle`: open `count` connections, echo one small message on each, keep them open; `closeIdle` closes them.
 *
 * Every wait is bounded in time; on any failure the connections are destroyed and the cell reports the error.
 *
 * @module
 */

import net from 'node:net';
import { Buffer } from 'node:buffer';
import { checkResponse, CLOSE_FRAME, EchoReader, handshakeRequest, makeMessage, openMany } from './wire.mjs';
import { readCpuTicks, readRss, readSyscalls, TICK_MS } from './proc.mjs';

// The generator must never be the bottleneck. Its socket reads go into one reused buffer (READ_BUFFER below);
// when they were 64 KiB Buffers from glibc's malloc, which by default returns freed memory at the top of the
// heap to the kernel (trim threshold 128 KiB) and maps it in again page by page, they cost 3.7 page faults per
// echoed 64 KiB message and put the generator at 91-93% of its core in some runs. What still allocates per
// echo (the inflated copy of a compressed echo, up to 64 KiB) is kept from that the same way: one large block
// freed at start raises glibc's mmap threshold to its size and the trim threshold to twice that (as
// `@sansws/node` does for its message buffers).
Buffer.allocUnsafeSlow(16 * 1024 * 1024);

/**
 * @typedef {object} CellCommand
 * @property {'cell'} op
 * @property {number} port
 * @property {number} serverPid
 * @property {number} conns
 * @property {number} inflight
 * @property {number} size
 * @property {'text' | 'binary'} type
 * @property {boolean} compress
 * @property {boolean} raw the server is a raw TCP echo
 * @property {boolean} [countsIo] /proc/<pid>/io counts the server's socket reads and writes (Node's; Bun and
 *   Deno use recv and send, which it does not count: see readSyscalls)
 * @property {number} warmupMs
 * @property {number} windowMs
 */

/**
 * Where every socket of the generator reads into (node's `onread`): one buffer for all of them, reused by
 * every read, instead of a new 64 KiB Buffer per read and node's stream machinery around each. The
 * generator is single-threaded and each read is consumed before the next: the echo reader copies whatever
 * it keeps (a split header, control frames, compressed frames), and the handshake copies what it reads.
 */
const READ_BUFFER = Buffer.allocUnsafeSlow(256 * 1024);

/**
 * A connected socket of the generator: its bytes go to `read` (a view of {@link READ_BUFFER}, valid only
 * during the call), which the handshake sets first; after it, they are kept in `early` until the cell or the
 * idle connection takes the connection ({@link attach}).
 * @typedef {object} Connection
 * @property {net.Socket} socket
 * @property {(bytes: Buffer) => void} read
 * @property {Buffer[]} early
 */

/**
 * Hands a connection's bytes to `read`: first what arrived after the handshake's response, then every read.
 * @param {Connection} connection
 * @param {(bytes: Buffer) => void} read
 */
function attach(connection, read) {
  const early = connection.early;
  connection.early = [];
  connection.read = read;
  for (const bytes of early) read(bytes);
}

/**
 * One connection: handshake, then the reader.
 * @param {number} port
 * @param {boolean} compress
 * @param {boolean} raw
 * @returns {Promise<{ connection: Connection, deflate: boolean }>}
 */
function connect(port, compress, raw) {
  return new Promise((resolve, reject) => {
    /** @type {Connection} */
    const connection = {
      socket: net.connect({
        host: '127.0.0.1',
        port,
        noDelay: true,
        onread: {
          buffer: READ_BUFFER,
          callback: (n) => {
            connection.read(READ_BUFFER.subarray(0, n));
            return true; // keep reading (false would pause the socket)
          },
        },
      }),
      read: () => {},
      early: [],
    };
    const socket = connection.socket;
    /** @type {Buffer[]} */
    const got = [];
    const timer = setTimeout(() => fail(new Error('handshake timed out (10 s)')), 10_000);
    /** @param {Error} error */
    const fail = (error) => {
      clearTimeout(timer);
      connection.read = () => {};
      socket.destroy();
      reject(error);
    };
    socket.on('error', fail);
    socket.on('connect', () => socket.write(handshakeRequest(port, compress)));
    connection.read = (bytes) => {
      got.push(Buffer.from(bytes));
      const all = Buffer.concat(got);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) {
        if (all.length > 16384) fail(new Error('response head too long'));
        return;
      }
      clearTimeout(timer);
      const rest = all.subarray(end + 4);
      if (rest.length > 0) connection.early.push(rest);
      connection.read = (more) => connection.early.push(Buffer.from(more));
      socket.off('error', fail);
      try {
        const { deflate } = checkResponse(all.subarray(0, end).toString('latin1'), raw);
        resolve({ connection, deflate });
      } catch (error) {
        fail(/** @type {Error} */ (error));
      }
    };
  });
}

/**
 * @template T
 * @param {Promise<T>} promise
 * @param {number} ms
 * @param {string} what
 * @returns {Promise<T>}
 */
function within(promise, ms, what) {
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * @param {Float64Array} samples
 * @param {number} n
 * @param {number} q
 */
function quantile(samples, n, q) {
  if (n === 0) return null;
  const sorted = samples.slice(0, n).sort();
  return sorted[Math.min(n - 1, Math.floor(q * n))] ?? null;
}

/**
 * Gracefully closes sockets (close frame + FIN), then destroys what is left after `ms`.
 * @param {net.Socket[]} sockets
 * @param {number} ms
 */
async function closeAll(sockets, ms) {
  const closed = sockets.map((socket) =>
    new Promise((resolve) => {
      if (socket.destroyed) return resolve(undefined);
      socket.once('close', resolve);
      socket.write(CLOSE_FRAME);
      socket.end();
    })
  );
  await Promise.race([Promise.all(closed), sleep(ms)]);
  for (const socket of sockets) socket.destroy();
}

/**
 * @param {CellCommand} c
 */
async function runCell(c) {
  const message = makeMessage(c.size, c.type, c.compress);
  const frameLength = message.frame.length;
  const batch = Buffer.concat(Array.from({ length: c.inflight }, () => message.frame));
  const latency = c.conns === 1 && c.inflight === 1;
  const rtts = new Float64Array(latency ? 2_000_000 : 0);
  let rttCount = 0;
  let sentAt = 0;
  let measuring = false;
  let sending = true;
  let echoes = 0;
  let outstandingConns = 0;
  /** @type {Error | null} */
  let failure = null;
  /** @type {() => void} */
  let onDrained = () => {};
  /** @type {net.Socket[]} */
  const sockets = [];
  try {
    const opened = await within(
      openMany(c.conns, 100, () => connect(c.port, c.compress, c.raw)),
      20_000,
      `opening ${c.conns} connections`,
    );
    for (const { connection } of opened) sockets.push(connection.socket);
    if (c.compress && opened.some((o) => !o.deflate)) {
      throw new Error('the server declined permessage-deflate');
    }
    for (const { connection } of opened) {
      const socket = connection.socket;
      let outstanding = c.inflight;
      outstandingConns++;
      const reader = new EchoReader(message, c.raw, (k) => {
        if (measuring) echoes += k;
        if (latency) {
          const now = performance.now();
          if (measuring && rttCount < rtts.length) rtts[rttCount++] = now - sentAt;
        }
        if (sending) {
          if (latency) sentAt = performance.now();
          socket.write(k === c.inflight ? batch : batch.subarray(0, k * frameLength));
        } else {
          outstanding -= k;
          if (outstanding === 0 && --outstandingConns === 0) onDrained();
        }
      }, (frame) => socket.write(frame));
      attach(connection, (chunk) => {
        try {
          reader.push(chunk);
        } catch (error) {
          failure ??= /** @type {Error} */ (error);
          for (const s of sockets) s.destroy();
          onDrained();
        }
      });
      socket.on('error', (error) => {
        failure ??= error;
        onDrained();
      });
      socket.on('close', () => {
        if (sending || outstanding > 0) {
          failure ??= new Error('the server closed a connection during the cell');
          onDrained();
        }
      });
    }
    // Start: fill every pipeline.
    sentAt = performance.now();
    for (const socket of sockets) socket.write(batch);
    await sleep(c.warmupMs);
    if (failure) throw failure;
    measuring = true;
    const cpu0 = readCpuTicks(c.serverPid);
    const calls0 = c.countsIo ? readSyscalls(c.serverPid) : null;
    const load0 = process.cpuUsage();
    const loadFaults0 = process.resourceUsage().minorPageFault;
    const t0 = performance.now();
    await sleep(c.windowMs);
    const t1 = performance.now();
    const count = echoes;
    const cpu1 = readCpuTicks(c.serverPid);
    const calls1 = c.countsIo ? readSyscalls(c.serverPid) : null;
    const load1 = process.cpuUsage(load0);
    const loadFaults = process.resourceUsage().minorPageFault - loadFaults0;
    const rss = readRss(c.serverPid);
    const rttN = rttCount;
    measuring = false;
    sending = false;
    if (failure) throw failure;
    // Drain: every outstanding echo must still arrive (and is still checked).
    const drained = new Promise((resolve) => {
      onDrained = () => resolve(undefined);
    });
    if (outstandingConns > 0) await within(drained, 30_000, 'draining outstanding echoes');
    if (failure) throw failure;
    const seconds = (t1 - t0) / 1000;
    const serverCpuMs = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) * TICK_MS;
    const loadCpuMs = (load1.user + load1.system) / 1000;
    return {
      ok: true,
      messages: count,
      seconds,
      msgPerSec: count / seconds,
      mibPerSec: (count * c.size) / seconds / 1048576,
      p50Us: latency ? (quantile(rtts, rttN, 0.5) ?? 0) * 1000 : null,
      p99Us: latency ? (quantile(rtts, rttN, 0.99) ?? 0) * 1000 : null,
      serverCpuMs,
      serverCpuUsPerMsg: count > 0 ? (serverCpuMs * 1000) / count : null,
      serverCpuPct: (serverCpuMs / (t1 - t0)) * 100,
      // Fresh pages mapped in: ~0 when the allocator reuses memory, 1+ per message when glibc keeps returning
      // and re-faulting it (rounds 3 and 4 of docs/performance-log.md), which decides a large-message cell.
      serverFaultsPerMsg: count > 0 ? (cpu1.minorFaults - cpu0.minorFaults) / count : null,
      // Socket reads and writes per echo (with the server's other system calls of those kinds); Node only.
      serverReadsPerMsg: count > 0 && calls0 && calls1 ? (calls1.reads - calls0.reads) / count : null,
      serverWritesPerMsg: count > 0 && calls0 && calls1 ? (calls1.writes - calls0.writes) / count : null,
      loadCpuPct: (loadCpuMs / (t1 - t0)) * 100,
      loadFaultsPerMsg: count > 0 ? loadFaults / count : null,
      serverRssBytes: rss,
    };
  } catch (error) {
    return { ok: false, error: String(/** @type {Error} */ (error).message ?? error) };
  } finally {
    sending = false;
    await closeAll(sockets, 2000);
  }
}

/** @type {net.Socket[]} */
let idle = [];

/**
 * @param {number} port
 * @param {number} count
 * @param {boolean} raw the server is a raw TCP echo
 */
async function openIdle(port, count, raw) {
  const one = async () => {
    const { connection } = await connect(port, false, raw);
    const socket = connection.socket;
    idle.push(socket);
    const message = makeMessage(16, 'binary', false);
    await new Promise((resolve, reject) => {
      const reader = new EchoReader(message, raw, () => resolve(undefined), (f) => socket.write(f));
      socket.once('error', reject);
      attach(connection, (chunk) => {
        try {
          reader.push(chunk);
        } catch (error) {
          reject(error);
        }
      });
      socket.write(message.frame);
    });
    connection.read = () => {};
    socket.on('error', () => {});
  };
  try {
    await within(openMany(count, 200, one), 120_000, `opening ${count} idle connections`);
    return { ok: true, opened: idle.length };
  } catch (error) {
    return { ok: false, opened: idle.length, error: String(/** @type {Error} */ (error).message ?? error) };
  }
}

process.on('message', (/** @type {any} */ command) => {
  /** @type {Promise<unknown>} */
  let work;
  if (command.op === 'cell') work = runCell(command);
  else if (command.op === 'idle') work = openIdle(command.port, command.count, command.raw === true);
  else if (command.op === 'closeIdle') {
    const sockets = idle;
    idle = [];
    work = closeAll(sockets, 3000).then(() => ({ ok: true }));
  } else {
    process.exit(0);
  }
  work.then((result) => process.send?.({ id: command.id, result }));
});
process.on('disconnect', () => process.exit(0));
