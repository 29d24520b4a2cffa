/**
 * The fuzz runner against real servers on loopback: our Node adapter's echo server and the npm `ws`
 * package's (a peer no one here wrote), with and without permessage-deflate; servers broken on purpose,
 * to show that each kind of deviation is caught; the loopback rule; and the command line.
 */

import { once } from 'node:events';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { parseArgs, runCli } from '../src/command.ts';
import { type Deviation, formatReport, fuzz, type FuzzReport, resolveTarget } from '../src/fuzz.ts';
import { childEchoServer, type EchoServer, sanswsEchoServer, wsEchoServer } from './servers.ts';

// Issue 7: a few thousand sequences per adapter in CI (1500 per setting, with and without deflate).
const SEQUENCES = Number(process.env.SANSWS_FUZZ_SEQUENCES ?? 1500);

const groups = (report: FuzzReport) =>
  [...new Set(report.deviations.map((d) => `${d.kind} [${d.case}]`))].sort();

/** Runs the fuzzer, and prints its report when it found something (the test decides whether that fails). */
async function run(url: string, options: Partial<Parameters<typeof fuzz>[0]> = {}): Promise<FuzzReport> {
  const report = await fuzz({
    url,
    seed: 20240611,
    sequences: SEQUENCES,
    time: 60,
    timeout: 1000,
    ...options,
  });
  if (report.deviations.length > 0 && process.env.SANSWS_FUZZ_VERBOSE) console.log(formatReport(report));
  return report;
}

describe('against @sansws/node (listen with an echo handler)', () => {
  for (const compression of [false, true]) {
    it(
      `finds no deviation${compression ? ' with permessage-deflate' : ''}`,
      { timeout: 90_000 },
      async () => {
        const server = await sanswsEchoServer(compression);
        try {
          const report = await run(server.url);
          expect(formatReport(report)).toContain('0 error(s), 0 warning(s)');
          expect(report.sequences).toBe(SEQUENCES);
          expect(report.stats.messagesReceived).toBeGreaterThan(SEQUENCES / 4);
          if (compression) expect(report.stats.compressedSent).toBeGreaterThan(50);
          else expect(report.stats.compressed).toBe(0);
        } finally {
          await server.close();
        }
      },
    );
  }
});

describe('against @sansws/bun and @sansws/deno (listen with an echo handler, in their own runtimes)', () => {
  for (const runtime of ['bun', 'deno'] as const) {
    for (const compression of [false, true]) {
      it(`${runtime}: finds no deviation${compression ? ' with permessage-deflate' : ''}`, {
        timeout: 90_000,
      }, async () => {
        const server = await childEchoServer(runtime, compression);
        try {
          const report = await run(server.url);
          expect(formatReport(report)).toContain('0 error(s), 0 warning(s)');
          if (compression) expect(report.stats.compressedSent).toBeGreaterThan(20);
        } finally {
          await server.close();
        }
      });
    }
  }
});

describe('against ws (WebSocketServer, echoing)', () => {
  // What the fuzzer finds in ws 8: a 64-bit length with the MSB set is answered 1009, not 1002, and
  // handshakes without Host, over HTTP/1.0, or with `Sec-WebSocket-Version: 13.0` are accepted. Nothing
  // else: every message comes back intact, every other violation gets the right close code.
  const KNOWN = [
    'forbidden-handshake-accepted [handshake/http-version]',
    'forbidden-handshake-accepted [handshake/no-host]',
    'forbidden-handshake-accepted [handshake/wrong-version]',
    'wrong-close-code [hostile/length-msb]',
  ];
  for (const compression of [false, true]) {
    it(
      `finds only the known deviations${compression ? ' with permessage-deflate' : ''}`,
      { timeout: 90_000 },
      async () => {
        const server = await wsEchoServer(compression);
        try {
          const report = await run(server.url);
          for (const group of groups(report)) expect(KNOWN).toContain(group);
          expect(groups(report)).toContain('wrong-close-code [hostile/length-msb]');
          expect(groups(report)).toContain('forbidden-handshake-accepted [handshake/no-host]');
          const msb = report.deviations.find((d) => d.case === 'hostile/length-msb')!;
          expect(msb.message).toBe('length-msb: expected close 1002, got 1009 ""');
          expect(msb.shrunk?.transcript).toContain(
            'TEXT fin masked len=9223372036854775808 (MSB set), 0 bytes follow',
          );
          if (compression) expect(report.stats.compressedSent).toBeGreaterThan(50);
        } finally {
          await server.close();
        }
      },
    );
  }
});

