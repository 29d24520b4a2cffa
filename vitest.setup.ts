/**
 * Test-wide equality: the core's text events are class instances with a lazily decoded `data` getter;
 * compare them with plain `{ type: 'text', data }` objects by their content.
 */

import { expect } from 'vitest';

function isLazyText(value: unknown): value is { type: 'text'; data: string } {
  return typeof value === 'object' && value !== null && value.constructor?.name === 'LazyTextEvent';
}

function plain(value: unknown): unknown {
  return isLazyText(value) ? { type: 'text', data: value.data } : value;
}

expect.addEqualityTesters([
  function lazyTextEvents(
    this: { equals: (a: unknown, b: unknown, testers: unknown[]) => boolean },
    a,
    b,
    testers,
  ) {
    if (!isLazyText(a) && !isLazyText(b)) return undefined;
    return this.equals(plain(a), plain(b), testers as unknown[]);
  },
]);
