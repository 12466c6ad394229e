// Workers as the page reads them: what to measure, what to report, and
// what the servers panel says.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  fastest, keptRtt, latencyReport, newcomers, reportable, rttLabel, searchWithZone, serverRows, toMeasure, validWorkers,
  zoneFromSearch, zonesOf,
} from '../js/model/workers.js';

const workers = validWorkers([
  { id: 'us-1', zone: 'us', ping: 'https://us-1.example.org/ping', rooms: 1, capacity: 4 },
  { id: 'eu-1', zone: 'eu', ping: '/ping', rooms: 4, capacity: 4, draining: true },
  { id: 'eu-2', zone: 'eu', ping: 'javascript:alert(1)', rooms: -3, capacity: 2 },
  { id: 'us-1', zone: 'us', ping: '/other' }, // the same id again
  { id: '' },
]);

test('hello\'s workers are checked, kept once each, sorted by id', () => {
  assert.deepEqual(workers.map((w) => w.id), ['eu-1', 'eu-2', 'us-1']);
  assert.equal(workers[1].ping, '', 'a ping URL the server would refuse is none');
  assert.equal(workers[1].rooms, 0);
  assert.equal(workers[0].draining, true);
  assert.deepEqual(zonesOf(workers), ['eu', 'us']);
});

test('a worker is measured once, again when out of reach or moved, never without a ping URL', () => {
  const rtt = new Map([['us-1', { ping: 'https://us-1.example.org/ping', ms: 12 }], ['eu-1', { ping: '/ping', ms: null }]]);
  assert.deepEqual(toMeasure(workers, rtt, []).map((w) => w.id), ['eu-1'], 'the unreachable one, again');
  assert.deepEqual(toMeasure(workers, rtt, ['eu-1']).map((w) => w.id), [], 'not while being measured');
  assert.deepEqual(toMeasure(workers, rtt, [], true).map((w) => w.id), ['eu-1', 'us-1'], 'all: everyone with a ping URL');
  const moved = new Map([['us-1', { ping: 'https://old.example.org/ping', ms: 12 }]]);
  assert.ok(toMeasure(workers, moved, []).some((w) => w.id === 'us-1'), 'a new URL is measured afresh');
});

test('the report has the round trips measured at each worker\'s current URL, the unreachable left out', () => {
  const rtt = new Map([
    ['us-1', { ping: 'https://us-1.example.org/ping', ms: 12.3 }],
    ['eu-1', { ping: '/ping', ms: null }],
    ['gone', { ping: '/ping', ms: 1 }],
  ]);
  assert.deepEqual(latencyReport(workers, rtt), { 'us-1': 12.3 });
  assert.deepEqual([...keptRtt(rtt, workers).keys()], ['us-1', 'eu-1'], 'a worker that went takes its figure along');
});

test('a worker that comes, or comes back at another URL, is news', () => {
  assert.equal(newcomers(workers, workers), false);
  assert.equal(newcomers(workers.slice(0, 1), workers), true);
  assert.equal(newcomers(workers, workers.map((w) => (w.id === 'us-1' ? { ...w, ping: '/new' } : w))), true);
});

test('the servers panel says what was measured, and marks the fastest', () => {
  const rtt = new Map([['us-1', { ping: 'https://us-1.example.org/ping', ms: 4.25 }], ['eu-1', { ping: '/ping', ms: null }]]);
  const rows = serverRows(workers, rtt, ['eu-2']);
  assert.deepEqual(rows.map(rttLabel), ['unreachable', 'measuring…', '4.3 ms']);
  assert.equal(fastest(rows), 'us-1');
  assert.equal(rttLabel({ ping: '/ping', rtt: 123.4 }), '123 ms');
  assert.equal(rttLabel({ ping: '', rtt: undefined }), 'not measured');
});

test('a round trip is reported to a tenth of a ms, within range', () => {
  assert.equal(reportable(12.345), 12.3);
  assert.equal(reportable(-1), null);
  assert.equal(reportable(20_000), null);
  assert.equal(reportable(null), null);
});

test('the zone lives in the address, and the rest of the query stays', () => {
  assert.equal(zoneFromSearch('?zone=eu&debug'), 'eu');
  assert.equal(zoneFromSearch(''), '');
  assert.equal(searchWithZone('?debug', 'eu'), '?debug&zone=eu');
  assert.equal(searchWithZone('?zone=eu&debug', ''), '?debug');
  assert.equal(searchWithZone('?zone=eu', ''), '');
});
