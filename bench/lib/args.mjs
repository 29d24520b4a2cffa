// @ts-check
/**
 * Command-line options of the single-cell tools (`bench/profile.mjs`, `bench/cell.mjs`).
 *
 * @module
 */

const argv = process.argv.slice(2);

/**
 * The value after `--name`, or `fallback`.
 * @param {string} name
 * @param {string} fallback
 */
export function option(name, fallback) {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] ?? fallback : fallback;
}

/** Whether `--name` was given. @param {string} name */
export const flag = (name) => argv.includes(name);

/**
 * The cell: `--size` (bytes), `--conns`, `--inflight`, `--type binary|text`, `--compress`, `--seconds`
 * (at most 60).
 * @param {{ size: string, inflight: string, seconds: string }} defaults
 */
export function cellOptions(defaults) {
  return {
    size: Number(option('--size', defaults.size)),
    conns: Number(option('--conns', '1')),
    inflight: Number(option('--inflight', defaults.inflight)),
    type: /** @type {'binary' | 'text'} */ (option('--type', 'binary') === 'text' ? 'text' : 'binary'),
    compress: flag('--compress'),
    seconds: Math.min(Number(option('--seconds', defaults.seconds)), 60),
  };
}
