// A press's way to its picture, split from the worker's echo and the
// video frames' callback times.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputSplit, KIND_ECHO, decodeEcho } from '../js/model/split.js';

function echoBytes(seq, micros, rtp) {
  const b = new ArrayBuffer(13);
  const v = new DataView(b);
  v.setUint8(0, KIND_ECHO);
  v.setUint32(1, seq);
  v.setUint32(5, micros);
  v.setUint32(9, rtp);
  return b;
}

// A stream at 60 fps whose picture n is received at 1000 + 16 n ms and
// shown 12 ms later, its RTP timestamps about to wrap.
const BASE = 2 ** 32 - 4000;
const at = (n) => 1000 + 16 * n;
const rtp = (n) => (BASE + 1500 * n) >>> 0;
const picture = (n) => ({ rtpTimestamp: rtp(n), receiveTime: at(n), expectedDisplayTime: at(n) + 12 });

// A press of state seq answered by picture n, its echo read `late` ms after
// the picture came: the press, the echo, then the picture's callback and
// the next one's.
function press(split, seq, n, { late = 0.5, worker = 10, skip = false } = {}) {
  split.sent(seq, at(n) - 20);
  split.echo({ seq, workerMs: worker, rtp: rtp(n) }, at(n) + late);
  if (!skip) split.frame(picture(n));
  split.frame(picture(n + 1));
}

test('an echo is read, and nothing else is taken for one', () => {
  assert.deepEqual(decodeEcho(echoBytes(70000, 12500, 2 ** 32 - 1)), { seq: 70000, workerMs: 12.5, rtp: 2 ** 32 - 1 });
  assert.equal(decodeEcho(new ArrayBuffer(9)), null, 'the shorter echo of another version');
  assert.equal(decodeEcho(new Uint8Array([0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).buffer), null, 'not an echo');
  assert.equal(decodeEcho('hello'), null);
  assert.equal(decodeEcho(null), null);
});

test('a press is split where its time went, and the parts add up to the whole', () => {
  const split = new InputSplit();
  press(split, 1, 2); // across the timestamps' wrap
  const [s] = split.presses();
  assert.deepEqual(s, { seq: 1, total: 32, up: 5.25, worker: 10, down: 4.75, display: 12 });
  assert.equal(s.up + s.worker + s.down + s.display, s.total);
});

test("a worker's time longer than the page saw from the press to the picture leaves no part negative", () => {
  const split = new InputSplit();
  press(split, 1, 2, { worker: 21 }); // the picture came 20 ms after the press
  const [s] = split.presses();
  assert.deepEqual(s, { seq: 1, total: 32, up: 0, worker: 20, down: 0, display: 12 });
  assert.equal(s.up + s.worker + s.down + s.display, s.total);
});

test('an echo read late, after its picture and the next were called back, finds its own picture', () => {
  const split = new InputSplit();
  split.sent(1, at(30) - 20);
  split.frame(picture(30));
  split.frame(picture(31));
  split.echo({ seq: 1, workerMs: 10, rtp: rtp(30) }, at(30) + 25);
  assert.deepEqual(split.presses().map((p) => [p.seq, p.total]), [[1, 32]]);
});

test('a picture called back before its echo was read is waited for no longer than the frames are kept', () => {
  const split = new InputSplit();
  split.sent(1, 0);
  split.echo({ seq: 1, workerMs: 10, rtp: rtp(50) }, at(50));
  split.frame(picture(49));
  assert.equal(split.pending.length, 1, 'its picture is still to come');
  split.frame(picture(51));
  assert.equal(split.pending.length, 0, 'a later frame came, and its own never will');
  assert.deepEqual(split.presses(), []);
});

test('a press whose picture had no callback is not counted', () => {
  const split = new InputSplit();
  press(split, 1, 10);
  press(split, 2, 20, { skip: true });
  press(split, 3, 30);
  assert.deepEqual(split.presses().map((p) => p.seq), [1, 3]);
});

test('a way there estimated longer than the picture allows is cut to fit', () => {
  const split = new InputSplit();
  split.sent(1, at(30) - 20);
  split.echo({ seq: 1, workerMs: 10, rtp: rtp(30) }, at(30) + 2);
  split.frame(picture(30));
  const [s] = split.presses();
  assert.deepEqual([s.up, s.worker, s.down, s.display], [6, 10, 4, 12]);
  assert.equal(s.up + s.worker + s.down + s.display, s.total);
});

test('echoes of states this page never sent, or of an earlier channel, are dropped', () => {
  const split = new InputSplit();
  split.sent(5, 0);
  split.reset(); // a new channel: numbers from 1 again
  split.echo({ seq: 5, workerMs: 1, rtp: rtp(30) }, at(30));
  split.echo({ seq: 9, workerMs: 1, rtp: rtp(30) }, at(30));
  split.frame(picture(30));
  assert.equal(split.summary(), null);
});

test('the figures are the medians of the last presses', () => {
  const split = new InputSplit({ keep: 3 });
  for (const [seq, worker] of [[1, 90], [2, 20], [3, 10], [4, 30]]) press(split, seq, seq * 10, { worker });
  const s = split.summary();
  assert.equal(s.count, 3, 'the oldest press is forgotten');
  assert.equal(s.worker, 20);
  assert.equal(s.total, 32);
});

test('a picture shown, by Chromium\'s reckoning, just before it came is shown as it came', () => {
  const split = new InputSplit();
  split.sent(1, 1000);
  split.echo({ seq: 1, workerMs: 8, rtp: rtp(1) }, 1015);
  split.frame({ rtpTimestamp: rtp(1), receiveTime: 1014.3, expectedDisplayTime: 1014.2 });
  const [s] = split.presses();
  assert.equal(s.display, 0);
  assert.ok(Math.abs(s.up + s.worker + s.down + s.display - s.total) < 1e-9);
  assert.ok(Math.abs(s.total - 14.3) < 1e-9);
});

test('frames without the times a split needs change nothing', () => {
  const split = new InputSplit();
  split.frame({});
  split.frame({ receiveTime: 10, expectedDisplayTime: 20 });
  assert.equal(split.frames.length, 0);
});