describe('servers broken on purpose', () => {
  let servers: Array<{ close(): Promise<void> }> = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
  });

  async function brokenWs(
    onMessage: (socket: import('ws').WebSocket, data: Buffer, isBinary: boolean, n: number) => void,
  ) {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(server, 'listening');
    let n = 0;
    server.on('connection', (socket) => {
      socket.on('error', () => {});
      socket.on('message', (data, isBinary) => onMessage(socket, data as Buffer, isBinary, n++));
    });
    servers.push({
      close: () =>
        new Promise((resolve) => {
          for (const c of server.clients) c.terminate();
          server.close(() => resolve());
        }),
    });
    return `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  }

  async function rawServer(onConnection: (socket: Socket) => void): Promise<string> {
    const sockets = new Set<Socket>();
    const server: Server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      onConnection(socket);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    servers.push({
      close: () =>
        new Promise((resolve) => {
          for (const s of sockets) s.destroy();
          server.close(() => resolve());
        }),
    });
    return `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  }

  const quick = { sequences: 40, timeout: 200, time: 10, maxShrinks: 1, kinds: { traffic: 1 } };

  it('an altered echo is reported as altered-message, with a shrunk transcript', async () => {
    const url = await brokenWs((socket, data, isBinary) => {
      if (data.length > 0) data[0] = data[0]! ^ 1;
      socket.send(data, { binary: true });
      void isBinary;
    });
    const report = await run(url, quick);
    const altered = report.deviations.find((d: Deviation) => d.kind === 'altered-message');
    expect(altered?.message).toMatch(/^message 1 \((text|binary), \d+ bytes\) came back as binary/);
    expect(altered?.shrunk?.transcript).toMatch(/message: (text|binary), [01] bytes/);
  });

  it('a message that never comes back is reported as lost (or a hang)', async () => {
    const url = await brokenWs((socket, data, isBinary, n) => {
      if (n % 3 !== 2) socket.send(data, { binary: isBinary });
    });
    const report = await run(url, { ...quick, shrink: false });
    expect(report.deviations.some((d) => d.kind === 'lost-message' || d.kind === 'hang')).toBe(true);
  });

  it('a server that never answers is reported as a hang; one that is gone as a crash', async () => {
    const silent = await rawServer(() => {});
    const hang = await run(silent, { ...quick, sequences: 4, shrink: false });
    expect(groups(hang)).toEqual(['hang [traffic]']);
    expect(hang.deviations[0]!.message).toBe('no answer to a valid handshake within 200 ms');
    const gone = await rawServer((s) => s.destroy());
    const closedPort = Number(new URL(gone).port);
    await Promise.all(servers.splice(-1).map((s) => s.close()));
    const crash = await run(`ws://127.0.0.1:${closedPort}/`, { ...quick, shrink: false });
    expect(crash.stoppedBy).toBe('server-down');
    expect(crash.deviations.every((d) => d.kind === 'crash')).toBe(true);
  });

  it('a server that accepts any handshake is reported for each forbidden one', async () => {
    const url = await rawServer((socket) => {
      socket.once(
        'data',
        () =>
          socket.write(
            'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
          ),
      );
    });
    const report = await run(url, { ...quick, sequences: 60, kinds: { handshake: 1 }, shrink: false });
    const mutations = new Set(report.deviations.map((d) => d.case));
    expect(mutations.size).toBeGreaterThan(8);
    expect(report.deviations.every((d) => d.kind === 'forbidden-handshake-accepted')).toBe(true);
  });

  it('a server that answers violations with the wrong code is reported, case by case', async () => {
    // ws with a close code rewritten: every close it sends says 1000.
    const url = await brokenWs((socket, data, isBinary) => socket.send(data, { binary: isBinary }));
    const original = (await import('ws')).WebSocket.prototype.close;
    const report = await (async () => {
      (await import('ws')).WebSocket.prototype.close = function (this: import('ws').WebSocket) {
        return original.call(this, 1000);
      };
      try {
        return await run(url, { ...quick, sequences: 60, kinds: { hostile: 1 }, shrink: false });
      } finally {
        (await import('ws')).WebSocket.prototype.close = original;
      }
    })();
    expect(report.deviations.filter((d) => d.kind === 'wrong-close-code').length).toBeGreaterThan(20);
    expect(report.deviations.find((d) => d.case === 'hostile/invalid-utf8')?.message).toMatch(
      /expected close 1007, got 1000/,
    );
  });
});

