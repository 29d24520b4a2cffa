/**
 * What an idle engine keeps: after a message has been received and its events taken, an open server
 * engine holds no more heap than one that never received anything (no spent chunk list, no emptied event
 * or output list with a backing store of its own). Measured on V8 with `heapUsed` around full GCs over many
 * engines, so that one engine's few dozen bytes stand out of the heap's own noise.
 */

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { ServerConnection } from '../src/mod.ts';
import { frame, openServer } from './helpers.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapUsed(): number {
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage().heapUsed;
}

/** Heap per engine of `n` open server engines, each passed through `use` first. */
function heapPerEngine(n: number, use: (engine: ServerConnection) => void): number {
  const before = heapUsed();
  const engines: ServerConnection[] = [];
  for (let i = 0; i < n; i++) {
    const engine = openServer();
    use(engine);
    engines.push(engine);
  }
  const after = heapUsed();
  expect(engines.length).toBe(n);
  return (after - before) / n;
}

const MESSAGE = frame({ opcode: 2, payload: new Uint8Array(16).fill(1), mask: Uint8Array.of(1, 2, 3, 4) });

describe('idle engine memory', () => {
  it('an engine that received a message and gave out its events holds no more than a fresh one', () => {
    const receive = (engine: ServerConnection): void => {
      engine.receiveData(MESSAGE.slice());
      expect(engine.takeEvents().length).toBe(1);
      engine.takeOutput();
    };
    const idle = (): void => {};
    // Warm-up, so that module tables, compiled code and V8's per-class bookkeeping are not counted.
    heapPerEngine(1_000, idle);
    heapPerEngine(1_000, receive);
    const n = 10_000;
    const fresh = heapPerEngine(n, idle);
    const used = heapPerEngine(n, receive);
    // With the spent chunk list's backing store kept (`shift()`): 108–129 B more; without it, −18 to −6 B.
    expect(used - fresh).toBeLessThan(48);
  });
});
