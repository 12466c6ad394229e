// The game's stream: the session's peer connection, from the worker's
// offer to its first picture. The worker offers (video, audio, and the
// "input" and "saves" data channels) as soon as the session starts, while
// its game boots; the page answers at once, even before "started", so
// neither waits for the other. Candidates that come before the offer wait
// for it.

import { Peer, spareConnection } from '../network.js';
import { connectionLostText, LOST_TEXT as LOST, unplayableVideo } from '../model/failures.js';
import { updateSession } from '../model/session.js';

const DISCONNECTED_MS = 10_000; // ICE "disconnected" this long counts as lost
const MAX_ICE_ERRORS = 20; // a peer's STUN/TURN errors kept to explain its failure

export function createStream(app) {
  const { store, pad, screen } = app;
  // The current session's: its peer connection, input channel, the
  // candidates that came while it had no peer, the wait on a
  // disconnected ICE, and its STUN/TURN servers' errors.
  let peer = null;
  let channel = null;
  let candidates = [];
  let unstableTimer = 0;
  let iceErrors = [];
  let spare = null; // a peer connection made ahead, for the next session

  /** Makes the next session's peer connection ahead of need, once. */
  function warm() {
    spare ??= spareConnection();
  }

  const current = (ref) => store.get().session?.ref === ref;
  const patch = (ref, change) => store.update((st) => updateSession(st, ref, change));

  /** A peer connection for session ref, ready before its offer comes. */
  function prepare(ref) {
    peer = makePeer(ref);
  }

  function makePeer(ref) {
    iceErrors = [];
    const pc = spare;
    spare = null;
    return new Peer(store.get().iceServers, {
      onTrack: (e) => {
        if (current(ref)) screen.addTrack(e.track);
      },
      onInputChannel: (ch) => {
        if (!current(ref)) return;
        channel = ch;
        pad.attach(ch);
        const open = () => {
          patch(ref, { channelOpen: true });
          app.game.playing(ref);
        };
        if (ch.readyState === 'open') open();
        else ch.addEventListener('open', open);
        // The server closing its side closes the channel at once, long
        // before ICE would notice the silence.
        ch.addEventListener('close', () => {
          if (channel === ch && store.get().session?.channelOpen) app.failures.lose(ref, LOST);
        });
      },
      // Save files to and from this device: see transfers.js.
      onSavesChannel: (ch) => {
        if (current(ref)) app.transfers.attach(ch);
      },
      onState: (state) => peerState(ref, state),
      onCandidate: (c) => {
        if (current(ref)) app.connection.send('candidate', c, ref);
      },
      onCandidateError: (e) => {
        if (!current(ref)) return;
        console.info('telecart: ICE server error', e.url, e.errorCode, e.errorText);
        if (iceErrors.length < MAX_ICE_ERRORS) iceErrors.push(e);
      },
    }, pc);
  }

  /** "offer": answered at once. */
  function offer(data) {
    const s = store.get().session;
    console.debug('telecart: offer');
    if (!s) {
      console.info('telecart: ignoring an offer outside a session');
      return undefined;
    }
    if (typeof data.sdp !== 'string' || !data.sdp) {
      console.warn('telecart: ignoring an offer without SDP');
      return undefined;
    }
    return answer(s.ref, data.sdp);
  }

  async function answer(ref, sdp) {
    const missing = unplayableVideo(sdp, globalThis.RTCRtpReceiver?.getCapabilities?.('video')?.codecs);
    if (missing) {
      console.warn('telecart: the server sends video this browser cannot play:', missing);
      app.failures.fail(ref, 'failed', {
        text: `This browser cannot play the game’s video (${missing}). Another browser will, or Firefox with its OpenH264 plugin (Settings, Extensions and themes, Plugins).`,
      });
      return;
    }
    if (!peer) peer = makePeer(ref);
    const p = peer;
    const early = candidates;
    candidates = [];
    for (const c of early) await p.addCandidate(c); // kept by the peer until the offer is in
    let sdpAnswer;
    try {
      sdpAnswer = await p.answer(sdp);
    } catch (err) {
      if (!current(ref) || peer !== p) return;
      console.error('telecart: the offer could not be answered', err);
      app.failures.fail(ref, 'failed', {
        text: 'This browser could not accept the game’s stream.',
        detail: err?.message || String(err),
      });
      return;
    }
    if (!current(ref) || peer !== p) return;
    app.connection.send('answer', { sdp: sdpAnswer }, ref);
  }

  /** "candidate": the worker's, added (or kept until there is a peer). */
  function candidate(data) {
    if (!store.get().session) return undefined;
    if (!peer) {
      candidates.push(data);
      return undefined;
    }
    return peer.addCandidate(data);
  }

  function peerState(ref, state) {
    const s = store.get().session;
    if (s?.ref !== ref) return;
    console.debug('telecart: connection', state);
    if (state === 'connected' && s.connectedAt === null) patch(ref, { connectedAt: performance.now() });
    clearTimeout(unstableTimer);
    if (state === 'connected') patch(ref, { unstable: false });
    else if (state === 'disconnected') {
      // ICE may still recover; the browser would wait some 30 s more before
      // "failed", far longer than anyone watches a frozen game.
      patch(ref, { unstable: store.get().phase === 'playing' });
      unstableTimer = setTimeout(() => app.failures.lose(ref, LOST), DISCONNECTED_MS);
    } else if (state === 'failed' || state === 'closed') app.failures.lose(ref, connectionLostText(iceErrors, s.connectedAt !== null));
  }

  /** The screen's first picture of the stream. */
  function frame() {
    const s = store.get().session;
    if (!s) return;
    patch(s.ref, { frame: true });
    app.game.playing(s.ref);
  }

  /** When the first picture was presented, for the test hook. */
  function presented(at) {
    const s = store.get().session;
    if (s && s.firstFrameAt === null) patch(s.ref, { firstFrameAt: at });
  }

  /**
   * Why this session's peer connection has found no way to the game, in
   * words, when its relay (TURN) is to blame; else null. Asked before
   * the session is torn down.
   */
  function relayProblem() {
    const s = store.get().session;
    const text = connectionLostText(iceErrors, !s || s.connectedAt !== null);
    return text === LOST ? null : text;
  }

  /** The peer connection's getStats entries, as a list; [] without one. */
  async function stats() {
    if (!peer) return [];
    return [...(await peer.pc.getStats()).values()];
  }

  /** True while the peer connection is connected: the game plays without the signalling. */
  function connected() {
    return peer?.pc.connectionState === 'connected';
  }

  /** Lets the peer connection go, at the session's end. */
  function close() {
    clearTimeout(unstableTimer);
    peer?.close();
    peer = null;
    channel = null;
    candidates = [];
    iceErrors = [];
    warm(); // for the next game
  }

  /** A second "started": negotiation begins again, from a new offer. */
  function reset() {
    const s = store.get().session;
    close();
    patch(s.ref, { channelOpen: false, frame: false });
    app.transfers.close();
    pad.detach();
    screen.detach();
  }

  return { warm, prepare, offer, candidate, frame, presented, relayProblem, connected, stats, close, reset };
}
