/** The whole case list, in Autobahn's order, and selection by pattern (`1.*,6.4.*`). */

import type { CaseDef, Mode } from '../case.ts';
import { closeCases } from './close.ts';
import { compressionCases } from './compression.ts';
import { fragmentationCases } from './fragmentation.ts';
import { framingCases } from './framing.ts';
import { autoFragmentationCases, limitCases } from './limits.ts';
import { pingCases } from './pings.ts';
import { opcodeCasesAll, reservedBitCases } from './reserved.ts';
import { utf8Cases } from './utf8.ts';

/** Section titles, as Autobahn's `CaseCategories`. */
export const CATEGORIES: Record<string, string> = {
  '1': 'Framing',
  '2': 'Pings/Pongs',
  '3': 'Reserved Bits',
  '4': 'Opcodes',
  '5': 'Fragmentation',
  '6': 'UTF-8 Handling',
  '7': 'Close Handling',
  '9': 'Limits/Performance',
  '10': 'Misc',
  '12': 'WebSocket Compression (different payloads)',
  '13': 'WebSocket Compression (different parameters)',
};

/** Every case of a mode, in order. */
export function allCases(mode: Mode): CaseDef[] {
  return [
    ...framingCases,
    ...pingCases,
    ...reservedBitCases,
    ...opcodeCasesAll,
    ...fragmentationCases,
    ...utf8Cases,
    ...closeCases,
    ...limitCases(mode),
    ...autoFragmentationCases,
    ...compressionCases(mode),
  ];
}

function toRegExp(pattern: string): RegExp {
  const source = pattern.trim().replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${source}$`);
}

/**
 * The cases whose ids match any of `include` (all when empty) and none of `exclude`. Patterns are ids with
 * `*` wildcards: `1.*`, `6.4.*`, `9.1.1`.
 */
export function selectCases(
  mode: Mode,
  include: readonly string[] = [],
  exclude: readonly string[] = [],
): CaseDef[] {
  const inc = include.filter((p) => p.trim() !== '').map(toRegExp);
  const exc = exclude.filter((p) => p.trim() !== '').map(toRegExp);
  return allCases(mode).filter((c) =>
    (inc.length === 0 || inc.some((r) => r.test(c.id))) && !exc.some((r) => r.test(c.id))
  );
}
