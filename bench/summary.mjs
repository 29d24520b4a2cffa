// @ts-check
/**
 * Prints the summary of a full run that docs/performance.md gives (ranges by group of cells, the ratio
 * tables of both echoes, idle memory), as Markdown, from a results.json of `bench/run.mjs`:
 *
 *   node bench/summary.mjs [bench/results/results.json]
 *
 * @module
 */

import { readFileSync } from 'node:fs';
import { renderSummary } from './lib/report.mjs';

const file = process.argv[2] ?? new URL('./results/results.json', import.meta.url).pathname;
process.stdout.write(renderSummary(JSON.parse(readFileSync(file, 'utf8'))));
