// The stats overlay's figures, from two of the peer connection's getStats
// reports a moment apart: what the stream does now, not since it began.
// Pure functions, no DOM and no network.

/**
 * The figures between report prev (null the first time) and report, each
 * a list of getStats entries: frames shown and decoded a second, video
 * kbit/s, packets lost in %, the round trip and the jitter buffer in ms,
 * the codec and the picture's size. A figure not known yet is null.
 */
export function streamStats(prev, report) {
  const video = report.find((r) => r.type === 'inbound-rtp' && r.kind === 'video');
  const audio = report.find((r) => r.type === 'inbound-rtp' && r.kind === 'audio');
  const was = prev?.find((r) => r.type === 'inbound-rtp' && r.kind === 'video');
  const pair = selectedPair(report);
  const codec = video && report.find((r) => r.type === 'codec' && r.id === video.codecId);
  const seconds = was && video ? (video.timestamp - was.timestamp) / 1000 : 0;
  const rate = (key) => (seconds > 0 && video[key] !== undefined && was[key] !== undefined ? (video[key] - was[key]) / seconds : null);
  const lost = was ? (video.packetsLost ?? 0) - (was.packetsLost ?? 0) : null;
  const received = was ? (video.packetsReceived ?? 0) - (was.packetsReceived ?? 0) : null;
  const emitted = was ? (video.jitterBufferEmittedCount ?? 0) - (was.jitterBufferEmittedCount ?? 0) : 0;
  return {
    fps: video ? rate('framesDecoded') : null,
    kbps: video ? scaled(rate('bytesReceived'), 8 / 1000) : null,
    lossPct: lost !== null && lost + received > 0 ? (100 * lost) / (lost + received) : lost === 0 ? 0 : null,
    rttMs: pair?.currentRoundTripTime !== undefined ? pair.currentRoundTripTime * 1000 : null,
    jitterBufferMs: emitted > 0 ? (1000 * (video.jitterBufferDelay - was.jitterBufferDelay)) / emitted : null,
    codec: codec?.mimeType?.replace(/^video\//, '') ?? null,
    size: video?.frameWidth ? `${video.frameWidth}×${video.frameHeight}` : null,
    audio: !!audio,
  };
}

function scaled(v, k) {
  return v === null ? null : v * k;
}

// The candidate pair in use: the transport's, or the nominated one that
// succeeded where a browser names no transport's.
function selectedPair(report) {
  const transport = report.find((r) => r.type === 'transport' && r.selectedCandidatePairId);
  if (transport) return report.find((r) => r.id === transport.selectedCandidatePairId);
  return report.find((r) => r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded');
}

/**
 * The overlay's lines: label and value, "–" for a figure not known yet.
 * split: InputSplit's summary of the last presses (model/split.js), or null
 * before the first press.
 */
export function statsLines(s, split = null) {
  const n = (v, digits, unit) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : `${v.toFixed(digits)} ${unit}`);
  return [
    ['Frames', n(s.fps, 0, 'fps')],
    ['Video', `${n(s.kbps, 0, 'kbit/s')}${s.codec ? ` · ${s.codec}` : ''}${s.size ? ` · ${s.size}` : ''}`],
    ['Lost', n(s.lossPct, 1, '%')],
    ['Round trip', n(s.rttMs, 0, 'ms')],
    ['Jitter buffer', n(s.jitterBufferMs, 0, 'ms')],
    // Medians of the last presses: the parts need not add up to the whole.
    ['Press to picture', split ? `${n(split.total, 1, 'ms')} · ${split.count} presses` : 'press a button'],
    ['To the server', n(split?.up, 1, 'ms')],
    ['Server, frame, encoding', n(split?.worker, 1, 'ms')],
    ['Back to here', n(split?.down, 1, 'ms')],
    ['Received to shown', n(split?.display, 1, 'ms')],
  ];
}
