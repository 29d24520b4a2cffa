/** Small domain assertions: the suite runs under vitest, `bun test` and `deno test` without their APIs. */

export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

function show(value: unknown): string {
  if (value instanceof Uint8Array) return `Uint8Array(${value.length})`;
  if (typeof value === 'string' && value.length > 80) return JSON.stringify(value.slice(0, 80)) + '…';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export function ok(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

export function equal<T>(actual: T, expected: T, what: string): void {
  if (!Object.is(actual, expected)) {
    throw new AssertionError(`${what}: expected ${show(expected)}, got ${show(actual)}`);
  }
}

export function bytesEqual(actual: Uint8Array, expected: Uint8Array, what: string): void {
  equal(actual.length, expected.length, `${what} (length)`);
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) throw new AssertionError(`${what}: bytes differ at offset ${i}`);
  }
}

/** Checks the listed fields of an object (an error, a close info). */
export function fields(actual: unknown, expected: Record<string, unknown>, what: string): void {
  ok(typeof actual === 'object' && actual !== null, `${what}: expected an object, got ${show(actual)}`);
  for (const [key, value] of Object.entries(expected)) {
    equal((actual as Record<string, unknown>)[key], value, `${what}.${key}`);
  }
}

/** Awaits a promise that must reject, and returns the reason. */
export async function rejection(promise: Promise<unknown>, what: string): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new AssertionError(`${what}: expected a rejection, but it resolved`);
}
