// @ts-check
/**
 * Process accounting from Linux's /proc: CPU time (user and system, the whole process with all its
 * threads) and resident memory.
 *
 * @module
 */

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Milliseconds per clock tick of /proc/<pid>/stat (USER_HZ, 100 on Linux: 10 ms). */
export const TICK_MS = 1000 /
  Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim() || 100);

/**
 * utime and stime of a process, in clock ticks (fields 14 and 15 of /proc/<pid>/stat; the command name in
 * field 2 may contain spaces, so fields are counted after its closing parenthesis), and its minor page
 * faults so far (field 10: pages the kernel had to map in, e.g. fresh memory from the allocator).
 * @param {number} pid
 * @returns {{ user: number, system: number, minorFaults: number }}
 */
export function readCpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]), system: Number(fields[12]), minorFaults: Number(fields[7]) };
}

/**
 * The read and write system calls a process made so far (syscr and syscw of /proc/<pid>/io: read, readv,
 * write, writev and the like), or null where /proc/<pid>/io cannot be read. Per echo they show how a server
 * batches its socket I/O: one writev per read of 64 pipelined messages, or one write per message. Linux
 * counts only the file system calls there, not recv/send and their kin: Node's libuv reads and writes with
 * the former, Bun and Deno with the latter (so the load generator reads these for Node servers only).
 * @param {number} pid
 * @returns {{ reads: number, writes: number } | null}
 */
export function readSyscalls(pid) {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'latin1');
    const reads = /syscr:\s+(\d+)/.exec(io);
    const writes = /syscw:\s+(\d+)/.exec(io);
    return reads && writes ? { reads: Number(reads[1]), writes: Number(writes[1]) } : null;
  } catch {
    return null;
  }
}

/**
 * Resident set size in bytes (VmRSS of /proc/<pid>/status), or null when the process is gone.
 * @param {number} pid
 * @returns {number | null}
 */
export function readRss(pid) {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** {@link waitQuiet}'s defaults: how long every server must be quiet, and the longest wait. */
export const QUIET_MS = 50;
export const QUIET_MAX_MS = 3000;

/**
 * Waits until none of `pids` has used CPU for `quietMs` (the sum of their utime and stime unchanged between
 * two reads that far apart; /proc counts in whole ticks, so "unchanged" means under one tick in that time),
 * or until `maxMs` have passed. Resolves with the milliseconds waited and whether they were quiet by then.
 *
 * The harness runs every server of a cell on the same core, one after another: a server that is still busy
 * after its window (closing a hundred connections, a major GC, giving memory back) takes its CPU time from
 * the next server's window, and that is always the same server, the one next in the order.
 * @param {readonly number[]} pids
 * @param {number} [quietMs]
 * @param {number} [maxMs]
 * @returns {Promise<{ waitedMs: number, quiet: boolean }>}
 */
export async function waitQuiet(pids, quietMs = QUIET_MS, maxMs = QUIET_MAX_MS) {
  const total = () => {
    let ticks = 0;
    for (const pid of pids) {
      try {
        const t = readCpuTicks(pid);
        ticks += t.user + t.system;
      } catch {
        // gone: it uses no CPU
      }
    }
    return ticks;
  };
  const start = performance.now();
  let before = total();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    const now = total();
    const waitedMs = performance.now() - start;
    if (now === before) return { waitedMs, quiet: true };
    if (waitedMs >= maxMs) return { waitedMs, quiet: false };
    before = now;
  }
}
