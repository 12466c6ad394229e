// What the pad sends on the input channel, and when.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COPIES_MS, encode, nextSend, nextSeq, remember, REPEAT_MS } from '../js/model/padwire.js';

const state = (seq, buttons = 0, axes = [0, 0, 0, 0]) => ({ seq, buttons, axes });

test('a change goes out at once, again at +8, +24 and +56 ms, then every 100 ms', () => {
  let at = 0;
  const sends = [{ at, copy: true }];
  for (let sent = 1; sends.length < 7; sent++) {
    const next = nextSend(sent);
    at += next.delay;
    sends.push({ at, copy: next.copy });
  }
  assert.deepEqual(sends, [
    { at: 0, copy: true }, { at: 8, copy: true }, { at: 24, copy: true }, { at: 56, copy: true },
    { at: 156, copy: false }, { at: 256, copy: false }, { at: 356, copy: false },
  ]);
  assert.deepEqual(COPIES_MS, [8, 24, 56]);
  assert.equal(REPEAT_MS, 100);
});

test('a message carries the last four states, newest first', () => {
  let history = [];
  for (let seq = 1; seq <= 6; seq++) history = remember(history, state(seq));
  assert.deepEqual(history.map((s) => s.seq), [6, 5, 4, 3]);
  assert.deepEqual(remember([], state(1)).map((s) => s.seq), [1]);
});

test('sequence numbers wrap at 2^32', () => {
  assert.equal(nextSeq(0), 1);
  assert.equal(nextSeq(0xfffffffe), 0xffffffff);
  assert.equal(nextSeq(0xffffffff), 0);
});

test('version 2: u8 version, u8 count, then each state big-endian', () => {
  const msg = new Uint8Array(encode([
    state(0x01020304, 0x0101, [-32768, 32767, 0, -1]),
    state(0xffffffff, 0x8000),
  ]));
  assert.deepEqual([...msg], [
    2, 2,
    0x01, 0x02, 0x03, 0x04, 0x01, 0x01, 0x80, 0x00, 0x7f, 0xff, 0x00, 0x00, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0x80, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
  ]);
});

test('a message holds one to four states', () => {
  assert.throws(() => encode([]), RangeError);
  assert.throws(() => encode([1, 2, 3, 4, 5].map((s) => state(s))), RangeError);
  assert.equal(encode([4, 3, 2, 1].map((s) => state(s))).byteLength, 2 + 4 * 14);
});
