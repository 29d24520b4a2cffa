/**
 * Real peers over loopback: Python `websockets` (Debian's python3-websockets) as client of our listener and
 * as server for our `dial`, with and without compression; headless Chromium (Debian's chromium, driven by
 * playwright-core) loading a page from our listener and exchanging text and binary messages with
 * permessage-deflate. Each suite names the peer and version it ran; a missing peer FAILS the tests (with
 * the install command), it never skips them. `.ci/run` installs both peers when they are missing.
 *
 * SANSWS_PYTHON and SANSWS_CHROMIUM override the interpreter (default /usr/bin/python3, Debian's, which is
 * where python3-websockets installs) and the browser (default /usr/bin/chromium).
 */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseError, type CloseInfo, type Conn, dial, listen, Upgrader } from '../src/mod.ts';
import { startChat } from '../../../examples/chat.ts';

const PEERS = fileURLToPath(new URL('./peers/', import.meta.url));
const SIZES = [0, 1, 125, 126, 127, 65535, 65536, 1 << 20];
const PYTHON = process.env['SANSWS_PYTHON'] ??
  (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const CHROMIUM = process.env['SANSWS_CHROMIUM'] ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The peer's version, or why it cannot run (`missing`). */
interface Peer {
  readonly version: string | null;
  readonly missing: string;
}

function probe(run: () => string, install: string): Peer {
  try {
    return { version: run().trim(), missing: '' };
  } catch (error) {
    const why = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return { version: null, missing: `${why}. Install it: ${install}` };
  }
}

const python = probe(
  () =>
    execFileSync(PYTHON, [
      '-c',
      'import sys, websockets; print(f"{websockets.__version__} (Python {sys.version.split()[0]})")',
    ], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 10_000,
    }),
  'apt-get install -y python3-websockets',
);
const chromium = probe(() => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found`);
  // The Debian launcher script may print warnings on stderr; the version is on stdout.
  return /[\d.]+/.exec(
    execFileSync(CHROMIUM, ['--version'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 20_000,
    }),
  )?.[0] ?? '';
}, 'apt-get install -y chromium');

/** Fails (never skips) a test whose peer is missing. */
function requirePeer(peer: Peer, name: string): void {
  if (peer.version === null) throw new Error(`the ${name} peer is missing: ${peer.missing}`);
}

/** Echoes every message back until the peer closes; records how each connection ended. */
function echoServer(outcomes: CloseInfo[]): (conn: Conn) => Promise<void> {
  return async (conn) => {
    try {
      for await (const message of conn) await conn.writeMessage(message.type, message.data);
    } catch (error) {
      if (!(error instanceof CloseError)) throw error;
    }
    outcomes.push(await conn.closed);
  };
}

function pattern(size: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 7 + size) & 0xff);
}

/** Runs a process to its end (bounded by `timeout`), returning its stdout; rejects on a non-zero exit. */
function run(file: string, args: readonly string[], timeout: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout, killSignal: 'SIGKILL' });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${file} ${args.join(' ')} exited ${code ?? signal}:\n${stdout}${stderr}`));
    });
  });
}

