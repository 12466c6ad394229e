// The QR code of the controller link: whole matrices against two real
// encoders (qr-vectors.json, written by qr-vectors.py from Debian's
// qrencode and segno), the version picked, the limits, and the SVG path.
// That a phone's scanner reads them back is web/qr_test.go's (zbarimg).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { capacity, MAX_VERSION, penalty, qrMatrix, qrPath, sizeOf } from '../js/model/qr.js';

const vectors = JSON.parse(readFileSync(new URL('./qr-vectors.json', import.meta.url), 'utf8'));

const picture = (modules) => modules.map((row) => row.map((dark) => (dark ? '#' : '.')).join(''));

test('matrices equal the reference encoders\', module for module, with their mask', () => {
  assert.ok(vectors.length >= 10);
  const masks = new Set();
  for (const v of vectors) {
    const qr = qrMatrix(v.text, { mask: v.mask, minVersion: v.minVersion });
    const name = `${v.reference}: ${JSON.stringify(v.text.slice(0, 40))} version ${v.version} mask ${v.mask}`;
    assert.equal(qr.version, v.version, name);
    assert.equal(qr.size, sizeOf(v.version), name);
    assert.equal(qr.mask, v.mask, name);
    assert.deepEqual(picture(qr.modules), v.rows, name);
    masks.add(v.mask);
  }
  assert.equal(masks.size, 8, 'the vectors cover every mask');
});

test('the smallest version that holds the text, level M byte mode', () => {
  const cases = [
    { bytes: 1, version: 1 },
    { bytes: 14, version: 1 },
    { bytes: 15, version: 2 },
    { bytes: 42, version: 3 },
    { bytes: 62, version: 4 },
    { bytes: 106, version: 6 },
    { bytes: 180, version: 9 },
    { bytes: 213, version: 10 },
    { bytes: 214, version: 11 },
    { bytes: 2331, version: 40 },
  ];
  for (const c of cases) {
    const qr = qrMatrix('x'.repeat(c.bytes));
    assert.equal(qr.version, c.version, `${c.bytes} bytes`);
    assert.equal(qr.size, c.version * 4 + 17);
    assert.equal(qr.modules.length, qr.size);
    assert.ok(qr.modules.every((row) => row.length === qr.size && row.every((m) => typeof m === 'boolean')));
  }
  assert.equal(capacity(MAX_VERSION), 2331);
});

test('UTF-8 bytes count, not characters', () => {
  // 14 bytes fit version 1; 5 two-byte letters and 4 four-byte emoji do not.
  assert.equal(qrMatrix('é'.repeat(7)).version, 1);
  assert.equal(qrMatrix('é'.repeat(8)).version, 2);
  assert.equal(qrMatrix('🎮'.repeat(4)).version, 2);
});

test('without a mask asked for, the one of least penalty', () => {
  for (const v of vectors.filter((x) => x.reference === 'qrencode')) {
    const chosen = qrMatrix(v.text, { minVersion: v.minVersion });
    for (let mask = 0; mask < 8; mask++) {
      const other = qrMatrix(v.text, { mask, minVersion: v.minVersion });
      assert.ok(penalty(chosen.modules) <= penalty(other.modules), `${v.text}: mask ${chosen.mask} against ${mask}`);
    }
  }
});

test('the penalty counts the standard\'s four rules', () => {
  // A 5x5 all light: rows and columns of 5 (N1: 3 each, 10 lines), 16
  // 2x2 blocks (N2: 3 each), no dark module (N4: 50 % off, 10 * 10).
  const light = Array.from({ length: 5 }, () => new Array(5).fill(false));
  assert.equal(penalty(light), 10 * 3 + 16 * 3 + 100);
  // A finder-like row, light beyond it: N3 once for the row; the columns
  // are runs of one, and the light rows above and below are in N1.
  const finder = [
    [false, false, false, false, false, false, false],
    [true, false, true, true, true, false, true],
    [false, false, false, false, false, false, false],
  ];
  const n1 = 2 * (3 + 2); // two light rows of 7
  const n2 = 0;
  const dark = 5 / 21; // 23.8 %: 5 full steps of 5 % off half
  assert.equal(penalty(finder), n1 + n2 + 40 + 10 * Math.floor(Math.abs(dark * 100 - 50) / 5));
});

test('too long a text is a clear error', () => {
  assert.throws(() => qrMatrix('x'.repeat(2332)), /2332 bytes as UTF-8, more than a QR code holds \(2331\)/);
  assert.throws(() => qrMatrix('€'.repeat(800)), /2400 bytes/);
});

test('bad arguments are clear errors', () => {
  assert.throws(() => qrMatrix(null), TypeError);
  assert.throws(() => qrMatrix(42), /must be a string/);
  assert.throws(() => qrMatrix('a', { mask: 8 }), /mask 8 is not one of 0 to 7/);
  assert.throws(() => qrMatrix('a', { mask: 1.5 }), RangeError);
  assert.throws(() => qrMatrix('a', { minVersion: 41 }), /version 41/);
  assert.throws(() => qrMatrix('a', { minVersion: 0 }), RangeError);
});

test('an empty text is a code too', () => {
  const qr = qrMatrix('');
  assert.equal(qr.version, 1);
});

test('the SVG path draws each row\'s dark runs inside the quiet zone', () => {
  const modules = [
    [true, true, false],
    [false, false, false],
    [true, false, true],
  ];
  assert.equal(qrPath(modules), 'M4 4h2v1h-2zM4 6h1v1h-1zM6 6h1v1h-1z');
  assert.equal(qrPath(modules, 1), 'M1 1h2v1h-2zM1 3h1v1h-1zM3 3h1v1h-1z');
  // Every dark module of a real code is covered once, nothing else.
  const qr = qrMatrix('https://telecart.example.com/r/Xk3vQ9pL/pad');
  const drawn = qr.modules.map((row) => row.map(() => false));
  for (const m of qrPath(qr.modules).matchAll(/M(\d+) (\d+)h(\d+)v1h-\d+z/g)) {
    const [x, y, w] = [Number(m[1]) - 4, Number(m[2]) - 4, Number(m[3])];
    for (let i = 0; i < w; i++) {
      assert.equal(drawn[y][x + i], false);
      drawn[y][x + i] = true;
    }
  }
  assert.deepEqual(drawn, qr.modules);
});

test('any text that fits makes a code, whatever its characters', () => {
  // A fixed pseudo-random sequence (xorshift), so a failure repeats.
  let seed = 0x9e3779b9;
  const next = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  // ASCII, accents, CJK, lone surrogates (UTF-8 has them as U+FFFD), emoji.
  const pick = [
    () => String.fromCharCode(0x20 + Math.floor(next() * 95)),
    () => String.fromCharCode(0xc0 + Math.floor(next() * 64)),
    () => String.fromCharCode(0x3040 + Math.floor(next() * 96)),
    () => String.fromCharCode(0xd800 + Math.floor(next() * 2048)),
    () => String.fromCodePoint(0x1f300 + Math.floor(next() * 256)),
  ];
  for (let i = 0; i < 60; i++) {
    let text = '';
    const length = Math.floor(next() * 80);
    for (let j = 0; j < length; j++) text += pick[Math.floor(next() * pick.length)]();
    const bytes = new TextEncoder().encode(text).length;
    const qr = qrMatrix(text);
    assert.ok(bytes <= capacity(qr.version) && (qr.version === 1 || bytes > capacity(qr.version - 1)), `${bytes} bytes in version ${qr.version}`);
    assert.equal(qr.modules.length, sizeOf(qr.version));
  }
});
