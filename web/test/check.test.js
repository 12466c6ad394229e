// The connectivity check's words and ways, as the /check page uses them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { candidatePort, port, servers, stepTitle, summary, transport, wantedCandidate, ways, words } from '../js/model/check.js';

test('ports: the URL\'s, or its scheme\'s default', () => {
  assert.equal(port('http://h:8000'), '8000');
  assert.equal(port('http://h'), '80');
  assert.equal(port('https://h/ping'), '443');
  assert.equal(port('turn:t:3479?transport=tcp'), '3479');
  assert.equal(port('turn:t'), '3478');
  assert.equal(port('stun:s'), '3478');
  assert.equal(port('turns:t'), '5349');
});

test('transports of STUN and TURN URLs', () => {
  assert.equal(transport('turn:t:3478'), 'udp');
  assert.equal(transport('turn:t:3478?transport=udp'), 'udp');
  assert.equal(transport('turn:t:3478?transport=tcp'), 'tcp');
  assert.equal(transport('turns:t'), 'tls');
});

test('a direct way with the STUN servers, then one way per TURN URL', () => {
  const ice = [{ urls: 'stun:s1' }, { urls: ['turn:t', 'turn:t?transport=tcp', 'turns:t'], username: 'u', credential: 'c' }];
  assert.equal(servers(ice).length, 4);
  const w = ways(ice);
  assert.deepEqual(w.map((x) => [x.mode, x.relay?.url ?? null]), [
    ['direct', null], ['turn-udp', 'turn:t'], ['turn-tcp', 'turn:t?transport=tcp'], ['turn-tcp', 'turns:t'],
  ]);
  assert.deepEqual(w[0].stun.map((s) => s.url), ['stun:s1']);
  assert.equal(w[1].relay.username, 'u');
  assert.equal(w[1].relay.credential, 'c');
  assert.deepEqual(ways(undefined).map((x) => x.mode), ['direct']);
});

test('which candidate each server should give', () => {
  assert.equal(wantedCandidate(''), 'host');
  assert.equal(wantedCandidate('stun:s'), 'srflx');
  assert.equal(wantedCandidate('turn:t?transport=tcp'), 'relay');
});

test('the worker\'s ports, from its host and srflx candidates only', () => {
  assert.equal(candidatePort('candidate:1 1 udp 2130706431 10.0.0.5 8443 typ host'), '8443');
  assert.equal(candidatePort('candidate:2 1 UDP 1 203.0.113.7 8443 typ srflx raddr 10.0.0.5 rport 8443'), '8443');
  assert.equal(candidatePort('candidate:3 1 udp 1 198.51.100.1 61000 typ relay raddr 0.0.0.0 rport 0'), null);
  assert.equal(candidatePort('candidate:4 1 tcp 1 10.0.0.5 9 typ host tcptype active'), null);
  assert.equal(candidatePort(''), null);
});

test('each failure names what to fix', () => {
  const cases = [
    [{ kind: 'no-coordinator', url: 'http://h:8000' }, 'The coordinator does not answer at http://h:8000: is it running, and is TCP port 8000 open?'],
    [{ kind: 'no-websocket', url: 'ws://h:8000/ws' }, 'The WebSocket at ws://h:8000/ws does not open: a proxy in front of the coordinator must pass WebSocket upgrades (the Upgrade and Connection headers) through to it.'],
    [{ kind: 'no-workers', url: 'http://h:8000' }, 'No worker is registered: start a worker with -coordinator ws://h:8000/worker and its credential from telecart worker-token.'],
    [{ kind: 'no-workers', url: 'https://h' }, 'No worker is registered: start a worker with -coordinator wss://h/worker and its credential from telecart worker-token.'],
    [{ kind: 'no-ping', worker: 'eu-1', url: 'https://w:8001/ping' }, "Worker eu-1's ping at https://w:8001/ping does not answer: open TCP 8001 or set ping_url."],
    [{ kind: 'no-relay', url: 'turn:t:3478' }, 'No relay candidate: the TURN server at turn:t:3478 did not answer or refused the credentials (check turn_secret, or the username and credential in ice_servers; UDP port 3478 must be open to it).'],
    [{ kind: 'no-relay', url: 'turn:t?transport=tcp' }, 'No relay candidate: the TURN server at turn:t?transport=tcp did not answer or refused the credentials (check turn_secret, or the username and credential in ice_servers; TCP port 3478 must be open to it).'],
    [{ kind: 'no-srflx', url: 'stun:s' }, 'No srflx candidate: the STUN server at stun:s did not answer: is it running, and is UDP port 3478 open to it?'],
    [{ kind: 'no-offer', worker: 'eu-1' }, 'Worker eu-1 did not answer the test connection: is it running, connected to the coordinator, and not too busy?'],
    [{ kind: 'refused', worker: 'eu-1', message: 'Busy.' }, 'Worker eu-1 refused the test connection: Busy.'],
    [{ kind: 'direct', worker: 'eu-1', ports: ['8443'] }, 'A direct connection to worker eu-1 failed: open UDP port 8443 (udp_port) and set public_ips to its public address.'],
    [{ kind: 'direct', worker: 'eu-1', ports: [] }, 'A direct connection to worker eu-1 failed: it offered no address to connect to; set public_ips to its public address.'],
    [{ kind: 'direct', worker: 'eu-1', ports: ['1', '2'] }, 'A direct connection to worker eu-1 failed: it uses a UDP port per player (1, 2); set udp_port to carry them all on one, open that UDP port, and set public_ips to its public address.'],
    [{ kind: 'turn-tcp', worker: 'eu-1', url: 'turn:t?transport=tcp', ports: ['8443'] }, "A connection to worker eu-1 through the TURN server at turn:t?transport=tcp over TCP failed: the TURN server must accept the credentials and reach the worker's UDP port 8443."],
  ];
  for (const [f, want] of cases) assert.equal(words(f), want);
});

test('step titles and the summary', () => {
  assert.equal(stepTitle({ step: 'connection', mode: 'direct', worker: 'eu-1' }), 'Worker eu-1: direct connection');
  assert.equal(stepTitle({ step: 'candidates', server: '' }), 'ICE host candidates');
  assert.equal(summary([{ ok: true }], false), 'running');
  assert.equal(summary([{ ok: true }], true), 'ok');
  assert.equal(summary([{ ok: true }, { ok: false }], true), 'failed');
});
