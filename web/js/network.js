// The two links to the server: the signalling WebSocket (/ws, JSON
// envelopes) and the RTCPeerConnection the game streams over. They report
// what happens and decide nothing: what the app does in response is the
// flows' job (flow/), so these stay small enough to reason about.

import { socketURL, takeEarlySocket } from './dial.js';
import { PROTOCOL_VERSION } from './model/envelope.js';

/**
 * The signalling socket. Events: "open", "message" (detail: envelope),
 * "close" (detail: opened, and the close frame's code and reason).
 */
export class Signal extends EventTarget {
  constructor(path = '/ws') {
    super();
    this.url = socketURL(path);
    this.ws = null;
  }

  get open() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  get connecting() {
    return this.ws !== null && this.ws.readyState === WebSocket.CONNECTING;
  }

  connect() {
    this.close();
    // The page's first dial takes the socket dial.js opened as the page
    // started, and what it heard meanwhile.
    const early = takeEarlySocket(this.url);
    let ws = early?.ws;
    try {
      ws ??= new WebSocket(this.url);
    } catch (err) {
      console.warn('telecart: cannot open', this.url, err);
      queueMicrotask(() => this.dispatchEvent(new CustomEvent('close', { detail: { opened: false, code: 0, reason: '' } })));
      return;
    }
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.dispatchEvent(new Event('open'));
    };
    ws.onmessage = (e) => {
      if (typeof e.data !== 'string') {
        console.warn('telecart: ignoring a binary signalling message');
        return;
      }
      let msg;
      try {
        msg = JSON.parse(e.data);
      } catch {
        console.warn('telecart: ignoring a signalling message that is not JSON');
        return;
      }
      if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
        console.warn('telecart: ignoring a signalling message that is not an object');
        return;
      }
      this.dispatchEvent(new CustomEvent('message', { detail: msg }));
    };
    // onerror is always followed by onclose, which is where this is handled.
    ws.onerror = () => {};
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.dispatchEvent(new CustomEvent('close', { detail: { opened, code: e.code, reason: e.reason } }));
    };
    if (early?.held.length) {
      // After connect returns, as a socket's own events would come.
      queueMicrotask(() => {
        for (const e of early.held) {
          if (this.ws !== ws) return;
          ws['on' + e.type](e);
        }
      });
    }
  }

  /** Sends one envelope, for a game session when session is given; false if the socket is not open. */
  send(type, data = {}, session = undefined) {
    if (!this.open) return false;
    const msg = { v: PROTOCOL_VERSION, type, data };
    if (session) msg.session = session;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  /** Closes without a "close" event: the caller chose this. */
  close() {
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
      ws.close();
    }
  }
}

/** hello's iceServers, kept to the fields RTCPeerConnection accepts. */
function iceConfig(servers) {
  if (!Array.isArray(servers)) return [];
  const out = [];
  for (const s of servers) {
    if (!s || (typeof s.urls !== 'string' && !Array.isArray(s.urls))) continue;
    const entry = { urls: s.urls };
    if (typeof s.username === 'string') entry.username = s.username;
    if (typeof s.credential === 'string') entry.credential = s.credential;
    out.push(entry);
  }
  return out;
}

/**
 * A peer connection made ahead of its game, for Peer to take: a page's
 * first RTCPeerConnection costs the browser tens of milliseconds that a
 * click would otherwise wait for. Null where the browser has no WebRTC.
 */
export function spareConnection() {
  try {
    return new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  } catch (err) {
    console.info('telecart: no spare peer connection', err);
    return null;
  }
}

/**
 * One game's WebRTC connection. The server offers (video and audio tracks,
 * the "input" and "saves" data channels); this answers. Handlers:
 * onTrack(event), onInputChannel(channel), onSavesChannel(channel),
 * onState(connectionState), onCandidate(init), onCandidateError({ url,
 * errorCode, errorText }): a STUN or TURN server's error (a relay refusing
 * the credentials, 401), or 701, one the browser could not reach.
 */
