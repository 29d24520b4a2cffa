/**
 * Test data for the compression cases (12.x, 13.x). Autobahn ships five files (a JSON document, a bitmap,
 * Goethe's Faust, an HTML page, a PDF); we generate stand-ins of the same kinds and sizes from a fixed seed,
 * so the suite needs no download and every run sends the same bytes. Text data sets are ASCII, so any slice
 * of them is valid UTF-8 (the Faust stand-in has umlauts and is sent as binary, as Autobahn does).
 */

import { prng, utf8 } from '../bytes.ts';

/** One data set. */
export interface DataSet {
  readonly name: string;
  readonly description: string;
  readonly binary: boolean;
  readonly data: () => Uint8Array;
}

function cached(make: () => Uint8Array): () => Uint8Array {
  let value: Uint8Array | undefined;
  return () => (value ??= make());
}

function fit(text: string, size: number): Uint8Array {
  const out = new Uint8Array(size);
  const bytes = utf8(text);
  for (let i = 0; i < size; i++) out[i] = bytes[i % bytes.length]!;
  return out;
}

const WORDS = [
  'alpha',
  'beta',
  'gamma',
  'delta',
  'socket',
  'frame',
  'message',
  'server',
  'client',
  'value',
  'status',
  'payload',
  'window',
  'context',
  'deflate',
  'stream',
  'buffer',
  'event',
  'handler',
  'timeout',
  'record',
];

function json(): Uint8Array {
  const r = prng(1);
  const pick = <T>(a: readonly T[]) => a[Math.floor(r() * a.length)]!;
  const items: string[] = [];
  let size = 2;
  while (size < 194056) {
    const item = JSON.stringify(
      {
        id: items.length,
        guid: Math.floor(r() * 2 ** 32).toString(16).padStart(8, '0') + '-' +
          Math.floor(r() * 65536).toString(16),
        isActive: r() < 0.5,
        balance: Math.round(r() * 1e6) / 100,
        name: `${pick(WORDS)} ${pick(WORDS)}`,
        tags: Array.from({ length: 1 + Math.floor(r() * 5) }, () => pick(WORDS)),
        location: { latitude: r() * 180 - 90, longitude: r() * 360 - 180 },
        about: Array.from({ length: 8 + Math.floor(r() * 20) }, () => pick(WORDS)).join(' '),
      },
      null,
      2,
    ).replace(/^/gm, '  ');
    items.push(item);
    size += item.length + 2;
  }
  return fit(`[\n${items.join(',\n')}\n]`, 194056);
}

