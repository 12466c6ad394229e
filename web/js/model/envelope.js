// The signalling socket's envelopes, {"v", "type", "session", "data"}, as
// the page reads them before anything acts on one. Pure functions.

/** The protocol this page speaks: a server speaking another has been updated under it. */
export const PROTOCOL_VERSION = 1;

/**
 * What to do with a message from the server, given the reference of the
 * game session this page holds (undefined for none):
 * { outdated: true } for another protocol version, { stale: true } for a
 * message of another session, else { type, data } with data always an
 * object.
 *
 * The server names each game's messages with the reference this page
 * gave in "start" or "join": anything for another one is left over from a
 * game just quit, and must not touch the new one.
 */
export function checkEnvelope(msg, ref) {
  if (msg.v !== PROTOCOL_VERSION) return { outdated: true };
  if (msg.session && msg.session !== ref) return { stale: true };
  const data = msg.data && typeof msg.data === 'object' ? msg.data : {};
  return { type: msg.type, data };
}

/** A fresh reference for a game session, unguessable enough to never repeat. */
export function newRef() {
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_');
}
