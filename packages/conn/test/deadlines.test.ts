/**
 * Deadlines: many owners' deadlines behind one timer of a virtual clock. Each fires once, in time order,
 * with its own time; removed ones never fire; one runtime timer at most is armed.
 */

import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Deadline, Deadlines } from '../src/deadlines.ts';
import { openPair, VirtualClock } from './memory.ts';

type Op =
  | { readonly kind: 'add'; readonly offset: number }
  | { readonly kind: 'remove'; readonly pick: number }
  | { readonly kind: 'advance'; readonly ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), offset: fc.integer({ min: 0, max: 100 }) }),
  fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 60 }) }),
);

describe('Deadlines', () => {
  it('fires every deadline once, in time order, at its time; removed ones never; one timer at most', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
        const clock = new VirtualClock();
        const fired: Array<{ owner: number; at: number; now: number }> = [];
        const deadlines = new Deadlines<number>(
          clock,
          (owner, at) => fired.push({ owner, at, now: clock.now() }),
        );
        const live = new Map<number, Deadline<number>>();
        const expected = new Map<number, number>();
        let next = 0;
        for (const step of ops) {
          if (step.kind === 'add') {
            const owner = next++;
            live.set(owner, deadlines.add(owner, clock.now() + step.offset));
            expected.set(owner, clock.now() + step.offset);
          } else if (step.kind === 'remove') {
            const owners = [...live.keys()];
            if (owners.length === 0) continue;
            const owner = owners[step.pick % owners.length]!;
            deadlines.remove(live.get(owner)!);
            deadlines.remove(live.get(owner)!); // twice: a no-op
            live.delete(owner);
            expected.delete(owner);
          } else {
            await clock.advance(step.ms);
            for (const { owner } of fired) live.delete(owner);
          }
          expect(clock.pending).toBeLessThanOrEqual(1);
        }
        await clock.advance(1000);
        expect(clock.pending).toBe(0);
        expect(fired.map((f) => f.owner).sort((a, b) => a - b)).toEqual(
          [...expected.keys()].sort((a, b) => a - b),
        );
        for (const f of fired) {
          expect(f.at).toBe(expected.get(f.owner));
          expect(f.now).toBeGreaterThanOrEqual(f.at);
        }
        for (let i = 1; i < fired.length; i++) expect(fired[i]!.at).toBeGreaterThanOrEqual(fired[i - 1]!.at);
      }),
      { numRuns: 300 },
    );
  });

  it('connections on one clock keep their keepalive deadlines behind one timer, and none once closed', async () => {
    const { server, client, clock } = await openPair({ pingInterval: 30_000 }, { pingInterval: 20_000 });
    expect(clock.pending).toBe(1);
    await client.writeMessage('text', 'hi');
    expect(await server.readMessage()).toEqual({ type: 'text', data: 'hi' });
    expect(clock.pending).toBe(1);
    await clock.advance(45_000); // both keepalives pinged and were answered
    expect(server.state).toBe('open');
    expect(clock.pending).toBe(1);
    await client.close();
    await clock.advance(0);
    expect(clock.pending).toBe(0);
  });
});