/** Starts a long-running peer and resolves with the JSON object on its first stdout line. */
function startPeer(
  file: string,
  args: readonly string[],
): Promise<{ child: ChildProcess; info: Record<string, string> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} did not start within 10 s:\n${stderr}`));
    }, 10_000);
    child.once('error', (error) => (clearTimeout(timer), reject(error)));
    child.once(
      'exit',
      (code) => (clearTimeout(timer), reject(new Error(`${file} exited ${code}:\n${stderr}`))),
    );
    createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(timer);
      resolve({ child, info: JSON.parse(line) as Record<string, string> });
    });
  });
}

function stopPeer(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe(`interop: the Python websockets ${python.version ?? '(MISSING)'} client against our listener`, () => {
  for (const compression of [false, true]) {
    it(
      `echoes text and binary of every size class, pings and closes 1000 (compression ${
        compression ? 'on' : 'off'
      })`,
      async () => {
        requirePeer(python, 'Python websockets');
        const outcomes: CloseInfo[] = [];
        const server = await listen({
          handler: echoServer(outcomes),
          upgrader: new Upgrader({ compression }),
        });
        try {
          const stdout = await run(PYTHON, [
            join(PEERS, 'python-client.py'),
            server.url,
            compression ? 'deflate' : 'none',
          ], 20_000);
          const report = JSON.parse(stdout) as {
            peer: string;
            version: string;
            python: string;
            extensions: string | null;
            messages: number;
            mismatches: string[];
            close: { code: number; reason: string };
          };
          console.log(`peer: ${report.peer} ${report.version} on Python ${report.python}`);
          expect(report.mismatches).toEqual([]);
          expect(report.messages).toBe(2 * SIZES.length);
          if (compression) expect(report.extensions).toMatch(/^permessage-deflate/);
          else expect(report.extensions).toBeNull();
          expect(report.close.code).toBe(1000);
          // Our side saw the client's close frame: a clean 1000 with its reason.
          await expect.poll(() => outcomes.length).toBe(1);
          expect(outcomes[0]).toMatchObject({ code: 1000, reason: 'python says bye', clean: true });
        } finally {
          await server.shutdown({ timeout: 1000 });
        }
      },
    );
  }
});

describe(`interop: our dial against the Python websockets ${python.version ?? '(MISSING)'} server`, () => {
  for (const compression of [false, true]) {
    describe(`compression ${compression ? 'on' : 'off'}`, () => {
      let peer: ChildProcess | undefined;
      let url = '';
      beforeAll(async () => {
        if (python.version === null) return;
        const started = await startPeer(PYTHON, [
          join(PEERS, 'python-server.py'),
          compression ? 'deflate' : 'none',
        ]);
        peer = started.child;
        url = started.info['url']!;
        console.log(
          `peer: ${started.info['peer']} ${started.info['version']} on Python ${started.info['python']}`,
        );
      });
      afterAll(() => stopPeer(peer));

      it('exchanges text and binary of every size class, pings, and closes cleanly', async () => {
        requirePeer(python, 'Python websockets');
        const { conn, response } = await dial(url, { compression, subprotocols: ['chat'] });
        expect(response.status).toBe(101);
        expect(conn.subprotocol).toBe('chat');
        expect(conn.extensions?.startsWith('permessage-deflate') ?? false).toBe(compression);
        for (const size of SIZES) {
          await conn.writeMessage('text', 'ü'.repeat(size >> 1));
          expect(await conn.readMessage()).toEqual({ type: 'text', data: 'ü'.repeat(size >> 1) });
          const payload = pattern(size);
          await conn.writeMessage('binary', payload);
          const echoed = await conn.readMessage();
          expect(echoed.type).toBe('binary');
          expect(Buffer.from(echoed.data as Uint8Array).equals(Buffer.from(payload))).toBe(true);
        }
        expect(await conn.ping(new TextEncoder().encode('sansws'))).toBeGreaterThanOrEqual(0);
        expect(await conn.close(1000, 'done')).toMatchObject({ code: 1000, clean: true });
      });

      it('streams a message out frame by frame and reads the echo as a stream', async () => {
        requirePeer(python, 'Python websockets');
        const { conn } = await dial(url, { compression });
        const writer = await conn.nextWriter('binary');
        for (let i = 0; i < 16; i++) await writer.write(new Uint8Array(32 * 1024).fill(i));
        await writer.close();
        const reader = await conn.nextReader();
        let received = 0;
        let wrong = 0;
        for await (const chunk of reader) {
          // Byte n of the message came from frame n / 32 KiB, whatever the chunking on the way back.
          for (let i = 0; i < chunk.length; i++) if (chunk[i] !== (received + i) >> 15) wrong++;
          received += chunk.length;
        }
        expect(received).toBe(16 * 32 * 1024);
        expect(wrong).toBe(0);
        await conn.close();
      });

      it("reports the server's close code: 4001 is CLOSED_WITH_ERROR, with its reason", async () => {
        requirePeer(python, 'Python websockets');
        const { conn } = await dial(url, { compression });
        await conn.writeMessage('text', 'close 4001');
        const error = await conn.readMessage().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(CloseError);
        expect(error).toMatchObject({ code: 'CLOSED_WITH_ERROR', closeCode: 4001, reason: 'as you asked' });
        expect(await conn.closed).toMatchObject({ code: 4001, clean: true });
      });
    });
  }
});

/** The page Chromium loads: it connects back to `/ws`, echoes through the server, and reports. */
const BROWSER_PAGE = `<!doctype html>
<meta charset="utf-8">
<title>sansws browser peer</title>
<script>
  const SIZES = ${JSON.stringify(SIZES)};
  function pattern(size) {
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 7 + size) & 0xff;
    return bytes;
  }
  window.exchange = async function () {
    const url = new URL('/ws', location.href);
    url.protocol = 'ws:';
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    const inbox = [];
    let wake = null;
    ws.onmessage = (event) => { inbox.push(event.data); if (wake) wake(); };
    const closed = new Promise((resolve) => { ws.onclose = (e) => resolve({ code: e.code, reason: e.reason, wasClean: e.wasClean }); });
    await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = () => reject(new Error('WebSocket error')); });
    const next = async () => {
      while (inbox.length === 0) await new Promise((resolve) => (wake = resolve));
      return inbox.shift();
    };
    const mismatches = [];
    for (const size of SIZES) {
      const text = 'é'.repeat(size >> 1);
      ws.send(text);
      if ((await next()) !== text) mismatches.push('text ' + size);
      const bytes = pattern(size);
      ws.send(bytes);
      const echoed = await next();
      const ok = echoed instanceof ArrayBuffer && echoed.byteLength === size &&
        new Uint8Array(echoed).every((b, i) => b === bytes[i]);
      if (!ok) mismatches.push('binary ' + size);
    }
    const extensions = ws.extensions;
    ws.close(1000, 'browser done');
    return { userAgent: navigator.userAgent, extensions, messages: 2 * SIZES.length, mismatches, close: await closed };
  };
