// The signalling envelopes, checked before anything acts on one.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROTOCOL_VERSION, checkEnvelope } from '../js/model/envelope.js';

test('a message of this page\'s session, or of none, is handled', () => {
  assert.deepEqual(checkEnvelope({ v: PROTOCOL_VERSION, type: 'room', session: 'mine', data: { rev: 1 } }, 'mine'), { type: 'room', data: { rev: 1 } });
  assert.deepEqual(checkEnvelope({ v: PROTOCOL_VERSION, type: 'hello' }, undefined), { type: 'hello', data: {} }, 'data is always an object');
});

test('a message of a session just quit is stale', () => {
  assert.deepEqual(checkEnvelope({ v: PROTOCOL_VERSION, type: 'ended', session: 'old' }, 'new'), { stale: true });
  assert.deepEqual(checkEnvelope({ v: PROTOCOL_VERSION, type: 'ended', session: 'old' }, undefined), { stale: true });
});

test('another protocol version means the page is out of date', () => {
  assert.deepEqual(checkEnvelope({ v: PROTOCOL_VERSION + 1, type: 'hello' }, undefined), { outdated: true });
  assert.deepEqual(checkEnvelope({ type: 'hello' }, undefined), { outdated: true });
});
