import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import type { EventStore } from '@tidings/core';
import type { EventTopology } from '@tidings/messaging';
import { DATABASE, EVENT_STORE, TOPOLOGY } from '@tidings/platform';
import { AppliedPositions, applierOf, type EventApplier, type Projection } from '@tidings/read-models';
import { problems } from './problem';

const MIN_POSITION = /^\d{1,19}$/;
/** Positions are PostgreSQL bigints. */
const MAX_POSITION = 2n ** 63n - 1n;
/** API.md: a GET with `?minPosition=` waits at most this long for its read model. */
const READ_YOUR_WRITES_TIMEOUT_MS = 5_000;

/** Queries of read models, with read-your-writes. */
@Injectable()
export class ReadModels {
  private readonly applied: AppliedPositions;

  constructor(
    @Inject(DATABASE) readonly pool: Pool,
    @Inject(EVENT_STORE) store: EventStore,
    @Inject(TOPOLOGY) topology: EventTopology,
  ) {
    this.applied = new AppliedPositions(pool, store, topology);
  }

  /** Waits until the read model shows everything up to `minPosition` (a query parameter); 503 after 5 s. */
  async awaitPosition(readModel: PositionedReadModel, minPosition: unknown): Promise<void> {
    const position = positionParam(minPosition);
    if (position === undefined) return;
    const applied = await this.applied.waitUntilApplied('group' in readModel ? readModel : applierOf(readModel), position, READ_YOUR_WRITES_TIMEOUT_MS);
    if (!applied) throw problems.readModelLagging(`the ${readModel.name} read model has not reached position ${minPosition as string} within 5 s`);
  }
}

/** What a GET's `?minPosition=` may wait for: a projection, or the tables a consumer group keeps. */
export type PositionedReadModel = Projection | (EventApplier & Readonly<{ name: string }>);

/**
 * `?minPosition=` as a position (undefined when not given); 400 unless it is one. A GET whose
 * answer never trails the store (read from the event store itself, or not from events) takes
 * it too, as API.md says every GET does, and answers at once.
 */
export function positionParam(minPosition: unknown): bigint | undefined {
  if (minPosition === undefined) return undefined;
  if (typeof minPosition !== 'string' || !MIN_POSITION.test(minPosition) || BigInt(minPosition) > MAX_POSITION) {
    throw problems.invalid('minPosition must be a position returned by a command', [{ path: 'query.minPosition', message: `expected digits, at most ${MAX_POSITION}` }]);
  }
  return BigInt(minPosition);
}

/** The `?minPosition=` of a GET that takes no other query parameter (as given, for awaitPosition or positionParam); 400 for any other. */
export function minPositionOf(query: unknown): unknown {
  const { minPosition, ...unknown } = (query ?? {}) as Record<string, unknown>;
  if (Object.keys(unknown).length) throw problems.invalid(`unknown query parameters: ${Object.keys(unknown).join(', ')}`);
  return minPosition;
}
