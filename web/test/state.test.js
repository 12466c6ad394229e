// The app's state: phases, and what moving between them puts away.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { enter, greeted, initialState, openPanel, remember, togglePanel, viewOf } from '../js/model/state.js';
import { newSession } from '../js/model/session.js';

const fresh = () => initialState({ prefs: { nick: '', private: false, crowd: false }, player: 'p'.repeat(22) });
const game = { id: 'nes:telecart-test.nes', title: 'Telecart Test ROM', system: 'nes' };

test('each phase shows its screen; the failures share the message', () => {
  assert.equal(viewOf('playing'), 'player');
  assert.equal(viewOf('list'), 'list');
  for (const phase of ['unreachable', 'lost', 'busy', 'failed', 'ended', 'outdated']) assert.equal(viewOf(phase), 'message');
});

test('leaving the game puts its panels, link and help away', () => {
  const playing = { ...enter(fresh(), 'playing'), panel: { name: 'saves', focus: false }, shareLink: 'http://x/r/ROOM', help: true };
  const lost = enter(playing, 'lost', { message: { kind: 'lost' } });
  assert.equal(lost.panel, null);
  assert.equal(lost.shareLink, '');
  assert.equal(lost.help, false);
  assert.deepEqual(lost.message, { kind: 'lost' });
});

test('leaving the list closes its dialog and form; a new message clears the countdown', () => {
  const list = { ...enter(fresh(), 'list'), servers: true, importing: { error: '' }, help: true };
  const loading = enter(list, 'loading');
  assert.equal(loading.servers, false);
  assert.equal(loading.importing, null);
  assert.equal(loading.help, true, 'the help stays open over any screen but the game left');
  const counting = { ...enter(list, 'unreachable', { message: { kind: 'unreachable' } }), note: 'Trying again in 3 s…' };
  assert.equal(enter(counting, 'unreachable', { message: { kind: 'unreachable' } }).note, '');
  assert.equal(enter(counting, 'list').message, null);
});

test('hello keeps the games as they were when they did not change', () => {
  const first = greeted({ ...fresh(), attempts: 3 }, { games: [game], iceServers: [{ urls: 'stun:x' }] });
  assert.equal(first.hello, true);
  assert.equal(first.attempts, 0);
  const again = greeted(first, { games: [game] });
  assert.equal(again.games, first.games);
  assert.notEqual(greeted(first, { games: [] }).games, first.games);
});

test('a panel opens only with something to show, one at a time', () => {
  const st = fresh();
  assert.equal(openPanel(st, 'saves', false), st, 'no game, no saves');
  const inGame = { ...st, session: newSession({ kind: 'start', game, ref: 'r', nick: '' }), shareLink: 'http://x' };
  assert.equal(openPanel(inGame, 'players', true), inGame, 'no room state yet');
  const saves = openPanel(inGame, 'saves', true);
  assert.deepEqual(saves.panel, { name: 'saves', focus: true });
  assert.equal(saves.shareLink, '', 'the link is put away');
  assert.equal(togglePanel(saves, 'saves', false).panel, null);
});

test('Retry learns the room and game as the session goes', () => {
  assert.equal(remember(fresh(), { room: 'X' }).last, null, 'nothing to retry');
  const st = { ...fresh(), last: { kind: 'join', game: null, room: 'X', slot: 0 } };
  assert.deepEqual(remember(st, { game, slot: 2 }).last, { kind: 'join', game, room: 'X', slot: 2 });
});
