// A press's way to its picture, split from the worker's echo and the
// video frames' callback times.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputSplit, KIND_ECHO, decodeEcho } from '../js/model/split.js';

function echoBytes(seq, micros, frame) {
  const b = new ArrayBuffer(13);
  const v = new DataView(b);
  v.setUint8(0, KIND_ECHO);
  v.setUint32(1, seq);
  v.setUint32(5, micros);
  v.setUint32(9, frame);
  return b;
}

// A stream at 60 fps whose picture n is received at 1000 + 16 n ms and
// shown 12 ms later, its RTP timestamps from a base near the wrap.
const BASE = 2 ** 32 - 4000;
const at = (n) => 1000 + 16 * n;
const picture = (n) => ({ rtpTimestamp: (BASE + 1500 * n) >>> 0, receiveTime: at(n), expectedDisplayTime: at(n) + 12 });

function newSplit() {
  const split = new InputSplit();
  split.fps = 60;
  return split;
}

// A press of state seq answered by picture n, its echo read `late` ms after
// the picture came: the press, the echo, then the picture's callback and
// the next one's.
function press(split, seq, n, { late = 0.5, worker = 10, skip = false } = {}) {
  split.sent(seq, at(n) - 20);
  split.echo({ seq, workerMs: worker, frame: n }, at(n) + late);
  if (!skip) split.frame(picture(n));
  split.frame(picture(n + 1));
}

test('an echo is read, and nothing else is taken for one', () => {
  assert.deepEqual(decodeEcho(echoBytes(70000, 12500, 3)), { seq: 70000, workerMs: 12.5, frame: 3 });
  assert.equal(decodeEcho(new ArrayBuffer(9)), null, 'the shorter echo of another version');
  assert.equal(decodeEcho(new Uint8Array([0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).buffer), null, 'not an echo');
  assert.equal(decodeEcho('hello'), null);
  assert.equal(decodeEcho(null), null);
});

test('two echoes read at once teach the base; a press is then split, and the parts add up to the whole', () => {
  const split = newSplit();
  press(split, 1, 10);
  press(split, 2, 20);
  const [first, second] = split.presses();
  assert.equal(first.seq, 1);
  assert.deepEqual(second, { seq: 2, total: 32, up: 5.25, worker: 10, down: 4.75, display: 12 });
  assert.equal(second.up + second.worker + second.down + second.display, second.total);
});

test('once the base is known, an echo read late still finds its own picture', () => {
  const split = newSplit();
  press(split, 1, 10);
  press(split, 2, 20);
  // Read 20 ms late: after the next picture came, and the picture's own callback.
  split.sent(3, at(30) - 20);
  split.frame(picture(30));
  split.frame(picture(31));
  split.echo({ seq: 3, workerMs: 10, frame: 30 }, at(30) + 20);
  split.frame(picture(32));
  assert.equal(split.presses().at(-1).seq, 3);
  assert.equal(split.presses().at(-1).total, 32, 'picture 30, not 31');
});

test('echoes read late teach nothing, and late ones outvoted teach nothing wrong', () => {
  const split = newSplit();
  press(split, 1, 10, { late: 17 }); // read after picture 11 came: would name it
  press(split, 2, 20, { late: 9 }); // names no picture
  assert.deepEqual(split.presses(), []);
  press(split, 3, 30);
  assert.deepEqual(split.presses(), [], 'the late echo and a prompt one disagree');
  press(split, 4, 40);
  assert.deepEqual(split.presses().map((p) => [p.seq, p.total]), [[3, 32], [4, 32]]);
  // Two more read a frame late: the base named three times holds.
  press(split, 5, 50);
  press(split, 6, 60, { late: 17 });
  press(split, 7, 70, { late: 17 });
  press(split, 8, 80);
  assert.deepEqual(split.presses().map((p) => p.total), [32, 32, 32, 32, 32, 32]);
});

test('a press whose picture had no callback is not counted', () => {
  const split = newSplit();
  press(split, 1, 10);
  press(split, 2, 20);
  press(split, 3, 30, { skip: true });
  press(split, 4, 40);
  assert.deepEqual(split.presses().map((p) => p.seq), [1, 2, 4]);
});

test('a way there estimated longer than the picture allows is cut to fit', () => {
  const split = newSplit();
  press(split, 1, 10);
  press(split, 2, 20);
  split.sent(3, at(30) - 20);
  split.echo({ seq: 3, workerMs: 10, frame: 30 }, at(30) + 2);
  split.frame(picture(30));
  split.frame(picture(31));
  const s = split.presses().at(-1);
  assert.deepEqual([s.up, s.worker, s.down, s.display], [6, 10, 4, 12]);
  assert.equal(s.up + s.worker + s.down + s.display, s.total);
});

test('echoes of states this page never sent, or of an earlier channel, are dropped', () => {
  const split = newSplit();
  press(split, 1, 10);
  press(split, 2, 20);
  split.sent(5, 0);
  split.reset(); // a new channel: numbers from 1 again, and maybe another track
  split.echo({ seq: 5, workerMs: 1, frame: 30 }, at(30));
  split.echo({ seq: 9, workerMs: 1, frame: 30 }, at(30));
  split.frame(picture(30));
  split.frame(picture(31));
  assert.equal(split.summary(), null);
});

test('the figures are the medians of the last presses', () => {
  const split = new InputSplit({ keep: 3 });
  split.fps = 60;
  for (const [seq, worker] of [[1, 90], [2, 20], [3, 10], [4, 30]]) press(split, seq, seq * 10, { worker });
  const s = split.summary();
  assert.equal(s.count, 3, 'the oldest press is forgotten');
  assert.equal(s.worker, 20);
  assert.equal(s.total, 32);
});

test('frames without the times a split needs, or no frame rate, change nothing', () => {
  const split = newSplit();
  split.frame({});
  split.frame({ receiveTime: 10, expectedDisplayTime: 20 });
  assert.equal(split.frames.length, 0);
  const unknown = new InputSplit();
  press(unknown, 1, 10);
  press(unknown, 2, 20);
  assert.equal(unknown.summary(), null);
});
