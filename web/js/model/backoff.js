// How long to wait before dialling the server again. Pure functions.
//
// Two paces. Without a game, the page has nothing to lose by waiting and
// the server may be down for a while: 1 s doubling to 30 s, counted down
// on the message. With a game playing on over its peer connection, the
// server is most likely restarting, and every second without signalling
// is a second in which the session's worker may let it go: 0.5 s
// doubling to 8 s, for a minute at most.

const BACKOFF_MAX_S = 30;
const RESUME_FIRST_MS = 500;
const RESUME_MAX_MS = 8000;
const RESUME_GIVE_UP_MS = 60_000;

/** Seconds before the next try, after attempts failed connections in a row. */
export function reconnectDelay(attempts) {
  return Math.min(BACKOFF_MAX_S, 2 ** attempts);
}

/** Milliseconds before dialling again for a game that plays on, at the given attempt (from 0). */
export function resumeDelay(attempt) {
  return Math.min(RESUME_MAX_MS, RESUME_FIRST_MS * 2 ** attempt);
}

/** True once a game has been without its server too long to hope for a resume. */
export function resumeGivenUp(since, now) {
  return now - since > RESUME_GIVE_UP_MS;
}

/**
 * The countdown to a try due at due (ms, on now's clock): the whole
 * seconds left to show (0 or less: dial now), and how long until that
 * number changes.
 */
export function countdown(due, now) {
  const left = Math.ceil((due - now) / 1000);
  return { left, wait: Math.min(1000, due - now - (left - 1) * 1000) };
}
