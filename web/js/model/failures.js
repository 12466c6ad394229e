// Each failure the player can meet, in words a player understands, and
// which one an "error" from the server is. Pure functions.
//
// Retry means "try the same thing again"; what that is, flow/game.js
// decides from the state's last.

import { validGame } from './room.js';

const MESSAGES = {
  unreachable: {
    icon: 'i-unplugged',
    title: 'Can’t reach the server',
    text: 'Telecart isn’t answering. Check your internet connection; this page keeps trying.',
    retry: 'Retry',
    check: true,
  },
  lost: {
    icon: 'i-unplugged',
    title: 'Connection lost',
    text: 'The connection to the game was interrupted.',
    retry: 'Retry',
    back: true,
    check: true,
  },
  busy: {
    icon: 'i-busy',
    title: 'All servers are busy',
    text: 'Every game server is in use right now. Try again in a minute.',
    retry: 'Retry',
    back: true,
  },
  // A room with as many people as it takes: the server's sentence says how many.
  'room-full': {
    icon: 'i-busy',
    title: 'This room is full',
    text: 'Too many people are in this room right now. Try again in a while.',
    retry: 'Retry',
    back: true,
  },
  failed: {
    icon: 'i-warning',
    title: 'The game could not start',
    text: 'Something went wrong while starting the game.',
    retry: 'Retry',
    back: true,
  },
  ended: {
    icon: 'i-ended',
    title: 'The game has ended',
    text: '',
    retry: 'Play again',
    back: true,
  },
  // A link to a room that is over: the same game can start afresh.
  'room-ended': {
    icon: 'i-ended',
    title: 'This room has ended',
    text: 'Everyone has left, or the game was closed.',
    retry: 'Start it again',
    back: true,
  },
  // A limit on what one network may ask of the server: a socket
  // refused, a start or a join turned down. The server's sentence says
  // what to wait for.
  limited: {
    icon: 'i-busy',
    title: 'Not right now',
    text: 'This network has asked the server for too much at once. Wait a moment, then try again.',
    retry: 'Try again',
    back: true,
  },
  outdated: {
    icon: 'i-refresh',
    title: 'This page is out of date',
    text: 'Telecart has been updated. Reload the page to continue.',
    reload: true,
  },
};

/**
 * The message a failure screen shows: { kind, icon, title, text, detail,
 * retry (the button's words, '' for none), reload, back, check (a link
 * to /check: the failure may be the network's) }. opts: text
 * (replaces the default), detail (what the server said), title,
 * retryLabel, retry (false hides it), back (false hides it).
 */
export function failure(kind, opts = {}) {
  const m = MESSAGES[kind];
  return {
    kind,
    icon: m.icon,
    title: opts.title ?? m.title,
    text: opts.text ?? m.text,
    detail: opts.detail ?? '',
    retry: !m.retry || opts.retry === false ? '' : (opts.retryLabel ?? m.retry),
    reload: !!m.reload,
    back: !!m.back && opts.back !== false,
    check: !!m.check,
  };
}

/**
 * What an "error" from the server does to the session s, in phase:
 * { rejoin: true } when the worker let a resumed session go (the room is
 * joined anew), { ignore: true } for one refused message while playing,
 * else { phase, message } to show, with last (what Retry does next) when
 * it changes.
 */
export function errorOutcome(data, s, phase) {
  const code = typeof data.code === 'string' ? data.code : 'internal';
  const message = typeof data.message === 'string' ? data.message.trim() : '';
  if (code === 'no_session' && s.resumeSent) return { rejoin: true };
  // One refused message (a candidate, say) does not end a running game.
  if (code === 'bad_request' && phase === 'playing') return { ignore: true };
  if (code === 'room_ended') {
    // A link to a room that is over: offer its game afresh, when known.
    const game = validGame(data.game) ?? (s.game?.id ? s.game : null);
    return {
      phase: 'ended',
      message: failure('room-ended', game ? { retryLabel: `Play ${game.title}` } : { retry: false }),
      last: game ? { kind: 'start', game, room: null, slot: 1 } : null,
    };
  }
  if (code === 'no_room') {
    // A link to no room the server knows: mistyped, or long over.
    return {
      phase: 'ended',
      message: failure('room-ended', {
        title: 'No room at this link',
        text: message || 'There is no room at this link: check that it was copied whole.',
        retry: false,
      }),
      last: null,
    };
  }
  if (code === 'no_worker' && s.worker) {
    // Picked by hand: the others may well have room.
    return {
      phase: 'busy',
      message: failure('busy', {
        title: 'This server can’t take the game',
        text: `Server “${s.worker}”, picked in Servers, has no room for it now. Pick another server, or Automatic.`,
        detail: message,
      }),
    };
  }
  if (code === 'no_worker') return { phase: 'busy', message: failure('busy') };
  if (code === 'room_full') {
    return { phase: 'busy', message: failure('room-full', message ? { text: `${message} Try again in a while.` } : {}) };
  }
  if (code === 'too_many') return { phase: 'busy', message: failure('limited', message ? { text: message } : {}) };
  if (code === 'game_failed') return { phase: 'failed', message: failure('failed', { detail: message }) };
  if (code === 'bad_game') {
    // What is wrong with the game's file, which no retry mends.
    return {
      phase: 'failed',
      message: failure('failed', {
        title: 'This game can’t be played',
        text: message || 'Its file is not a game this server can play.',
        retry: false,
      }),
    };
  }
  if (code === 'unknown_game') {
    return {
      phase: 'failed',
      message: failure('failed', {
        title: 'This game is not available',
        text: 'The server no longer has this game. Pick another one.',
        retry: false,
      }),
    };
  }
  return {
    phase: 'failed',
    message: failure('failed', {
      title: 'Something went wrong',
      text: 'The server could not run the game.',
      detail: message || `Error: ${code}`,
    }),
  };
}

