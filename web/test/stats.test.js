// The stats overlay's figures, from two getStats reports.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statsLines, streamStats } from '../js/model/stats.js';

const report = (t, { frames, bytes, lost, received, delay, emitted, rtt }) => [
  { type: 'inbound-rtp', kind: 'video', id: 'v', timestamp: t, codecId: 'c', framesDecoded: frames, bytesReceived: bytes,
    packetsLost: lost, packetsReceived: received, jitterBufferDelay: delay, jitterBufferEmittedCount: emitted, frameWidth: 256, frameHeight: 224 },
  { type: 'inbound-rtp', kind: 'audio', id: 'a', timestamp: t },
  { type: 'codec', id: 'c', mimeType: 'video/VP8' },
  { type: 'transport', id: 't', selectedCandidatePairId: 'p' },
  { type: 'candidate-pair', id: 'p', currentRoundTripTime: rtt },
];

test('the figures are rates over the time between two reports', () => {
  const a = report(1000, { frames: 100, bytes: 100_000, lost: 2, received: 500, delay: 1.0, emitted: 100, rtt: 0.02 });
  const b = report(3000, { frames: 220, bytes: 350_000, lost: 7, received: 995, delay: 1.6, emitted: 220, rtt: 0.025 });
  const s = streamStats(a, b);
  assert.equal(s.fps, 60);
  assert.equal(s.kbps, 1000);
  assert.equal(s.lossPct, 1); // 5 lost of 500
  assert.equal(s.rttMs, 25);
  assert.ok(Math.abs(s.jitterBufferMs - 5) < 1e-9, '0.6 s over 120 frames');
  assert.equal(s.codec, 'VP8');
  assert.equal(s.size, '256×224');
  assert.deepEqual(statsLines(s).slice(0, 5), [
    ['Frames', '60 fps'], ['Video', '1000 kbit/s · VP8 · 256×224'], ['Lost', '1.0 %'], ['Round trip', '25 ms'], ['Jitter buffer', '5 ms'],
  ]);
});

test('the presses\' way to their pictures, once there was a press', () => {
  const s = streamStats(null, []);
  assert.deepEqual(statsLines(s).slice(5), [
    ['Press to picture', 'press a button'], ['To the server', '–'], ['Server, frame, encoding', '–'], ['Back to here', '–'], ['Received to shown', '–'],
  ]);
  const split = { total: 30.04, up: 2, worker: 14.5, down: 2.25, display: 11, count: 3 };
  assert.deepEqual(statsLines(s, split).slice(5), [
    ['Press to picture', '30.0 ms · 3 presses'], ['To the server', '2.0 ms'], ['Server, frame, encoding', '14.5 ms'],
    ['Back to here', '2.3 ms'], ['Received to shown', '11.0 ms'],
  ]);
});

test('the first report gives what needs no second: the round trip, the codec', () => {
  const s = streamStats(null, report(1000, { frames: 10, bytes: 1, lost: 0, received: 5, delay: 0, emitted: 0, rtt: 0.004 }));
  assert.equal(s.fps, null);
  assert.equal(s.kbps, null);
  assert.equal(s.lossPct, null);
  assert.equal(s.rttMs, 4);
  assert.equal(statsLines(s)[0][1], '–');
});

test('no video yet: nothing known', () => {
  const s = streamStats(null, []);
  assert.deepEqual([s.fps, s.kbps, s.rttMs, s.codec], [null, null, null, null]);
});
