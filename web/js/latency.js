// The round trip from this browser to a worker: a few requests to its ping
// URL, one after another, the best kept. It measures and reports; which
// workers to measure, when, and what to tell the server is
// flow/servers.js's job.
//
// The best rather than the mean: the first request pays for the
// connection (DNS, TCP, perhaps TLS), and a busy moment on this device
// can only make a sample slower, never faster. The fastest sample is the
// closest to the path itself, which is what choosing a worker is about.

const SAMPLES = 4;
const SAMPLE_TIMEOUT_MS = 2000; // a request unanswered this long: the worker is out of reach
const BUDGET_MS = 4000; // no more samples after this, however few were taken

/** One request's round trip in ms, or null when it failed or timed out. */
async function sample(url) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), SAMPLE_TIMEOUT_MS);
  const start = performance.now();
  try {
    // no-store: a cached answer would measure this browser, not the path.
    const res = await fetch(url, { cache: 'no-store', mode: 'cors', credentials: 'omit', signal: abort.signal });
    const ms = performance.now() - start;
    res.body?.cancel().catch(() => {}); // 204: nothing to read, nothing to keep open
    return res.ok ? ms : null;
  } catch {
    return null; // refused, blocked (CORS, mixed content) or timed out
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The best round trip to url in ms, of a few requests made one after
 * another, or null when the first went unanswered. A later failure only
 * ends the series: the samples taken still count.
 */
export async function measure(url) {
  const began = performance.now();
  let best = null;
  for (let i = 0; i < SAMPLES && performance.now() - began < BUDGET_MS; i++) {
    const ms = await sample(url);
    if (ms === null) break;
    if (best === null || ms < best) best = ms;
  }
  return best;
}