/** The close code of a socket the server refused for now (Try Again Later). */
export const CLOSE_TRY_AGAIN_LATER = 1013;

/**
 * The server's words for a socket it refused (too many pages from one
 * network, too many visitors), from the close ({ code, reason }); '' for
 * a socket that was simply lost.
 */
export function refusalText(why) {
  if (why?.code !== CLOSE_TRY_AGAIN_LATER || typeof why.reason !== 'string') return '';
  return why.reason.trim().slice(0, 200);
}

/** The words of a connection to the game lost, when nothing better is known. */
export const LOST_TEXT = MESSAGES.lost.text;

/** The words of a relay that refused the credentials the server handed out. */
export const TURN_REFUSED_TEXT =
  'The relay server (TURN) refused this browser’s credentials. The operator should check that turn_secret matches ' +
  'the TURN server’s static-auth-secret, and that both machines’ clocks are right.';

/** The words of a relay this browser could not reach. */
export const TURN_UNREACHABLE_TEXT =
  'This browser could not reach the relay server (TURN), and no direct way to the game server worked. ' +
  'A firewall may be in the way.';

/**
 * Why a peer connection that failed failed, in words: iceErrors are its
 * icecandidateerror events ({ url, errorCode }), connected whether it ever
 * connected. A relay's refusal (401 Unauthorized, 403 Forbidden) or a
 * relay out of reach (701, the browser's own code) explains a connection
 * that never came up: without the relay there was no way at all. Once it
 * had connected, the relay's errors at its start are no reason.
 */
export function connectionLostText(iceErrors, connected) {
  if (connected || !Array.isArray(iceErrors)) return LOST_TEXT;
  const turn = iceErrors.filter((e) => typeof e?.url === 'string' && /^turns?:/.test(e.url));
  if (turn.some((e) => e.errorCode === 401 || e.errorCode === 403)) return TURN_REFUSED_TEXT;
  if (turn.some((e) => e.errorCode === 701)) return TURN_UNREACHABLE_TEXT;
  return LOST_TEXT;
}

// Codecs an offer lists that carry no picture of their own.
const NOT_PICTURES = new Set(['rtx', 'red', 'ulpfec', 'flexfec-03']);

/**
 * The video codecs an offer (its SDP) sends when this browser can receive
 * none of them (codecs: RTCRtpReceiver.getCapabilities('video').codecs),
 * as "H264"; '' when one plays, or when either side says nothing. Firefox
 * without its OpenH264 plugin meets a server that sends H.264 only: the
 * negotiation would leave it with no picture and no word why.
 */
export function unplayableVideo(sdp, codecs) {
  if (typeof sdp !== 'string' || !Array.isArray(codecs) || codecs.length === 0) return '';
  const video = /^m=video[^]*?(?=^m=|(?![^]))/m.exec(sdp.replace(/\r\n/g, '\n'))?.[0] ?? '';
  const offered = new Set();
  for (const m of video.matchAll(/^a=rtpmap:\d+ ([^/\s]+)\//gm)) {
    if (!NOT_PICTURES.has(m[1].toLowerCase())) offered.add(m[1].toUpperCase());
  }
  if (offered.size === 0) return '';
  const playable = new Set(codecs.map((c) => String(c?.mimeType ?? '').replace(/^video\//i, '').toUpperCase()));
  return [...offered].some((c) => playable.has(c)) ? '' : [...offered].join(', ');
}
