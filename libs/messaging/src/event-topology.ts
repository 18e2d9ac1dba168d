/**
 * Where events travel in JetStream (ARCHITECTURE §4): one stream per namespace, one subject per
 * (category, partition). Every name is prefixed by the namespace, so deployments and test runs
 * sharing a NATS server never see each other's messages.
 */
export type EventTopology = Readonly<{
  namespace: string;
  partitions: number;
  /** `TIDINGS_EVENTS` for the default namespace. */
  stream: string;
  /** Every subject of the stream: `tidings.events.>`. */
  subjects: string;
}>;

export const eventTopology = (namespace: string, partitions: number): EventTopology => ({
  namespace,
  partitions,
  stream: `${namespace.toUpperCase().replaceAll('-', '_')}_EVENTS`,
  subjects: `${namespace}.events.>`,
});

/** `product-42` → `product`; characters a subject token cannot hold become `_`. */
export const categoryOf = (streamId: string): string => {
  const dash = streamId.indexOf('-');
  return (dash > 0 ? streamId.slice(0, dash) : streamId).replace(/[^A-Za-z0-9_]/g, '_') || '_';
};

/** Stable across processes and releases: FNV-1a of the stream id, modulo the partition count. */
export const partitionOf = (streamId: string, partitions: number): number => {
  let hash = 0x811c9dc5;
  for (let index = 0; index < streamId.length; index++) {
    hash ^= streamId.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
};

/** One stream's events share a subject, so JetStream keeps their order. */
export const subjectOf = (topology: EventTopology, streamId: string): string =>
  `${topology.namespace}.events.${categoryOf(streamId)}.${partitionOf(streamId, topology.partitions)}`;

/** Every partition's subject of a category: `tidings.events.order.*`. */
export const categorySubjects = (topology: EventTopology, category: string): string => `${topology.namespace}.events.${category}.*`;

/**
 * A consumer group's partitions: one per partition and category it reads, numbered
 * `partition × categories + the category's index`, so a group of one category has the
 * partitions themselves. Each is read through a consumer filtered to its one subject: NATS 2.9
 * filters a consumer on one subject only, and a wildcard over a partition's categories hands
 * the group every other category's events to decode and skip (the orders projection was
 * delivered the 18 events of a checkout for the 4 it reads, and every video view besides).
 */
export const groupPartitions = (topology: Pick<EventTopology, 'partitions'>, categories: readonly string[]): number => topology.partitions * categories.length;

/** The partition and category a group partition reads. */
export const partitionAndCategory = (categories: readonly string[], groupPartition: number): { partition: number; category: string } => ({
  partition: Math.floor(groupPartition / categories.length),
  category: categories[groupPartition % categories.length],
});

/** The group partition that reads a stream's events; undefined when the group does not read its category. */
export const groupPartitionOf = (topology: EventTopology, categories: readonly string[], streamId: string): number | undefined => {
  const category = categories.indexOf(categoryOf(streamId));
  return category < 0 ? undefined : partitionOf(streamId, topology.partitions) * categories.length + category;
};

/** The one subject a group partition reads: `tidings.events.payment.3`. */
export const groupPartitionSubject = (topology: EventTopology, categories: readonly string[], groupPartition: number): string => {
  const { partition, category } = partitionAndCategory(categories, groupPartition);
  return `${topology.namespace}.events.${category}.${partition}`;
};

/** Every consumer of a group: `tidings_projection_products_`. Consumer names allow no dots. */
export const groupConsumerPrefix = (topology: EventTopology, group: string): string =>
  `${topology.namespace}_${group}_`.replace(/[^A-Za-z0-9_-]/g, '_');

/** The consumers of one partition of a group: `tidings_projection_products_p3_`, followed by the member's tag. */
export const partitionConsumerPrefix = (topology: EventTopology, group: string, partition: number): string =>
  `${groupConsumerPrefix(topology, group)}p${partition}_`;

/**
 * Each member reads a partition through a consumer of its own, so a member that lost the
 * partition can never pull (and leave unacknowledged) messages from the new owner's consumer.
 */
export const partitionConsumerName = (topology: EventTopology, group: string, partition: number, member: string): string =>
  `${partitionConsumerPrefix(topology, group, partition)}${partitionOf(member, 2 ** 31).toString(36)}`;
