import type { JetStreamManager, NatsConnection } from 'nats';
import { groupConsumerPrefix, type EventTopology } from './event-topology';
import { positionOfLastMessage } from './jetstream';

/** What a consumer group's partitions' consumers count, summed. */
export type ConsumerCounts = Readonly<{
  /**
   * Messages of its subjects that wait for it or were delivered and not yet acknowledged (a
   * batch is acknowledged once applied). Durable consumers keep counting while no member runs.
   */
  unapplied: number;
  /** Messages delivered more than once. */
  redelivered: number;
}>;

/** The counts of each of `groups` that has consumers (`<group prefix>p<partition>_<member>`). */
export async function groupConsumerCounts(jsm: JetStreamManager, topology: EventTopology, groups: readonly string[]): Promise<Map<string, ConsumerCounts>> {
  const prefixes = groups.map((group) => ({ group, prefix: groupConsumerPrefix(topology, group) }));
  const counts = new Map<string, ConsumerCounts>();
  for await (const consumer of jsm.consumers.list(topology.stream)) {
    // A longer group name may start with a shorter one's prefix: the partition part must follow it.
    const owner = prefixes.find(({ prefix }) => consumer.name.startsWith(prefix) && /^p\d+_/.test(consumer.name.slice(prefix.length)));
    if (!owner) continue;
    const sum = counts.get(owner.group) ?? { unapplied: 0, redelivered: 0 };
    counts.set(owner.group, { unapplied: sum.unapplied + consumer.num_pending + consumer.num_ack_pending, redelivered: sum.redelivered + consumer.num_redelivered });
  }
  return counts;
}

/** What consumer groups have yet to apply, as JetStream counts it. */
export type GroupBacklogs = Readonly<{
  /** The position of the stream's last event: how far the relay has published. */
  published: bigint;
  /** Per group that has consumers: ConsumerCounts.unapplied. */
  unapplied: ReadonlyMap<string, number>;
}>;

/**
 * groupConsumerCounts' backlogs, or undefined when JetStream cannot tell (no events stream yet,
 * which this only looks at, or no answer): lag is then told from positions alone.
 */
export async function groupBacklogsIfKnown(nats: NatsConnection, topology: EventTopology, groups: readonly string[]): Promise<GroupBacklogs | undefined> {
  try {
    const jsm = await nats.jetstreamManager();
    const [published, counts] = await Promise.all([jsm.streams.info(topology.stream).then((info) => positionOfLastMessage(jsm, info)), groupConsumerCounts(jsm, topology, groups)]);
    return { published, unapplied: new Map([...counts].map(([group, { unapplied }]) => [group, unapplied])) };
  } catch {
    return undefined;
  }
}
