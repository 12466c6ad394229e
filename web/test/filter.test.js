// The screen filters: the choice, its order, its strength at a scale,
// what it costs, and the preference kept for the next page.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FILTERS, FrameTimes, TIMES_WINDOW, filterLabel, filterLine, filterParams, nextFilter, parseFilter, strengthAt, suggestedFilter, yuvToRgb,
} from '../js/model/filter.js';

test('a stored filter is one of the three, anything else is off', () => {
  const cases = [
    ['crt', 'crt'], ['lcd', 'lcd'], ['off', 'off'],
    [null, 'off'], ['', 'off'], ['CRT', 'off'], ['scanlines', 'off'], [1, 'off'], [undefined, 'off'], ['constructor', 'off'],
  ];
  for (const [stored, want] of cases) assert.equal(parseFilter(stored), want, String(stored));
  assert.equal(FILTERS[0], 'off', 'off comes first: the default');
});

test('the button offers the screen a system had first, then the other, then off', () => {
  const cases = [
    ['nes', ['crt', 'lcd', 'off']],
    ['snes', ['crt', 'lcd', 'off']],
    ['gb', ['lcd', 'crt', 'off']],
    ['gba', ['lcd', 'crt', 'off']],
    [undefined, ['crt', 'lcd', 'off']], // a join whose game is not known yet
  ];
  for (const [system, want] of cases) {
    const got = [];
    let kind = 'off';
    for (let i = 0; i < 3; i++) got.push((kind = nextFilter(kind, system)));
    assert.deepEqual(got, want, system);
  }
  assert.equal(nextFilter('bogus', 'nes'), 'crt', 'an unknown filter counts as off');
  assert.equal(suggestedFilter('gba'), 'lcd');
  assert.equal(suggestedFilter('pce'), 'crt');
  assert.deepEqual(FILTERS.map(filterLabel), ['Off', 'CRT', 'LCD']);
});

test('lines fade out where the picture has too few device pixels for them', () => {
  const cases = [[1, 0], [2, 0], [2.5, 0.5], [2.9, 0.9], [3, 1], [6, 1], [NaN, 0], [Infinity, 0], [-1, 0]];
  for (const [scale, want] of cases) assert.ok(Math.abs(strengthAt(scale) - want) < 1e-9, `scale ${scale}: ${strengthAt(scale)}, want ${want}`);
});

test('each axis gets the strength of its own scale', () => {
  // An NES picture, 256×224, shown 1.31:1 on 900×686 device pixels: 3.5 across, 3.06 down.
  assert.deepEqual(filterParams({ width: 256, height: 224 }, { width: 896, height: 672 }), { x: 1, y: 1 });
  // A Game Boy's 160×144 at twice its size: too small for a grid.
  assert.deepEqual(filterParams({ width: 160, height: 144 }, { width: 320, height: 288 }), { x: 0, y: 0 });
  // Stretched wide: columns get the grid, rows fade.
  assert.deepEqual(filterParams({ width: 100, height: 100 }, { width: 400, height: 250 }), { x: 1, y: 0.5 });
  for (const [src, dst] of [
    [{ width: 0, height: 0 }, { width: 800, height: 600 }], // no frame yet
    [{ width: 256, height: 224 }, { width: 0, height: 600 }], // not laid out yet
    [null, { width: 1, height: 1 }],
    [{ width: 256, height: 224 }, undefined],
  ]) assert.equal(filterParams(src, dst), null);
});

test('the cost is the median and 95th percentile of the newest frames', () => {
  const t = new FrameTimes();
  assert.equal(t.summary(), null, 'nothing before the first frame');
  for (let i = 1; i <= 100; i++) t.add(i / 100); // 0.01 … 1.00 ms
  assert.deepEqual(t.summary(), { medianMs: 0.5, p95Ms: 0.95, frames: 100 });
  t.add(-1);
  t.add(NaN);
  t.add(Infinity);
  assert.equal(t.summary().frames, 100, 'nonsense times are dropped');
  for (let i = 0; i < TIMES_WINDOW; i++) t.add(2);
  assert.deepEqual(t.summary(), { medianMs: 2, p95Ms: 2, frames: TIMES_WINDOW }, 'only the newest frames count');
  t.clear();
  assert.equal(t.summary(), null);
});

