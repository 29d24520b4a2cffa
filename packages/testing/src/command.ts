/**
 * The `sansws-fuzz` command, as a function ({@link runCli}) so that it can be tested without a process:
 * `sansws-fuzz ws://127.0.0.1:PORT/path [--seed N] [--connections N] [--sequences N] [--time S]
 * [--timeout MS] [--allow-host HOST]… [--kinds traffic,hostile,handshake] [--no-compression] [--no-shrink]
 * [--json]`: fuzzes a WebSocket server and prints every deviation. Exits 1 when an error was found, 2 on a
 * usage error, 0 otherwise (warnings alone do not fail).
 *
 * @module
 */

import { formatReport, fuzz, type FuzzOptions, FuzzTargetError, type ScenarioKind } from './fuzz.ts';

const USAGE = `usage: sansws-fuzz ws://127.0.0.1:PORT/path [options]

  --seed N           seed of the run (default random; printed)
  --connections N    connections at once (default 8)
  --sequences N      sequences, one connection each (default 1000)
  --time S           longest run in seconds, shrinking included (default 60)
  --timeout MS       longest wait for an answer (default 2000)
  --allow-host HOST  allow a host that is not loopback (repeatable)
  --kinds LIST       scenario kinds: traffic,hostile,handshake (default all)
  --max-size BYTES   largest message (default 65536)
  --no-compression   never offer permessage-deflate
  --no-shrink        do not shrink failures
  --json             print the report as JSON
`;

/** A usage error: the message is printed with the usage, and the exit code is 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

function fail(message: string): never {
  throw new UsageError(message);
}

/** Parses the command line into fuzz options. */
export function parseArgs(argv: readonly string[]): FuzzOptions & { json: boolean; help: boolean } {
  let url: string | undefined;
  const allowHosts: string[] = [];
  const options: { -readonly [K in keyof FuzzOptions]?: FuzzOptions[K] } = {};
  let json = false;
  let help = false;
  const number = (flag: string, value: string | undefined, min = 0): number => {
    const n = Number(value);
    if (value === undefined || value.trim() === '' || !Number.isFinite(n) || n < min) {
      fail(`${flag} needs a number${min === 0 ? ' (0 or more)' : ''}`);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=')
      ? arg.split(/=(.*)/s, 2) as [string, string]
      : [arg, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--seed':
        // Any 32-bit integer: the seeds the fuzzer prints in its reproduce lines are negative half the time.
        options.seed = number(flag, value(), -(2 ** 31)) | 0;
        break;
      case '--connections':
        options.connections = number(flag, value());
        break;
      case '--sequences':
        options.sequences = number(flag, value());
        break;
      case '--time':
        options.time = number(flag, value());
        break;
      case '--timeout':
        options.timeout = number(flag, value());
        break;
      case '--max-size':
        options.maxSize = number(flag, value());
        break;
      case '--allow-host': {
        const host = value();
        if (host === undefined) fail('--allow-host needs a host');
        allowHosts.push(host);
        break;
      }
      case '--kinds': {
        const kinds: Partial<Record<ScenarioKind, number>> = {};
        for (const kind of (value() ?? '').split(',')) {
          if (kind === 'traffic' || kind === 'hostile' || kind === 'handshake') {
            kinds[kind] = kind === 'handshake' ? 1 : 4;
          } else fail(`unknown kind ${JSON.stringify(kind)}`);
        }
        options.kinds = kinds;
        break;
      }
      case '--no-compression':
        options.compression = false;
        break;
      case '--no-shrink':
        options.shrink = false;
        break;
      case '--json':
        json = true;
        break;
      case '--help':
      case '-h':
        help = true;
        break;
      default:
        if (flag.startsWith('-') || url !== undefined) fail(`unexpected argument ${JSON.stringify(arg)}`);
        url = arg;
    }
  }
  if (url === undefined && !help) fail('a ws:// URL is required');
  return { ...options, url: url ?? '', allowHosts, json, help };
}

/** Where {@link runCli} writes. */
export interface CliOutput {
  write(text: string): unknown;
}

/**
 * Runs `sansws-fuzz` with `argv` (without the program name). Resolves with the exit code: 1 when an error
 * was found, 2 on a usage error or a refused target, 0 otherwise (warnings alone do not fail).
 */
export async function runCli(argv: readonly string[], stdout: CliOutput, stderr: CliOutput): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    stderr.write(`sansws-fuzz: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  const { json, help, ...options } = parsed;
  if (help) {
    stdout.write(USAGE);
    return 0;
  }
  try {
    const report = await fuzz(
      json ? options : {
        ...options,
        onDeviation: (d) => {
          if (d.severity === 'error') stderr.write(`${d.kind} [${d.case}] seed ${d.seed}: ${d.message}\n`);
        },
      },
    );
    stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
    return report.deviations.some((d) => d.severity === 'error') ? 1 : 0;
  } catch (error) {
    if (!(error instanceof FuzzTargetError)) throw error;
    stderr.write(`sansws-fuzz: ${error.message}\n`);
    return 2;
  }
}
