/**
 * The package's entry points: `@sansws/core` must not load permessage-deflate, which lives in
 * `@sansws/core/deflate`, so that a program that never compresses neither loads nor bundles it.
 */

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as deflateEntry from '../src/deflate-entry.ts';
import * as main from '../src/mod.ts';

const src = join(dirname(fileURLToPath(import.meta.url)), '../src');

/** The modules `entry` loads at run time: imports and re-exports that are not `import type`/`export type`. */
function runtimeGraph(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(join(src, file), 'utf8');
    for (const match of text.matchAll(/^(import|export)\s+(type\s+)?[^;]*?from\s+'\.\/([^']+)';/gms)) {
      if (match[2] === undefined) visit(match[3]!);
    }
  };
  visit(entry);
  return seen;
}

describe('entry points', () => {
  it('the main entry does not load the permessage-deflate modules', () => {
    const graph = runtimeGraph('mod.ts');
    expect(graph).toContain('connection.ts');
    expect(graph).not.toContain('deflate.ts');
    expect(graph).not.toContain('extensions.ts');
    expect(graph).not.toContain('deflate-entry.ts');
  });
  it('the deflate entry loads them and makes both halves', () => {
    expect(runtimeGraph('deflate-entry.ts')).toContain('deflate.ts');
    expect(Object.keys(deflateEntry).sort()).toEqual(['clientPerMessageDeflate', 'serverPerMessageDeflate']);
    expect(Object.keys(main)).not.toContain('serverPerMessageDeflate');
  });
});
