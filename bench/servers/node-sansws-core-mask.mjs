// @ts-check
/**
 * The Node sansws echo server of `node-sansws.mjs` with the core's own masking (`mask: undefined`)
 * instead of bufferutil's: `node bench/ab-node.mjs --script-a bench/servers/node-sansws-core-mask.mjs …`
 * sets the two against each other in one checkout.
 */

process.env['BENCH_CORE_MASK'] = '1';
await import('./node-sansws.mjs');
