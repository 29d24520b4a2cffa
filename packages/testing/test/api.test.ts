/** The public surface of both entry points, and the runtime-neutrality of the main one. */

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('public API', () => {
  it('@sansws/testing exports exactly the documented names', async () => {
    expect(Object.keys(await import('../src/mod.ts')).sort()).toMatchInlineSnapshot(`
      [
        "FrameReader",
        "INVALID_KINDS",
        "MemoryTransport",
        "Opcode",
        "SIZE_CLASSES",
        "VirtualClock",
        "acceptKey",
        "badHandshakeRequests",
        "badHandshakeResponses",
        "chunkings",
        "closeCodes",
        "closePayload",
        "closeReasons",
        "decodeFrames",
        "deflateMessage",
        "describeBytes",
        "describeFrame",
        "describeFrames",
        "encodeFrame",
        "encodeFrames",
        "frame",
        "handshakeRequests",
        "handshakeResponses",
        "invalidCloseCodes",
        "invalidFrames",
        "messages",
        "payloadSizes",
        "pipe",
        "settle",
        "traffic",
        "validFrames",
      ]
    `);
  });

  it('@sansws/testing/fuzz exports exactly the documented names', async () => {
    expect(Object.keys(await import('../src/fuzz.ts')).sort()).toMatchInlineSnapshot(`
      [
        "FuzzTargetError",
        "describeScenario",
        "formatDeviation",
        "formatReport",
        "fuzz",
        "resolveTarget",
        "scenarioCase",
        "scenarios",
        "sequenceSeed",
      ]
    `);
  });

  it('the main entry point imports no node: module (only fuzz.ts, command.ts and cli.ts do)', () => {
    for (
      const file of [
        'mod.ts',
        'accept.ts',
        'arbitraries.ts',
        'deflate.ts',
        'frames.ts',
        'memory.ts',
        'pipe.ts',
      ]
    ) {
      const source = readFileSync(new URL(`../src/${file}`, import.meta.url), 'utf8');
      expect(source, file).not.toMatch(/from ['"]node:|\bprocess\.|\bBuffer\b/);
    }
  });
});