describe('target rules', () => {
  it('dials loopback only, unless a host is named', async () => {
    await expect(resolveTarget('ws://127.0.0.1:1/')).resolves.toMatchObject({ host: '127.0.0.1', port: 1 });
    await expect(resolveTarget('ws://[::1]:2/x?y')).resolves.toMatchObject({ host: '::1', path: '/x?y' });
    await expect(resolveTarget('ws://localhost:3/')).resolves.toMatchObject({ port: 3 });
    await expect(resolveTarget('ws://10.0.0.1:80/')).rejects.toThrow(
      /not a loopback address; name it with --allow-host/,
    );
    await expect(resolveTarget('ws://10.0.0.1:80/', ['10.0.0.1'])).resolves.toMatchObject({
      host: '10.0.0.1',
    });
    await expect(resolveTarget('wss://127.0.0.1/')).rejects.toThrow(/only ws:\/\//);
  });
});

describe('sansws-fuzz (the command)', () => {
  let server: EchoServer;
  beforeAll(async () => {
    server = await sanswsEchoServer(false);
  });
  afterAll(() => server.close());

  const capture = () => {
    let text = '';
    return {
      write: (s: string) => (text += s),
      get text() {
        return text;
      },
    };
  };

  it('runs with the documented flags and exits 0 on a clean run', async () => {
    const out = capture();
    const err = capture();
    const code = await runCli(
      [server.url, '--seed', '7', '--connections', '4', '--sequences', '60', '--time', '10'],
      out,
      err,
    );
    expect(err.text).toBe('');
    expect(code).toBe(0);
    expect(out.text).toMatch(/^sansws-fuzz ws:\/\/127\.0\.0\.1:\d+\/ seed 7: 60 sequences/);
  });

  it('exits 2 for a usage error or a host that is not loopback', async () => {
    const err = capture();
    expect(await runCli(['--seed'], capture(), err)).toBe(2);
    expect(err.text).toContain('usage: sansws-fuzz');
    const err2 = capture();
    expect(await runCli(['ws://192.0.2.1:9/'], capture(), err2)).toBe(2);
    expect(err2.text).toContain('not a loopback address');
  });

  it('takes the negative seeds that its reproduce lines print, and refuses negative counts', () => {
    // The report's line reads `--seed -221061847`: the value after the flag, though it starts with '-'.
    expect(parseArgs(['ws://127.0.0.1:9/', '--seed', '-221061847']).seed).toBe(-221061847);
    expect(parseArgs(['ws://127.0.0.1:9/', '--seed=-5']).seed).toBe(-5);
    expect(parseArgs(['ws://127.0.0.1:9/', '--seed', String(2 ** 31 - 1)]).seed).toBe(2 ** 31 - 1);
    expect(() => parseArgs(['ws://127.0.0.1:9/', '--seed', ''])).toThrow(/--seed needs a number/);
    expect(() => parseArgs(['ws://127.0.0.1:9/', '--seed', String(-(2 ** 31) - 1)])).toThrow(/--seed/);
    expect(() => parseArgs(['ws://127.0.0.1:9/', '--connections', '-1'])).toThrow(
      /--connections needs a number/,
    );
    expect(() => parseArgs(['ws://127.0.0.1:9/', '--time', ' '])).toThrow(/--time needs a number/);
  });

  it('reproduces a failure from its printed seed', async () => {
    const url = await wsEchoServer(false);
    try {
      const first = await fuzz({
        url: url.url,
        seed: 1,
        sequences: 200,
        timeout: 1000,
        shrink: false,
        kinds: { hostile: 1 },
      });
      const failure = first.deviations.find((d) => d.case === 'hostile/length-msb')!;
      const again = await fuzz({
        url: url.url,
        seed: failure.seed,
        sequences: 1,
        connections: 1,
        shrink: false,
      });
      expect(again.deviations.map((d) => [d.kind, d.case, d.message])).toEqual([[
        failure.kind,
        failure.case,
        failure.message,
      ]]);
    } finally {
      await url.close();
    }
  });
});
