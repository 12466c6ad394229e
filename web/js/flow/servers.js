// Which worker runs a new room: the coordinator picks the nearest with a
// free place, nearest as this page measured. hello lists the workers,
// each with a ping URL; the page times the ones it has not measured yet,
// all at once (latency.js), and reports its best round trip to each in
// "latency". A start never waits for this: one sent before the report
// goes by load. A worker may also be picked by hand, in the servers panel.

import { measure as timeRoundTrip } from '../latency.js';
import { keptRtt, latencyReport, newcomers, reportable, toMeasure } from '../model/workers.js';
import { withToast } from '../model/state.js';

export function createServers(app) {
  const { store } = app;

  /**
   * hello's workers. The new ones (all of them on a new socket, whose
   * coordinator knows nothing of this page) are measured; a hello that only
   * says a worker's rooms changed measures nothing.
   */
  function listed(workers, fresh) {
    const arrived = newcomers(store.get().workers, workers);
    store.update((st) => {
      const next = { ...st, workers, rtt: keptRtt(st.rtt, workers) };
      if (!st.pick || workers.some((w) => w.id === st.pick)) return next;
      return withToast({ ...next, pick: '' }, `Server “${st.pick}” has gone: new games start on the fastest again`);
    });
    // What was measured before still beats nothing while it is measured again.
    if (fresh) report();
    if (fresh || arrived) measure(fresh);
  }

  /**
   * Measures the workers not measured yet or out of reach last time (every
   * one with all), each once at a time and all in parallel, then reports.
   */
  function measure(all = false) {
    const st = store.get();
    const batch = toMeasure(st.workers, st.rtt, st.measuring, all);
    if (batch.length === 0) return;
    store.update((x) => ({ ...x, measuring: [...x.measuring, ...batch.map((w) => w.id)] }));
    Promise.all(batch.map(async (w) => {
      const ms = reportable(await timeRoundTrip(w.ping));
      store.update((x) => {
        const measuring = x.measuring.filter((id) => id !== w.id);
        // It may have gone, or come back with another URL, meanwhile.
        const still = x.workers.some((y) => y.id === w.id && y.ping === w.ping);
        return { ...x, measuring, rtt: still ? new Map(x.rtt).set(w.id, { ping: w.ping, ms }) : x.rtt };
      });
    })).then(report);
  }

  /**
   * Tells the coordinator the round trips measured to the workers it
   * listed, when they differ from what it heard last.
   */
  function report() {
    if (!app.connection.ready) return; // the next hello brings it here again
    const st = store.get();
    const rtt = latencyReport(st.workers, st.rtt);
    const key = JSON.stringify(rtt);
    if (key === st.heard || !app.connection.send('latency', { rtt })) return;
    store.update({ reported: rtt, heard: key });
  }

  return {
    listed,
    /** "Measure again" in the servers panel. */
    remeasure: () => measure(true),
    /** A worker picked by hand for the next start, or '' for automatic. */
    pick: (id) => store.update((st) => ({ ...st, pick: st.workers.some((w) => w.id === id) ? id : '' })),
  };
}
