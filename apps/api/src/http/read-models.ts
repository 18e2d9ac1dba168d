import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import type { EventStore } from '@tidings/core';
import type { EventTopology } from '@tidings/messaging';
import { DATABASE, EVENT_STORE, TOPOLOGY } from '@tidings/platform';
import { AppliedPositions, type Projection } from '@tidings/read-models';
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

  /** Waits until `projection` shows everything up to `minPosition` (a query parameter); 503 after 5 s. */
  async awaitPosition(projection: Projection, minPosition: unknown): Promise<void> {
    if (minPosition === undefined) return;
    if (typeof minPosition !== 'string' || !MIN_POSITION.test(minPosition) || BigInt(minPosition) > MAX_POSITION) {
      throw problems.invalid('minPosition must be a position returned by a command', [{ path: 'query.minPosition', message: 'expected digits' }]);
    }
    const applied = await this.applied.waitUntilApplied(projection, BigInt(minPosition), READ_YOUR_WRITES_TIMEOUT_MS);
    if (!applied) throw problems.readModelLagging(`the ${projection.name} read model has not reached position ${minPosition} within 5 s`);
  }
}
