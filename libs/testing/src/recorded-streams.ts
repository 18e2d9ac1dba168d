import type { Message, RecordedEvent } from '@tidings/core';

/**
 * Events as the store would record them, for projection specs: `stream(id)` returns a recorder
 * for one stream (versions in order from 0); positions increase across every stream of one
 * `recordedStreams()`.
 */
export function recordedStreams() {
  let position = 0n;
  return (streamId: string) => {
    let version = -1;
    return (event: Message, recordedAt = '2026-01-01T00:00:00.000Z'): RecordedEvent => ({
      ...event,
      eventId: `event-${++position}`,
      streamId,
      streamVersion: ++version,
      metadata: { correlationId: 'c', causationId: 'c', actor: 'spec', schemaVersion: 1 },
      position,
      recordedAt: new Date(recordedAt),
    });
  };
}
