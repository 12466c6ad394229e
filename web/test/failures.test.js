// What an "error" from the server does, and the words a player reads.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorOutcome, failure } from '../js/model/failures.js';
import { newSession } from '../js/model/session.js';

const game = { id: 'nes:telecart-test.nes', title: 'Telecart Test ROM', system: 'nes' };
const starting = newSession({ kind: 'start', game, ref: 'r', nick: '' });

test('a link to a room that is over offers its game afresh', () => {
  const o = errorOutcome({ code: 'room_ended', game }, newSession({ kind: 'join', game: null, ref: 'r', nick: '' }), 'loading');
  assert.equal(o.phase, 'ended');
  assert.equal(o.message.title, 'This room has ended');
  assert.equal(o.message.retry, 'Play Telecart Test ROM');
  assert.equal(o.message.back, true);
  assert.deepEqual(o.last, { kind: 'start', game, room: null, slot: 1 }, 'Retry starts it');
});

test('a room that is over, of a game nobody knows, has nothing to retry', () => {
  const o = errorOutcome({ code: 'room_ended' }, newSession({ kind: 'join', game: null, ref: 'r', nick: '' }), 'loading');
  assert.equal(o.message.retry, '');
  assert.equal(o.last, null);
});

test('no worker: busy, and a worker picked by hand is named', () => {
  assert.equal(errorOutcome({ code: 'no_worker' }, starting, 'loading').message.title, 'All servers are busy');
  const picked = errorOutcome({ code: 'no_worker', message: 'This server is full' }, { ...starting, worker: 'eu-1' }, 'loading');
  assert.equal(picked.phase, 'busy');
  assert.match(picked.message.text, /Server “eu-1”, picked in Servers/);
  assert.equal(picked.message.detail, 'This server is full');
});

test('a refused message does not end a game that plays', () => {
  assert.deepEqual(errorOutcome({ code: 'bad_request' }, starting, 'playing'), { ignore: true });
  assert.equal(errorOutcome({ code: 'bad_request' }, starting, 'loading').phase, 'failed');
});

test('a resumed session the worker let go is joined anew', () => {
  assert.deepEqual(errorOutcome({ code: 'no_session' }, { ...starting, resumeSent: true }, 'playing'), { rejoin: true });
});

test('a game that is no more cannot be retried; an unknown error says its code', () => {
  assert.equal(errorOutcome({ code: 'unknown_game' }, starting, 'loading').message.retry, '');
  const odd = errorOutcome({ code: 'strange' }, starting, 'loading');
  assert.equal(odd.phase, 'failed');
  assert.equal(odd.message.detail, 'Error: strange');
  assert.equal(errorOutcome({}, starting, 'loading').message.detail, 'Error: internal');
});

test('an out-of-date page only offers to reload', () => {
  const m = failure('outdated');
  assert.equal(m.reload, true);
  assert.equal(m.retry, '');
  assert.equal(m.back, false);
});

test('a failure that may be the network\'s links to the connection check', () => {
  assert.equal(failure('unreachable').check, true);
  assert.equal(failure('lost').check, true);
  assert.equal(failure('busy').check, false);
  assert.equal(failure('outdated').check, false);
});
