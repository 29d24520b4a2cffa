/**
 * The public surface and its documentation: the export list is snapshotted (a new export is a decision),
 * the core has no dependencies, and docs/core.md's state table equals the transition table.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as core from '../src/mod.ts';
import { TRANSITIONS } from '../src/states.ts';

const root = new URL('../../../', import.meta.url);

describe('public API', () => {
  it('exports exactly the documented names', () => {
    expect(Object.keys(core).sort()).toMatchInlineSnapshot(`
      [
        "ClientConnection",
        "Connection",
        "HandshakeError",
        "PreparedMessage",
        "ProtocolError",
        "RequestHeadParser",
        "ServerConnection",
        "UsageError",
        "Utf8Validator",
        "WebSocketError",
        "acceptRequest",
        "checkSameOrigin",
        "computeAccept",
        "getHeader",
        "getHeaderValues",
        "isValidUtf8",
        "parseWebSocketUrl",
        "rejectResponse",
        "serializeResponse",
      ]
    `);
  });
  it('the core package has no dependencies', () => {
    const pkg = JSON.parse(readFileSync(new URL('packages/core/package.json', root), 'utf8'));
    expect(pkg.dependencies ?? {}).toEqual({});
  });
  it('docs/core.md shows the transition table of states.ts', () => {
    const doc = readFileSync(new URL('docs/core.md', root), 'utf8');
    const table = doc.split('<!-- transitions:start -->')[1]!.split('<!-- transitions:end -->')[0]!;
    const rows = table.trim().split('\n').slice(2).map((line) =>
      line.split('|').map((c) => c.trim()).filter(Boolean)
    );
    const fromDoc = Object.fromEntries(rows.map(([from, to]) => [from, to === '—' ? [] : to!.split(', ')]));
    expect(fromDoc).toEqual(TRANSITIONS);
  });
  it('the core source uses no runtime globals, node: imports or timers', () => {
    for (const file of readdirSync(new URL('packages/core/src/', root))) {
      const source = readFileSync(new URL(`packages/core/src/${file}`, root), 'utf8');
      expect(source).not.toMatch(/from ['"]node:|\bDeno\.|\bBun\.|setTimeout|setInterval|process\./);
    }
  });
});
