/**
 * Summarises a V8 CPU profile (from `node --cpu-prof`) as self and inclusive time per function, counting
 * only the samples taken under a given function (by default the contenders' `run` closures in engines.js,
 * `--root NAME@FILE`), so that
 * set-up, input restoring and reporting do not dilute the percentages.
 *
 *   node --cpu-prof --cpu-prof-dir=.bench-out/prof bench/dist/run.js --no-json --only receive \
 *     --sizes 64k --types text --contenders ours
 *   node bench/dist/profile.js .bench-out/prof/<file>.cpuprofile [--root run@engines.js] [--top 25]
 */

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import process from 'node:process';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function frameName(frame: CallFrame): string {
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  return frame.url === '' ? name : `${name} ${basename(frame.url)}:${frame.lineNumber + 1}`;
}

function main(): void {
  const args = process.argv.slice(2);
  const file = args[0];
  if (file === undefined) throw new Error('usage: profile.js FILE.cpuprofile [--root NAME] [--top N]');
  let root = 'run@engines.js';
  let top = 25;
  for (let i = 1; i < args.length; i++) {
    if (args[i] === '--root') root = args[++i] ?? root;
    else if (args[i] === '--top') top = Number(args[++i]);
  }
  const [rootName, rootFile] = root.split('@') as [string, string | undefined];
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    const stack: string[] = [];
    let underRoot = false;
    for (let id: number | undefined = profile.samples[i]; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)!.callFrame;
      if (frame.functionName === rootName && (rootFile === undefined || basename(frame.url) === rootFile)) {
        underRoot = true;
        break;
      }
      stack.push(frameName(frame));
    }
    if (!underRoot) continue;
    total += dt;
    const leaf = stack[0] ?? `${root} (self)`;
    self.set(leaf, (self.get(leaf) ?? 0) + dt);
    for (const name of new Set(stack)) inclusive.set(name, (inclusive.get(name) ?? 0) + dt);
  }
  const print = (title: string, map: Map<string, number>): void => {
    process.stdout.write(`\n${title}\n`);
    const rows = [...map].sort((a, b) => b[1] - a[1]).slice(0, top);
    for (const [name, time] of rows) {
      process.stdout.write(
        `${((time / total) * 100).toFixed(1).padStart(6)}%  ${
          (time / 1000).toFixed(0).padStart(7)
        } ms  ${name}\n`,
      );
    }
  };
  process.stdout.write(`${(total / 1000).toFixed(0)} ms sampled under '${root}'\n`);
  print('self time', self);
  print('inclusive time', inclusive);
}

main();