test('the stats overlay names the filter and its cost, and nothing while off', () => {
  assert.equal(filterLine('off', { medianMs: 1, p95Ms: 1, frames: 1 }), null);
  assert.deepEqual(filterLine('crt', { medianMs: 0.42, p95Ms: 0.66, frames: 90 }), ['Filter', 'CRT · 0.4 ms (p95 0.7)']);
  assert.deepEqual(filterLine('lcd', null), ['Filter', 'LCD · –'], 'not timed yet');
});

test('the filter chosen is kept for the next page, and a broken one reads as off', async () => {
  const stored = new Map();
  globalThis.localStorage = {
    getItem: (k) => (stored.has(k) ? stored.get(k) : null),
    setItem: (k, v) => stored.set(k, String(v)),
  };
  try {
    const { loadPrefs, savePref } = await import('../js/prefs.js');
    assert.equal(loadPrefs().filter, 'off', 'off by default');
    savePref('filter', 'lcd');
    assert.equal(stored.get('telecart.filter'), 'lcd');
    assert.equal(loadPrefs().filter, 'lcd');
    stored.set('telecart.filter', '<script>');
    assert.equal(loadPrefs().filter, 'off');
  } finally {
    delete globalThis.localStorage;
  }
});

test('a frame’s Y, U, V become the red, green, blue its colour space means', () => {
  const rgb = ({ matrix: m, offset: o }, yuv) => {
    const d = yuv.map((x, i) => x / 255 - o[i]);
    return [0, 1, 2].map((row) => Math.round(255 * (m[row] * d[0] + m[3 + row] * d[1] + m[6 + row] * d[2])));
  };
  const cases = [
    // BT.601 limited range, WebRTC's usual: black, white, and the test ROM's fill (94, 137, 254).
    [{ matrix: 'smpte170m', fullRange: false }, [16, 128, 128], [0, 0, 0]],
    [{ matrix: 'smpte170m', fullRange: false }, [235, 128, 128], [255, 255, 255]],
    [{ matrix: 'smpte170m', fullRange: false }, [134, 186, 101], [94, 137, 254]],
    [undefined, [134, 186, 101], [94, 137, 254]], // unnamed: BT.601
    [{ matrix: 'bt470bg', fullRange: true }, [255, 128, 128], [255, 255, 255]],
    [{ matrix: 'bt709', fullRange: false }, [63, 102, 240], [255, 0, 0]], // BT.709's red
  ];
  for (const [cs, yuv, want] of cases) {
    const got = rgb(yuvToRgb(cs), yuv);
    assert.ok(got.every((c, i) => Math.abs(c - want[i]) <= 2), `${JSON.stringify(cs)} ${yuv}: ${got}, want ${want}`);
  }
});

test('whatever is stored, the filter read is one of the three, without a throw', () => {
  // A seeded generator: the same strings every run.
  let seed = 14;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  const seeds = ['crt', 'lcd', 'off', 'crt ', ' lcd', 'Crt', '__proto__', 'toString', '{}', '\u0000', 'lcd\u0000'];
  for (let i = 0; i < 2000; i++) {
    const base = seeds[i % seeds.length];
    const junk = String.fromCharCode(...Array.from({ length: next() % 6 }, () => next() % 0x3000));
    for (const value of [base, junk, base + junk, junk + base]) {
      const got = parseFilter(value);
      assert.ok(FILTERS.includes(got), `${JSON.stringify(value)} read as ${got}`);
      if (got !== 'off') assert.equal(got, value, 'only an exact name counts');
      assert.ok(FILTERS.includes(nextFilter(value, junk)));
    }
  }
});