function bitmap(): Uint8Array {
  // A 512×512 8-bit grey-scale BMP (14 + 40 header bytes, 256-entry palette): 263222 bytes, like lena512.bmp.
  const width = 512;
  const out = new Uint8Array(54 + 1024 + width * width);
  const view = new DataView(out.buffer);
  out[0] = 0x42;
  out[1] = 0x4d;
  view.setUint32(2, out.length, true);
  view.setUint32(10, 54 + 1024, true);
  view.setUint32(14, 40, true);
  view.setInt32(18, width, true);
  view.setInt32(22, width, true);
  view.setUint16(26, 1, true);
  view.setUint16(28, 8, true);
  view.setUint32(34, width * width, true);
  view.setUint32(46, 256, true);
  for (let i = 0; i < 256; i++) out.set([i, i, i, 0], 54 + 4 * i);
  const r = prng(2);
  for (let y = 0; y < width; y++) {
    for (let x = 0; x < width; x++) {
      // Smooth shapes plus noise: compresses somewhat, like a photograph.
      const v = 128 + 60 * Math.sin(x / 37) * Math.cos(y / 23) + 40 * Math.sin((x + y) / 71) +
        (r() - 0.5) * 24;
      out[54 + 1024 + y * width + x] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return out;
}

function faust(): Uint8Array {
  const r = prng(3);
  const words = [
    'Habe',
    'nun',
    'ach',
    'Philosophie',
    'Juristerei',
    'und',
    'Medizin',
    'leider',
    'auch',
    'Theologie',
    'durchaus',
    'studiert',
    'mit',
    'heißem',
    'Bemühn',
    'Da',
    'steh',
    'ich',
    'armer',
    'Tor',
    'bin',
    'so',
    'klug',
    'als',
    'wie',
    'zuvor',
    'Geist',
    'der',
    'stets',
    'verneint',
    'Gretchen',
    'Mephistopheles',
    'Wald',
    'Höhle',
    'Nacht',
    'Straße',
    'Kerker',
    'Schüler',
    'über',
    'schön',
    'Träume',
    'Grün',
  ];
  const lines: string[] = [];
  let size = 0;
  while (size < 222218) {
    const line = Array.from({ length: 4 + Math.floor(r() * 6) }, () => words[Math.floor(r() * words.length)])
      .join(' ');
    const text = (r() < 0.1 ? '\n' + words[Math.floor(r() * words.length)]!.toUpperCase() + ':\n' : '') +
      line +
      (r() < 0.5 ? ',' : '.') + '\n';
    lines.push(text);
    size += utf8(text).length;
  }
  return utf8(lines.join('')).slice(0, 222218);
}

function html(): Uint8Array {
  const r = prng(4);
  const pick = () => WORDS[Math.floor(r() * WORDS.length)]!;
  let text =
    '<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>Data</title></head>\n<body>\n';
  let n = 0;
  while (text.length < 83602) {
    n++;
    text += `<div class="row ${pick()}" id="item-${n}">\n  <h2>${pick()} ${pick()}</h2>\n` +
      `  <p>${Array.from({ length: 10 + Math.floor(r() * 20) }, pick).join(' ')}</p>\n` +
      `  <a href="/${pick()}/${n}">${pick()}</a>\n</div>\n`;
  }
  return fit(text + '</body>\n</html>\n', 83602);
}

function pdf(): Uint8Array {
  // Text objects between incompressible "image" streams, as in a real PDF: 1042328 bytes.
  const r = prng(5);
  const size = 1042328;
  const out = new Uint8Array(size);
  let offset = 0;
  let object = 0;
  while (offset < size) {
    object++;
    const head = utf8(
      `${object} 0 obj\n<< /Type /XObject /Subtype /Image /Width 64 /Length 4096 >>\nstream\n`,
    );
    out.set(head.subarray(0, size - offset), offset);
    offset += head.length;
    const random = Math.min(4096, Math.max(0, size - offset));
    for (let i = 0; i < random; i++) out[offset + i] = Math.floor(r() * 256);
    offset += random;
    const tail = utf8(
      `\nendstream\nendobj\n${'BT /F1 12 Tf 72 712 Td (' + WORDS.join(' ') + ') Tj ET\n'.repeat(3)}`,
    );
    if (offset < size) out.set(tail.subarray(0, size - offset), offset);
    offset += tail.length;
  }
  return out;
}

/** The data sets of 12.1–12.5, in Autobahn's order. */
export const DATA_SETS: readonly DataSet[] = [
  {
    name: 'json',
    description: 'Large JSON data file (utf8, 194056 bytes)',
    binary: false,
    data: cached(json),
  },
  {
    name: 'bitmap',
    description: 'Bitmap 512x512 grey-scale, a stand-in for the Lena picture (binary, 263222 bytes)',
    binary: true,
    data: cached(bitmap),
  },
  {
    name: 'faust',
    description: "Human readable German text, a stand-in for Goethe's Faust I (binary, 222218 bytes)",
    binary: true,
    data: cached(faust),
  },
  { name: 'html', description: 'Large HTML file (utf8, 83602 bytes)', binary: false, data: cached(html) },
  {
    name: 'pdf',
    description: 'A larger PDF-like file, text and incompressible streams (binary, 1042328 bytes)',
    binary: true,
    data: cached(pdf),
  },
];
