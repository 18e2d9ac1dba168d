import { uuidV7Ids, type EventToAppend } from '@tidings/core';
import { eventTopology, partitionOf } from '@tidings/messaging';
import { eventually, useTestEventStore } from '@tidings/testing';
import { consumerGroupOf, type Projection } from './projection';
import { AppliedPositions, applierOf } from './read-your-writes';

const PARTITIONS = 4;
const topology = eventTopology('ryw', PARTITIONS);
const projection: Projection = { name: 'probe', categories: ['probe'], tables: {}, apply: async () => undefined };

const event = (index: number): EventToAppend => ({
  eventId: uuidV7Ids.next(),
  type: 'Probed',
  data: { index },
  metadata: { correlationId: 'c', causationId: 'c', actor: 'spec', schemaVersion: 1 },
});

/** A stream of the probed category in each partition. */
const streamIn = (partition: number): string => {
  for (let index = 0; ; index++) if (partitionOf(`probe-${index}`, PARTITIONS) === partition) return `probe-${index}`;
};

describe('AppliedPositions (read-your-writes)', () => {
  const testStore = useTestEventStore();
  const { pool } = testStore;

  beforeAll(async () => {
    await pool.query(`INSERT INTO checkpoints (consumer_group, partition, position) SELECT $1, p, 0 FROM generate_series(0, $2 - 1) AS p`, [consumerGroupOf(projection), PARTITIONS]);
  });

  const checkpoint = (partition: number, position: bigint) =>
    pool.query('UPDATE checkpoints SET position = $3 WHERE consumer_group = $1 AND partition = $2', [consumerGroupOf(projection), partition, position.toString()]);

  it('sees idle partitions as caught up however many other events lie between their checkpoints and the position', async () => {
    const { store } = testStore;
    // More events of other categories than one page of the scan: partitions 1–3 of the probe never see any of them.
    await store.append('noise-1', Array.from({ length: 4_500 }, (_, index) => event(index)), { expectedVersion: 'no_stream' });
    const { position } = await store.append(streamIn(0), [event(0)], { expectedVersion: 'no_stream' });
    // Other tests' open transactions on the server can keep a new position unreadable for a moment.
    const readable = (at: bigint) => eventually(async () => expect(await store.headPosition()).toBeGreaterThanOrEqual(at));
    await readable(position);
    const applied = new AppliedPositions(pool, store, topology);

    expect(await applied.hasApplied(applierOf(projection), position)).toBe(false);
    await checkpoint(0, position);
    expect(await applied.hasApplied(applierOf(projection), position)).toBe(true);

    // A later event of a partition that has not applied it yet is told apart from idle ones.
    const { position: later } = await store.append(streamIn(2), [event(1)], { expectedVersion: 'no_stream' });
    await readable(later);
    expect(await applied.hasApplied(applierOf(projection), later)).toBe(false);
    expect(await applied.waitUntilApplied(applierOf(projection), later, 50)).toBe(false);
    await checkpoint(2, later);
    expect(await applied.waitUntilApplied(applierOf(projection), later, 1_000)).toBe(true);
    // Once applied, always applied: an earlier position needs no look at the store.
    expect(await applied.hasApplied(applierOf(projection), position)).toBe(true);
  });

  it('looks, in a projection of several categories, at the checkpoint of the category an event is in', async () => {
    const { store } = testStore;
    const twoCategories: Projection = { name: 'probe-pair', categories: ['pair', 'probe'], tables: {}, apply: async () => undefined };
    const group = consumerGroupOf(twoCategories);
    const { position } = await store.append(streamIn(1), [event(2)], { expectedVersion: 'no_stream' });
    await eventually(async () => expect(await store.headPosition()).toBeGreaterThanOrEqual(position));
    // Each partition p has a group partition per category: 2p reads pair-…, 2p + 1 reads probe-…. All are
    // at the position but the two of partition 1: pair (2) has applied nothing, probe (3) all but the event.
    await pool.query(
      `INSERT INTO checkpoints (consumer_group, partition, position)
       SELECT $1, p, CASE p WHEN 2 THEN 0 WHEN 3 THEN $3::bigint - 1 ELSE $3::bigint END FROM generate_series(0, $2 - 1) AS p`,
      [group, 2 * PARTITIONS, position.toString()],
    );
    const applied = new AppliedPositions(pool, store, topology);

    expect(await applied.hasApplied(applierOf(twoCategories), position)).toBe(false);
    await pool.query('UPDATE checkpoints SET position = $2 WHERE consumer_group = $1 AND partition = 3', [group, position.toString()]);
    // Partition 2 reads no probe events: its checkpoint says nothing of this one.
    expect(await applied.hasApplied(applierOf(twoCategories), position)).toBe(true);
  });

  it('waits for a position the store cannot show yet', async () => {
    const applied = new AppliedPositions(pool, testStore.store, topology);
    expect(await applied.hasApplied(applierOf(projection), (await testStore.store.headPosition()) + 10n)).toBe(false);
  });
});
