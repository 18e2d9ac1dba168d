import { headers, type MsgHdrs } from 'nats';
import type { RecordedEvent } from '@tidings/core';

export const POSITION_HEADER = 'Tidings-Position';

/** The envelope as JSON (positions as decimal strings), with the headers ARCHITECTURE §4 names. */
export function encodeEvent(event: RecordedEvent): { data: Uint8Array; headers: MsgHdrs } {
  // Appended, not set: the headers are new, and `set` first searches them for the key to replace.
  const messageHeaders = headers();
  messageHeaders.append(POSITION_HEADER, event.position.toString());
  messageHeaders.append('Tidings-Stream', event.streamId);
  messageHeaders.append('Tidings-Version', String(event.streamVersion));
  messageHeaders.append('Tidings-Type', event.type);
  // Built field by field, the time already a string: JSON.stringify takes its slow path for a spread copy holding a Date.
  const envelope = {
    eventId: event.eventId,
    streamId: event.streamId,
    streamVersion: event.streamVersion,
    type: event.type,
    data: event.data,
    metadata: event.metadata,
    position: event.position.toString(),
    recordedAt: event.recordedAt.toISOString(),
  };
  return { data: Buffer.from(JSON.stringify(envelope)), headers: messageHeaders };
}

export class MalformedEventMessage extends Error {
  override readonly name = 'MalformedEventMessage';
}

export function decodeEvent(data: Uint8Array): RecordedEvent {
  let envelope: Record<string, unknown>;
  try {
    // A view of the message's bytes, not a copy: this runs once per event delivered.
    envelope = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new MalformedEventMessage(`not JSON: ${(error as Error).message}`);
  }
  const { eventId, streamId, streamVersion, type, position, recordedAt } = envelope;
  if (typeof eventId !== 'string' || typeof streamId !== 'string' || typeof type !== 'string') {
    throw new MalformedEventMessage('an event needs eventId, streamId and type');
  }
  if (typeof streamVersion !== 'number' || typeof position !== 'string' || !/^\d+$/.test(position) || typeof recordedAt !== 'string') {
    throw new MalformedEventMessage(`event ${eventId} has no valid streamVersion, position or recordedAt`);
  }
  // The parsed object is ours: completed in place rather than copied.
  envelope.position = BigInt(position);
  envelope.recordedAt = new Date(recordedAt);
  return envelope as RecordedEvent;
}
