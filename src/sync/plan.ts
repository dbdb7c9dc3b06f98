import type { Config, KeyResult } from '../config/types.js';
import { derivedFrom, streamId, type StreamKey } from '../core/stream.js';
import { metricOf } from '../metrics/catalogue/index.js';

/** The source streams one key result reads, each after the streams it is derived from (its metric's descriptor says which). */
export function streamsOf(kr: KeyResult): StreamKey[] {
  return metricOf(kr.metric).streams(kr);
}

/** Every stream the config needs, each once, in first-needed order (a derived stream after its source). */
export function planStreams(config: Config): StreamKey[] {
  const byId = new Map<string, StreamKey>();
  for (const o of config.objectives) {
    for (const kr of o.keyResults) {
      for (const s of streamsOf(kr)) if (!byId.has(streamId(s))) byId.set(streamId(s), s);
    }
  }
  return [...byId.values()];
}

/** Streams computed from `stream`'s events, to sync again once it has new ones. */
export function dependentStreams(config: Config, stream: StreamKey): StreamKey[] {
  const id = streamId(stream);
  return planStreams(config).filter((s) => {
    const from = derivedFrom(s);
    return from !== null && streamId(from) === id;
  });
}
