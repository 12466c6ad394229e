// A game session as data: what the server's messages do to it, and what a
// player would see of it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStore } from '../js/store.js';
import {
  loadedNotice, newSession, ownSlot, resetNotice, refusalAnswers, roomReceived, savesReceived, started, updateSession, watching,
} from '../js/model/session.js';
import { initialState } from '../js/model/state.js';

const game = { id: 'nes:telecart-test.nes', title: 'Telecart Test ROM', system: 'nes' };

/** A room message as the worker sends it, with Alice on player 1 and this page ("b") as given. */
function roomMessage({ rev = 1, slot = 0, crowd = false, others = [] } = {}) {
  return {
    id: 'ROOM1234', rev, game, private: false, crowd, you: 'b',
    members: [{ id: 'a', nick: 'Alice', slot: 1 }, { id: 'b', nick: '', slot }, ...others],
  };
}

function joined(fields = {}) {
  return { ...newSession({ kind: 'join', game: null, ref: 'ref1', nick: 'Bob' }), roomId: 'ROOM1234', ...fields };
}

test('a room message applied to the store gives the members and slot a user would see', () => {
  const store = createStore({ ...initialState({ prefs: { nick: '', private: false, crowd: false }, player: 'p'.repeat(22) }), session: joined() });
  store.update((st) => ({ ...st, session: roomReceived(st.session, roomMessage({ slot: 2 })).session }));
  const s = store.get().session;
  assert.deepEqual(s.roomState.members, [
    { id: 'a', nick: 'Alice', slot: 1, controller: false },
    { id: 'b', nick: '', slot: 2, controller: false },
  ]);
  assert.equal(ownSlot(s), 2);
  assert.equal(watching(s), false);
  assert.deepEqual(s.game, game, 'a joiner learns the game from the room');
});

test('a controller page asks for the first free controller, once', () => {
  const cases = [
    ['player 2 free', { others: [] }, 2],
    ['2 held, 3 free', { others: [{ id: 'c', slot: 2 }] }, 3],
    ['all held', { others: [{ id: 'c', slot: 2 }, { id: 'd', slot: 3 }, { id: 'e', slot: 4 }] }, 0],
    ['all held in a crowd room', { crowd: true, others: [{ id: 'c', slot: 2 }, { id: 'd', slot: 3 }, { id: 'e', slot: 4 }] }, 1],
  ];
  for (const [name, room, want] of cases) {
    const { retake } = roomReceived(joined({ controller: true }), roomMessage({ slot: 0, ...room }));
    assert.equal(retake, want, name);
  }
  const first = roomReceived(joined({ controller: true }), roomMessage({ slot: 0 })).session;
  assert.equal(roomReceived(first, roomMessage({ rev: 2, slot: 0 })).retake, 0, 'a refused or given-up seat is not asked for again');
  assert.equal(roomReceived(joined(), roomMessage({ slot: 0 })).retake, 0, 'a page that watches asks for nothing');
});

test('a joiner watches until a slot is theirs', () => {
  const { session } = roomReceived(joined(), roomMessage({ slot: 0 }));
  assert.equal(ownSlot(session), 0);
  assert.equal(watching(session), true);
});

test('a room state with a stale rev is ignored', () => {
  const first = roomReceived(joined(), roomMessage({ rev: 5, slot: 2 })).session;
  const late = roomReceived(first, roomMessage({ rev: 4, slot: 0 }));
  assert.equal(late.ignored, 'stale');
  assert.equal(late.session, first, 'nothing changed');
  assert.equal(ownSlot(late.session), 2);
  const same = roomReceived(first, roomMessage({ rev: 5, slot: 3 }));
  assert.equal(same.ignored, 'stale', 'the same rev again is not newer');
});

test('a room state that cannot be shown changes nothing', () => {
  const s = joined();
  const { session, ignored } = roomReceived(s, { id: 'ROOM1234', members: [] });
  assert.equal(ignored, 'invalid');
  assert.equal(session, s);
});

test('being moved is noticed, arriving is not', () => {
  const arrived = roomReceived(joined(), roomMessage({ rev: 1, slot: 0 }));
  assert.equal(arrived.moved, false);
  const seated = roomReceived(arrived.session, roomMessage({ rev: 2, slot: 3 }));
  assert.equal(seated.moved, true);
});

test('the answer to a seat request ends the wait for it', () => {
  const waiting = roomReceived(joined(), roomMessage({ rev: 1 })).session;
  const asked = { ...waiting, seatPending: 2 };
  assert.equal(roomReceived(asked, roomMessage({ rev: 2, slot: 0 })).session.seatPending, 2, 'another change is no answer');
  assert.equal(roomReceived(asked, roomMessage({ rev: 3, slot: 2 })).session.seatPending, null);
});