</script>
`;

describe(`interop: headless Chromium ${chromium.version ?? '(MISSING)'} loading pages from our servers`, () => {
  let context: BrowserContext | undefined;
  let userDataDir: string | undefined;
  const playwrightVersion = async (): Promise<string> =>
    (await import('playwright-core/package.json', { with: { type: 'json' } })).default.version;

  /** One browser for the suite, with a fresh profile, launched by the first test that needs it. */
  async function browser(): Promise<BrowserContext> {
    requirePeer(chromium, 'Chromium');
    if (context !== undefined) return context;
    const { chromium: launcher } = await import('playwright-core');
    userDataDir = mkdtempSync(join(tmpdir(), 'sansws-chromium-'));
    context = await launcher.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: 30_000,
    });
    return context;
  }
  afterAll(async () => {
    await context?.close();
    if (userDataDir !== undefined) rmSync(userDataDir, { recursive: true, force: true });
  });

  it('exchanges text and binary of every size class with permessage-deflate, and closes 1000', async () => {
    const outcomes: CloseInfo[] = [];
    const sockets: Socket[] = [];
    const server = await listen({
      // The default origin check stays on: the page comes from this very origin, as in production.
      upgrader: new Upgrader({ compression: true }),
      handler: (conn) => {
        sockets.push(conn.raw as Socket);
        return echoServer(outcomes)(conn);
      },
      fetch: () => new Response(BROWSER_PAGE, { headers: { 'Content-Type': 'text/html; charset=utf-8' } }),
    });
    try {
      const page = await (await browser()).newPage();
      await page.goto(server.url.replace('ws:', 'http:'), { timeout: 10_000 });
      const report = await page.evaluate('window.exchange()') as {
        userAgent: string;
        extensions: string;
        messages: number;
        mismatches: string[];
        close: { code: number; reason: string; wasClean: boolean };
      };
      console.log(
        `peer: Chromium ${chromium.version} (${report.userAgent}) via playwright-core ${await playwrightVersion()}`,
      );
      expect(report.mismatches).toEqual([]);
      expect(report.messages).toBe(2 * SIZES.length);
      expect(report.extensions).toMatch(/^permessage-deflate/);
      // The close event reports the server's answer: it echoes the code (RFC 6455 §5.5.1), not the reason.
      expect(report.close).toEqual({ code: 1000, reason: '', wasClean: true });
      expect(outcomes).toEqual([
        expect.objectContaining({ code: 1000, reason: 'browser done', clean: true }),
      ]);
      // Compression really ran both ways: the repetitive payloads crossed the wire in a fraction of their size.
      const payload = SIZES.reduce((sum, size) => sum + size + 2 * (size >> 1), 0);
      const [socket] = sockets;
      expect(socket!.bytesRead).toBeLessThan(payload / 4);
      expect(socket!.bytesWritten).toBeLessThan(payload / 4);
      await page.close();
    } finally {
      await server.shutdown({ timeout: 1000 });
    }
  }, 60_000); // the first test launches the browser

  it('the chat demo (npm start) works in two tabs: what one says, the other sees', async () => {
    const chat = await startChat({ port: 0 });
    try {
      const ctx = await browser();
      const [alice, bob] = [await ctx.newPage(), await ctx.newPage()];
      for (const page of [alice, bob]) {
        await page.goto(chat.url, { timeout: 10_000 });
        await page.locator('#status', { hasText: /^connected$/ }).waitFor({ timeout: 10_000 });
      }
      await alice.fill('#text', '/nick alice');
      await alice.press('#text', 'Enter');
      await alice.fill('#text', 'hello from a browser');
      await alice.press('#text', 'Enter');
      await bob.getByText('alice: hello from a browser').waitFor({ timeout: 10_000 });
      await bob.fill('#text', 'hi alice');
      await bob.press('#text', 'Enter');
      await alice.getByText(/^guest-\d+: hi alice$/).waitFor({ timeout: 10_000 });
      expect(chat.members.size).toBe(2);
      await bob.close();
      await alice.getByText(/^\* guest-\d+ left$/).waitFor({ timeout: 10_000 });
      await chat.close();
      await alice.locator('#status', { hasText: /^disconnected \(1001 / }).waitFor({ timeout: 10_000 });
      await alice.close();
    } finally {
      await chat.close();
    }
  }, 60_000);
});
