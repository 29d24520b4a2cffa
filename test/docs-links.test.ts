/**
 * The documentation's links: every relative link in README.md, docs/*.md and each package's README.md names
 * a file of the repository, and every `#fragment` of a link to a Markdown file names one of its headings (as
 * GitHub makes a heading's anchor). Links to other sites are not followed (no network here).
 */

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The Markdown files checked: the README, docs/ and the README of every workspace package. */
function markdownFiles(): string[] {
  const files = [join(root, 'README.md')];
  for (const name of readdirSync(join(root, 'docs'))) {
    if (name.endsWith('.md')) files.push(join(root, 'docs', name));
  }
  for (const group of ['packages', 'adapters']) {
    for (const name of readdirSync(join(root, group))) {
      const readme = join(root, group, name, 'README.md');
      if (existsSync(readme)) files.push(readme);
    }
  }
  return files;
}

/** The text outside fenced code blocks, where a `#` line is a heading. */
const withoutFences = (markdown: string): string =>
  markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');

/** The text outside fenced code blocks and inline code spans, where links are links. */
const prose = (markdown: string): string => withoutFences(markdown).replace(/`[^`\n]*`/g, '');

/**
 * GitHub's anchor for a heading: lower case, inline code marks and punctuation dropped (letters, digits,
 * spaces, `-` and `_` kept), spaces turned into `-`; a repeated anchor gets `-1`, `-2`, … appended.
 */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const match of withoutFences(markdown).matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const base = match[1]!
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M} _-]/gu, '')
      .replace(/ /g, '-');
    let anchor = base;
    for (let n = 1; anchors.has(anchor); n++) anchor = `${base}-${n}`;
    anchors.add(anchor);
  }
  return anchors;
}

interface Link {
  readonly file: string;
  readonly target: string;
}

/** Relative links (inline `[text](target)` and reference definitions) of one file. */
function relativeLinks(file: string): Link[] {
  const text = prose(readFileSync(file, 'utf8'));
  const targets = [
    ...[...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!),
    ...[...text.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)].map((m) => m[1]!),
  ];
  return targets
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target))
    .map((target) => ({ file, target }));
}

/** What is wrong with `link`, or null. */
function brokenBecause(link: Link): string | null {
  const at = link.target.indexOf('#');
  const path = decodeURIComponent(at === -1 ? link.target : link.target.slice(0, at));
  const fragment = at === -1 ? null : decodeURIComponent(link.target.slice(at + 1));
  const resolved = path === '' ? link.file : resolve(dirname(link.file), path);
  if (!existsSync(resolved)) return 'no such file';
  if (fragment === null || !resolved.endsWith('.md')) return null;
  return headingAnchors(readFileSync(resolved, 'utf8')).has(fragment) ? null : 'no such heading';
}

describe('documentation links', () => {
  it('headingAnchors makes the anchors GitHub makes (punctuation dropped, repeats numbered)', () => {
    const anchors = headingAnchors(
      '# Node: sansws ÷ ws (bufferutil), and the targets\n' +
        '## Round 13: `node:zlib` at 100×8 (2026-11-27)\n' +
        '```\n# not a heading\n```\n' +
        '### Again\n### Again\n',
    );
    expect([...anchors]).toEqual([
      'node-sansws--ws-bufferutil-and-the-targets',
      'round-13-nodezlib-at-1008-2026-11-27',
      'again',
      'again-1',
    ]);
  });

  it('every relative link names a file, and every fragment a heading of it', () => {
    const links = markdownFiles().flatMap(relativeLinks);
    // The check would pass vacuously if the link pattern stopped matching.
    expect(links.length).toBeGreaterThan(100);
    const broken = links
      .map((link) => ({ link, why: brokenBecause(link) }))
      .filter((entry) => entry.why !== null)
      .map(({ link, why }) => `${relative(root, link.file)}: ${link.target} (${why})`);
    expect(broken).toEqual([]);
  });
});
