// Workers as the page understands them: hello's list of candidate game
// servers checked into plain objects, their zones, the zone the address
// asks for, what to measure and to report, and the words for a measured
// round trip. Pure functions, no DOM and no network, so the flows (which
// decide) and the views (which draw) read a worker the same way.
//
// The zone lives in the address (?zone=eu), not in storage: a link with a
// zone is how a region is asked for, and the app keeps the query as it
// moves between the list and rooms.

// The server's limit on ids and zones (signal.checkID), in UTF-8 bytes.
const MAX_ID_BYTES = 128;

// What the server accepts as a ping URL (signal.checkPing): absolute
// http(s), or a path on this page's own server.
const PING_URL = /^(https?:\/\/[^\s\\]+|\/(?!\/)[^\s\\]*)$/;

/** Round trips above this are as good as none (signal.MaxLatency). */
export const MAX_RTT_MS = 10_000;

/** An id or zone as the server accepts it: no control characters, at most 128 bytes. */
function validId(s) {
  return typeof s === 'string' && s !== '' && !/[\u0000-\u001f\u007f]/.test(s)
    && new TextEncoder().encode(s).length <= MAX_ID_BYTES;
}

function count(n) {
  return Number.isInteger(n) && n > 0 ? n : 0;
}

/**
 * hello's workers: { id, zone, ping, rooms, capacity, draining }, one per
 * id, sorted by id. zone and ping are '' when the worker has none; a worker
 * without a ping URL cannot be measured.
 */
export function validWorkers(list) {
  if (!Array.isArray(list)) return [];
  const seen = new Set();
  const out = [];
  for (const w of list) {
    if (!w || !validId(w.id) || seen.has(w.id)) continue;
    seen.add(w.id);
    out.push({
      id: w.id,
      zone: validId(w.zone) ? w.zone : '',
      ping: typeof w.ping === 'string' && PING_URL.test(w.ping) ? w.ping : '',
      rooms: count(w.rooms),
      capacity: count(w.capacity),
      draining: w.draining === true,
    });
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The workers' zones, each once, sorted; workers without one add none. */
export function zonesOf(workers) {
  return [...new Set(workers.map((w) => w.zone).filter(Boolean))].sort();
}

/** The zone an address's query asks for (?zone=eu), or ''. */
export function zoneFromSearch(search) {
  const zone = new URLSearchParams(search).get('zone')?.trim() ?? '';
  return validId(zone) ? zone : '';
}

/** The query with zone set (or removed, for ''), everything else kept: "?zone=eu&debug". */
export function searchWithZone(search, zone) {
  const q = new URLSearchParams(search);
  if (zone) q.set('zone', zone);
  else q.delete('zone');
  // URLSearchParams writes a bare flag as "debug="; the address keeps it bare.
  const s = q.toString().replace(/=(?=&|$)/g, '');
  return s ? `?${s}` : '';
}

/** True when the query asks for the servers panel (?debug). */
export function debugFromSearch(search) {
  return new URLSearchParams(search).has('debug');
}

/** A round trip as sent to the server: a finite number of ms within range, to 0.1 ms. */
export function reportable(ms) {
  return Number.isFinite(ms) && ms >= 0 && ms <= MAX_RTT_MS ? Math.round(ms * 10) / 10 : null;
}

/** "0.4 ms", "12 ms": tenths only where they matter. */
export function formatRtt(ms) {
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

/** How a round trip feels for a game: good, ok or poor. */
export function rttQuality(ms) {
  if (ms < 40) return 'good';
  if (ms < 100) return 'ok';
  return 'poor';
}

/** "1 of 4 rooms", the worker's load as hello says it. */
export function loadLabel(w) {
  return `${w.rooms} of ${w.capacity} ${w.capacity === 1 ? 'room' : 'rooms'}`;
}

/** True when the worker says it has no free place (a new room may still push out an empty one). */
export function full(w) {
  return w.rooms >= w.capacity;
}

/**
 * What to say of a worker's round trip, for a row of serverRows ({ ping,
 * measuring, rtt }: rtt in ms, null out of reach, undefined not measured
 * yet).
 */
export function rttLabel(w) {
  if (w.measuring) return 'measuring…';
  if (!w.ping) return 'not measured';
  if (w.rtt === null) return 'unreachable';
  if (w.rtt === undefined) return 'not measured';
  return formatRtt(w.rtt);
}

/** The id of the worker with the shortest round trip, or '' when none was measured. */
export function fastest(workers) {
  let best = null;
  for (const w of workers) {
    if (typeof w.rtt === 'number' && (best === null || w.rtt < best.rtt)) best = w;
  }
  return best ? best.id : '';
}

// What the page measured of the workers is a Map by id of { ping, ms }:
// the best round trip to that ping URL, ms null when it went unanswered.
// A figure counts only for the URL it was taken from: a worker back with
// another one is measured again.

/** True when workers lists one with a ping URL that before did not: a worker came, or moved. */
export function newcomers(before, workers) {
  const known = new Set(before.map((w) => `${w.id} ${w.ping}`));
  return workers.some((w) => w.ping && !known.has(`${w.id} ${w.ping}`));
}

/** The round trips still worth keeping: those of workers still listed. */
export function keptRtt(rtt, workers) {
  const ids = new Set(workers.map((w) => w.id));
  return new Map([...rtt].filter(([id]) => ids.has(id)));
}

/**
 * The workers to time now: those not measured yet or out of reach last
 * time (every one with all), never one whose measurement is on its way,
 * never one without a ping URL.
 */
export function toMeasure(workers, rtt, measuring, all = false) {
  return workers.filter((w) => {
    if (!w.ping || measuring.includes(w.id)) return false;
    const had = rtt.get(w.id);
    return all || had?.ping !== w.ping || had.ms === null;
  });
}

/**
 * The latency report for the coordinator: the round trip to every listed
 * worker measured at its current URL, by id. The unreachable are left
 * out: unmeasured, they come after every measured one.
 */
export function latencyReport(workers, rtt) {
  const report = {};
  for (const w of workers) {
    const m = rtt.get(w.id);
    if (m && m.ping === w.ping && m.ms !== null) report[w.id] = m.ms;
  }
  return report;
}

/** The servers panel's rows: each worker with measuring (bool) and rtt (ms, null out of reach, undefined not measured). */
export function serverRows(workers, rtt, measuring) {
  return workers.map((w) => {
    const m = rtt.get(w.id);
    return { ...w, measuring: measuring.includes(w.id), rtt: m && m.ping === w.ping ? m.ms : undefined };
  });
}
