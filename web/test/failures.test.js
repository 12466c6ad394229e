// What an "error" from the server does, and the words a player reads.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  connectionLostText, errorOutcome, failure, LOST_TEXT, refusalText, TURN_REFUSED_TEXT, TURN_UNREACHABLE_TEXT,
  unplayableVideo,
} from '../js/model/failures.js';
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

test('a full room says so, in the server\'s words, and may be retried', () => {
  const joining = newSession({ kind: 'join', game: null, ref: 'r', nick: '' });
  const o = errorOutcome({ code: 'room_full', message: 'This room is full: 50 people are watching already.' }, joining, 'loading');
  assert.equal(o.phase, 'busy');
  assert.equal(o.message.title, 'This room is full');
  assert.equal(o.message.text, 'This room is full: 50 people are watching already. Try again in a while.');
  assert.equal(o.message.retry, 'Retry');
  assert.equal(o.message.back, true);
  assert.equal(errorOutcome({ code: 'room_full' }, joining, 'loading').message.text, 'Too many people are in this room right now. Try again in a while.');
});

test('over a limit: not right now, in the server’s words, and Retry tries again', () => {
  const words = 'Many games were started from your network in a short while. Wait a minute, then try again.';
  const o = errorOutcome({ code: 'too_many', message: words }, starting, 'loading');
  assert.equal(o.phase, 'busy');
  assert.equal(o.message.kind, 'limited');
  assert.equal(o.message.title, 'Not right now');
  assert.equal(o.message.text, words);
  assert.equal(o.message.retry, 'Try again');
  assert.equal(o.message.back, true);
  assert.match(errorOutcome({ code: 'too_many' }, starting, 'loading').message.text, /too much at once/, 'words of its own without the server’s');
});

test('a socket the server refused for now says why; one simply lost does not', () => {
  const words = 'Too many Telecart pages are open from your network. Close one, and this page connects again.';
  assert.equal(refusalText({ opened: true, code: 1013, reason: ` ${words} ` }), words);
  assert.equal(refusalText({ opened: true, code: 1006, reason: '' }), '');
  assert.equal(refusalText({ opened: true, code: 1000, reason: 'bye' }), '', 'only Try Again Later is a refusal');
  assert.equal(refusalText({ opened: false, code: 0, reason: '' }), '');
  assert.equal(refusalText({ code: 1013 }), '');
  assert.equal(refusalText(undefined), '');
});

test('a refused message does not end a game that plays', () => {
  assert.deepEqual(errorOutcome({ code: 'bad_request' }, starting, 'playing'), { ignore: true });
  assert.equal(errorOutcome({ code: 'bad_request' }, starting, 'loading').phase, 'failed');
});

test('a resumed session the worker let go is joined anew', () => {
  assert.deepEqual(errorOutcome({ code: 'no_session' }, { ...starting, resumeSent: true }, 'playing'), { rejoin: true });
});

test('a link to a room nobody knows says so, and offers no game', () => {
  const joining = newSession({ kind: 'join', game: null, ref: 'r', nick: '' });
  const words = 'There is no room at this link: check that it was copied whole.';
  const o = errorOutcome({ code: 'no_room', message: words }, joining, 'loading');
  assert.equal(o.phase, 'ended');
  assert.equal(o.message.title, 'No room at this link');
  assert.equal(o.message.text, words);
  assert.equal(o.message.retry, '');
  assert.ok(o.message.back);
  assert.equal(o.last, null);
  assert.equal(errorOutcome({ code: 'room_ended' }, joining, 'loading').message.title, 'This room has ended', 'an ended room says that');
});

test('a file that is no game says what is wrong with it, and offers no retry', () => {
  const words = 'This file is empty: it holds no game.';
  const o = errorOutcome({ code: 'bad_game', message: words }, starting, 'loading');
  assert.equal(o.phase, 'failed');
  assert.equal(o.message.title, 'This game can’t be played');
  assert.equal(o.message.text, words);
  assert.equal(o.message.retry, '');
  assert.ok(o.message.back, 'Back to the games');
  assert.ok(errorOutcome({ code: 'bad_game' }, starting, 'loading').message.text, 'words of its own without the server’s');
  assert.equal(errorOutcome({ code: 'game_failed' }, starting, 'loading').message.retry, 'Retry', 'a game that failed otherwise may start again');
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

test('a connection that never came up, its relay refusing the credentials, says so', () => {
  const refused = [{ url: 'turn:turn.example.org:3478?transport=udp', errorCode: 401, errorText: 'Unauthorized' }];
  assert.equal(connectionLostText(refused, false), TURN_REFUSED_TEXT);
  assert.match(TURN_REFUSED_TEXT, /relay server \(TURN\) refused this browser’s credentials/);
  assert.match(TURN_REFUSED_TEXT, /turn_secret matches the TURN server’s static-auth-secret/);
  assert.equal(connectionLostText([{ url: 'turns:t.example.org:5349?transport=tcp', errorCode: 403 }], false), TURN_REFUSED_TEXT);
  // A refusal beside an unreachable URL is still the refusal.
  assert.equal(connectionLostText([{ url: 'turn:t:3478?transport=tcp', errorCode: 701 }, ...refused], false), TURN_REFUSED_TEXT);
});

test('a relay out of reach, a STUN server\'s error, or a connection that had come up', () => {
  assert.equal(connectionLostText([{ url: 'turn:t:3478?transport=udp', errorCode: 701 }], false), TURN_UNREACHABLE_TEXT);
  // STUN errors say nothing of the relay.
  assert.equal(connectionLostText([{ url: 'stun:s:3478', errorCode: 701 }, { url: 'stun:s', errorCode: 401 }], false), LOST_TEXT);
  // Connected once: the relay was not what failed.
  assert.equal(connectionLostText([{ url: 'turn:t', errorCode: 401 }], true), LOST_TEXT);
  assert.equal(connectionLostText([], false), LOST_TEXT);
  assert.equal(connectionLostText(undefined, false), LOST_TEXT);
  assert.equal(connectionLostText([null, { errorCode: 401 }], false), LOST_TEXT);
  assert.equal(LOST_TEXT, failure('lost').text);
});

test('an offer whose video this browser cannot play is told apart', () => {
  const offer = (...codecs) => ['v=0', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=rtpmap:111 opus/48000/2',
    `m=video 9 UDP/TLS/RTP/SAVPF ${codecs.map((_, i) => 96 + i).join(' ')}`,
    ...codecs.map((c, i) => `a=rtpmap:${96 + i} ${c}/90000`), 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', ''].join('\r\n');
  const firefoxWithoutOpenH264 = [{ mimeType: 'video/VP8' }, { mimeType: 'video/VP9' }, { mimeType: 'video/rtx' }];
  const chromium = [{ mimeType: 'video/VP8' }, { mimeType: 'video/H264' }, { mimeType: 'video/rtx' }];
  assert.equal(unplayableVideo(offer('H264', 'rtx'), firefoxWithoutOpenH264), 'H264');
  assert.equal(unplayableVideo(offer('H264', 'rtx'), chromium), '');
  assert.equal(unplayableVideo(offer('VP8', 'rtx', 'flexfec-03'), firefoxWithoutOpenH264), '');
  assert.equal(unplayableVideo(offer('opus'), []), '', 'a browser that says nothing is not refused');
  assert.equal(unplayableVideo(offer('H264'), undefined), '');
  assert.equal(unplayableVideo('v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n', firefoxWithoutOpenH264), '', 'a controller page gets no video');
  assert.equal(unplayableVideo(null, chromium), '');
});