test('back after a lost connection, the slot held before is asked for when free', () => {
  const back = joined({ wantSlot: 2 });
  const free = roomReceived(back, roomMessage({ slot: 0 }));
  assert.equal(free.retake, 2);
  assert.equal(free.session.wantSlot, 0, 'asked once');
  const taken = roomReceived(back, roomMessage({ slot: 0, others: [{ id: 'c', nick: 'Carol', slot: 2 }] }));
  assert.equal(taken.retake, 0, 'someone took it meanwhile');
  const crowd = roomReceived(back, roomMessage({ slot: 0, crowd: true, others: [{ id: 'c', nick: 'Carol', slot: 2 }] }));
  assert.equal(crowd.retake, 2, 'in crowdplay a held slot is shared');
});

test('a resumed session is answered by its room state', () => {
  const resumed = joined({ resumeSent: true });
  assert.equal(roomReceived(resumed, roomMessage()).session.resumeSent, false);
});

test('"started" names the game, its picture and the secret to resume with', () => {
  const s = started(joined(), { room: 'ROOM1234', game, width: 256, height: 240, resume: 'secret' });
  assert.equal(s.started, true);
  assert.deepEqual(s.game, game);
  assert.equal(s.aspect, 256 / 240);
  assert.equal(s.resumeToken, 'secret');
  assert.equal(started(joined(), { aspect: 1.31 }).aspect, 1.31, 'the display aspect wins over the pixels');
});

test('the first list of saves decides Continue, for a starter only', () => {
  const saves = [{ slot: 1, time: 1000, thumbnail: '' }, { slot: 2, time: 2000, thumbnail: '' }];
  const starter = savesReceived(newSession({ kind: 'start', game, ref: 'r', nick: '' }), { saves });
  assert.deepEqual(starter.offer, { slot: 2, time: 2000, thumbnail: '' }, 'the newest');
  const later = savesReceived(starter, { saves: [{ slot: 3, time: 3000 }, ...saves], saved: 3 });
  assert.equal(later.offer, starter.offer, 'a save made since is not a game to continue');
  assert.equal(savesReceived(joined(), { saves }).offer, null, 'a joiner is never offered it');
});

test('a list of saves that follows a save answers it', () => {
  const saving = { ...newSession({ kind: 'start', game, ref: 'r', nick: '' }), saving: 2 };
  assert.equal(savesReceived(saving, { saves: [], saved: 1 }).saving, 2, 'another slot');
  assert.equal(savesReceived(saving, { saves: [], saved: 2 }).saving, null);
});

test('a refusal answers the older of a save and a load, else the seat', () => {
  const both = { ...joined(), saving: 1, savingSince: 10, loading: 2, loadingSince: 20 };
  assert.equal(refusalAnswers(both, 'save_failed'), 'save');
  assert.equal(refusalAnswers({ ...both, savingSince: 30 }, 'no_save'), 'load');
  assert.equal(refusalAnswers({ ...both, saving: null }, 'no_save'), 'load');
  assert.equal(refusalAnswers(both, 'slot_taken'), 'seat');
});

test('a load is told to the room by who loaded what', () => {
  const s = roomReceived(joined(), roomMessage({ slot: 2 })).session;
  const now = new Date(2024, 2, 5, 15, 0).getTime();
  const time = new Date(2024, 2, 5, 14, 2).getTime();
  const byAlice = loadedNotice(s, { by: 'a', save: { slot: 1, time } }, now);
  assert.equal(byAlice.mine, false);
  // Today's saves are named by their time, in this device's way of writing it.
  const clock = new Date(time).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  assert.equal(byAlice.text, `Alice loaded the save of ${clock}`);
  const mine = loadedNotice(s, { by: 'b', save: { slot: 1, time } }, now);
  assert.equal(mine.mine, true);
  assert.equal(mine.text, `Loaded the save of ${clock}`);
  assert.equal(loadedNotice(s, { by: 'x' }, now).text, 'Someone loaded a save');
});

test('a restart is told to the room by who restarted', () => {
  const s = roomReceived(joined(), roomMessage({ slot: 2 })).session;
  assert.equal(resetNotice(s, { by: 'a' }), 'Alice restarted the game');
  assert.equal(resetNotice(s, { by: 'b' }), 'You restarted the game');
  assert.equal(resetNotice(s, { by: 'x' }), 'Someone restarted the game');
});

test('a change to a session that is over changes nothing', () => {
  const st = { session: joined() };
  assert.equal(updateSession(st, 'another', { slot: 3 }), st);
  assert.equal(updateSession(st, 'ref1', { slot: 3 }).session.slot, 3);
  assert.equal(updateSession({ session: null }, undefined, { slot: 3 }).session, null);
});
