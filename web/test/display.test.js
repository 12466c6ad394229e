// The display report: how long frames wait between arrival and display.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SlackMeter, WINDOW, REPORT_SIZE, encodeReport, quantile, slackOf } from '../js/model/display.js';

const frame = (receiveTime, expectedDisplayTime) => ({ receiveTime, expectedDisplayTime, presentedFrames: 1 });

test('a frame waits from its arrival to its expected display', () => {
  assert.equal(slackOf(frame(100, 108.5)), 8.5);
  assert.equal(slackOf({ expectedDisplayTime: 108 }), null, 'not a WebRTC frame: no receive time');
  assert.equal(slackOf(frame(0, 8)), null, 'a zero receive time is a missing one');
  assert.equal(slackOf(frame(110, 108)), null, 'shown before it came');
  assert.equal(slackOf(frame(100, 1200)), null, 'a second later: not a wait for the display');
  assert.equal(slackOf(undefined), null);
});

test('the report is the slack 90 % of the newest frames have at least', () => {
  const m = new SlackMeter();
  assert.equal(m.report(), null, 'nothing before the first frame');
  // Most frames wait 9 ms; a tenth come late and wait only 2.
  for (let i = 0; i < 200; i++) m.add(frame(i * 16.7, i * 16.7 + (i % 10 === 0 ? 2 : 9)));
  assert.deepEqual(m.report(), { slackMs: 2, frames: WINDOW });
  // Only the newest frames count: now they all wait 5 ms.
  for (let i = 0; i < WINDOW; i++) m.add(frame(i, i + 5));
  assert.deepEqual(m.report(), { slackMs: 5, frames: WINDOW });
});

test('frames without a usable slack leave the report alone', () => {
  const m = new SlackMeter();
  m.add(frame(10, 16));
  m.add({});
  m.add(frame(20, 10));
  assert.deepEqual(m.report(), { slackMs: 6, frames: 1 });
});

test('quantiles by nearest rank', () => {
  assert.equal(quantile([], 0.5), null);
  assert.equal(quantile([3, 1, 2], 0.5), 2);
  assert.equal(quantile([5, 1, 4, 2, 3, 6, 7, 8, 9, 10], 0.1), 1);
});

test('the report is 7 bytes: kind 0x80, slack in µs, frames', () => {
  const view = new DataView(new ArrayBuffer(REPORT_SIZE));
  encodeReport(view, { slackMs: 8.5004, frames: 60 });
  assert.deepEqual([...new Uint8Array(view.buffer)], [0x80, 0, 0, 0x21, 0x34, 0, 60]);
  encodeReport(view, { slackMs: 5000, frames: 1e6 });
  assert.equal(view.getUint32(1), 999_999, 'under the server’s bound of a second');
  assert.equal(view.getUint16(5), 0xffff);
});