export class Peer {
  /** spare, when given, is a connection from spareConnection() to use rather than a new one. */
  constructor(iceServers, handlers, spare = null) {
    this.handlers = handlers;
    this.remoteSet = false;
    this.pending = []; // remote candidates that came before the offer was applied
    const iceServersOK = iceConfig(iceServers);
    try {
      if (spare) {
        // Nothing is gathered before the offer, so the servers can still change.
        spare.setConfiguration({ ...spare.getConfiguration(), iceServers: iceServersOK });
        this.pc = spare;
      } else {
        this.pc = new RTCPeerConnection({ iceServers: iceServersOK, bundlePolicy: 'max-bundle' });
      }
    } catch (err) {
      // A malformed STUN/TURN entry must not cost the game: host and
      // peer-reflexive candidates often suffice.
      console.warn('telecart: ICE servers refused, trying without them', err);
      this.pc = spare ?? new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    }
    const pc = this.pc;
    pc.ontrack = (e) => {
      // Ask for the smallest jitter buffer the browser allows: the server's
      // frames are paced, and every buffered millisecond is input lag.
      try {
        if ('jitterBufferTarget' in e.receiver) e.receiver.jitterBufferTarget = 0;
        if ('playoutDelayHint' in e.receiver) e.receiver.playoutDelayHint = 0;
      } catch (err) {
        console.debug('telecart: jitter buffer target not set', err);
      }
      handlers.onTrack(e);
    };
    pc.ondatachannel = (e) => {
      if (e.channel.label === 'input') handlers.onInputChannel(e.channel);
      else if (e.channel.label === 'saves') handlers.onSavesChannel(e.channel);
      else console.info('telecart: ignoring data channel', e.channel.label);
    };
    pc.onicecandidate = (e) => {
      // null (and an empty candidate) mark the end of gathering; the server
      // does not need to hear it.
      if (!e.candidate || !e.candidate.candidate) return;
      const c = { candidate: e.candidate.candidate };
      if (e.candidate.sdpMid != null) c.sdpMid = e.candidate.sdpMid;
      if (e.candidate.sdpMLineIndex != null) c.sdpMLineIndex = e.candidate.sdpMLineIndex;
      handlers.onCandidate(c);
    };
    pc.onicecandidateerror = (e) => {
      handlers.onCandidateError?.({ url: e.url, errorCode: e.errorCode, errorText: e.errorText });
    };
    const report = () => handlers.onState(pc.connectionState ?? pc.iceConnectionState);
    if ('connectionState' in pc) pc.onconnectionstatechange = report;
    else pc.oniceconnectionstatechange = report;
  }

  /** Applies the server's offer and returns the answer's SDP. */
  async answer(sdp) {
    await this.pc.setRemoteDescription({ type: 'offer', sdp });
    this.remoteSet = true;
    const pending = this.pending;
    this.pending = [];
    for (const c of pending) await this.addCandidate(c);
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    return this.pc.localDescription.sdp;
  }

  /** Adds a remote candidate, or keeps it until the offer has been applied. */
  async addCandidate(data) {
    if (!data || typeof data.candidate !== 'string' || data.candidate === '') return;
    const init = { candidate: data.candidate };
    if (data.sdpMid != null) init.sdpMid = data.sdpMid;
    if (data.sdpMLineIndex != null) init.sdpMLineIndex = data.sdpMLineIndex;
    if (data.usernameFragment != null) init.usernameFragment = data.usernameFragment;
    if (init.sdpMid == null && init.sdpMLineIndex == null) init.sdpMLineIndex = 0;
    if (!this.remoteSet) {
      this.pending.push(init);
      return;
    }
    try {
      await this.pc.addIceCandidate(init);
    } catch (err) {
      // One bad candidate is not fatal: the others may connect.
      console.warn('telecart: remote candidate refused', init.candidate, err);
    }
  }

  close() {
    const pc = this.pc;
    pc.ontrack = pc.ondatachannel = pc.onicecandidate = pc.onicecandidateerror = null;
    pc.onconnectionstatechange = pc.oniceconnectionstatechange = null;
    try {
      pc.close();
    } catch {
      // already closed
    }
  }
}
