// Rooms as the page reads them: states, listings, names.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cleanNick, controllerFromPath, controllerLink, countsLabel, formatAge, roomFromPath, roomLink, slotNames, validListings,
} from '../js/model/room.js';

test('a room\'s address and link', () => {
  assert.equal(roomFromPath('/r/AbC_-123'), 'AbC_-123');
  assert.equal(roomFromPath('/r/AbC/'), 'AbC');
  assert.equal(roomFromPath('/r/a%2Fb'), null);
  assert.equal(roomFromPath('/games'), null);
  assert.equal(roomLink('AbC', 'https://play.example.org'), 'https://play.example.org/r/AbC');
  assert.equal(roomFromPath('/r/AbC/pad'), null, "a controller page's path is not a room's");
  assert.equal(controllerFromPath('/r/AbC/pad'), 'AbC');
  assert.equal(controllerFromPath('/r/AbC/pad/'), 'AbC');
  assert.equal(controllerFromPath('/r/AbC'), null);
  assert.equal(controllerFromPath('/r/a%2Fb/pad'), null);
  assert.equal(controllerLink('AbC', 'https://play.example.org'), 'https://play.example.org/r/AbC/pad');
});

test('the live rooms: public ones only, the liveliest first, each once', () => {
  const game = { id: 'nes:a.nes', title: 'A', system: 'nes' };
  const rooms = validListings([
    { id: 'quiet', game, players: 1, spectators: 0, age: 5000 },
    { id: 'busy', game, players: 2, spectators: 3, age: 1000 },
    { id: 'secret', game, players: 4, private: true },
    { id: 'over', game, players: 4, closed: true },
    { id: 'busy', game, players: 1 },
    { id: 'bad id!', game },
    { id: 'nogame' },
  ], 100);
  assert.deepEqual(rooms.map((r) => r.id), ['busy', 'quiet']);
  assert.equal(countsLabel(rooms[0]), '2 playing · 3 watching', 'each count with its noun');
  assert.equal(countsLabel(rooms[1]), '1 playing');
});

test('a listed room\'s age counts on from its arrival', () => {
  const room = { age: 59_000, receivedAt: 1000 };
  assert.equal(formatAge(room, 1000), 'just started');
  assert.equal(formatAge(room, 2000), '1 min');
  assert.equal(formatAge({ age: 135 * 60_000, receivedAt: 0 }, 0), '2 h 15 min');
  assert.equal(formatAge({ age: 120 * 60_000, receivedAt: 0 }, 0), '2 h');
});

test('who holds a slot, in words', () => {
  assert.equal(slotNames([{ nick: 'Alice' }], 1), 'Alice');
  assert.equal(slotNames([{ nick: '' }], 2), 'Player 2');
  assert.equal(slotNames([{ nick: 'Alice' }, { nick: 'Bob' }, { nick: '' }, { nick: '' }], 1), 'Alice, Bob and 2 guests');
  assert.equal(slotNames([{ nick: '' }, { nick: '' }], 3), '2 guests');
});

test('a nickname is cut as the server counts it, never inside a character', () => {
  assert.equal(cleanNick('  Bob\u0007 '), 'Bob');
  assert.equal(new TextEncoder().encode(cleanNick('é'.repeat(30))).length, 40);
  assert.equal(cleanNick('😀'.repeat(11)), '😀'.repeat(10));
});
