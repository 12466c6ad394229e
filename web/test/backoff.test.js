// How long the page waits before dialling the server again.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countdown, reconnectDelay, resumeDelay, resumeGivenUp } from '../js/model/backoff.js';

test('the reconnect backoff doubles from 1 s to 30 s, and stays there', () => {
  const delays = Array.from({ length: 8 }, (_, attempts) => reconnectDelay(attempts));
  assert.deepEqual(delays, [1, 2, 4, 8, 16, 30, 30, 30]);
});

test('a game that plays on dials again after 0.5, 1, 2 … 8 s', () => {
  const delays = Array.from({ length: 7 }, (_, attempt) => resumeDelay(attempt));
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 8000, 8000]);
});

test('a game without its server for more than a minute is given up', () => {
  assert.equal(resumeGivenUp(1000, 61_000), false);
  assert.equal(resumeGivenUp(1000, 61_001), true);
});

test('the countdown shows whole seconds and wakes when the number changes', () => {
  // 4.5 s to go: "5 s", for half a second; then "4 s" for a whole one.
  assert.deepEqual(countdown(10_000, 5_500), { left: 5, wait: 500 });
  assert.deepEqual(countdown(10_000, 6_000), { left: 4, wait: 1000 });
  assert.equal(countdown(10_000, 10_000).left, 0, 'due: dial now');
});
