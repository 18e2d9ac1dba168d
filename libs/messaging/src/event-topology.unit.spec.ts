import { categoryOf, eventTopology, groupPartitionOf, groupPartitions, groupPartitionSubject, partitionAndCategory, partitionConsumerName, partitionOf, subjectOf } from './event-topology';

describe('event topology', () => {
  const topology = eventTopology('tidings', 8);

  it('names the stream and subjects after the namespace', () => {
    expect(topology.stream).toBe('TIDINGS_EVENTS');
    expect(topology.subjects).toBe('tidings.events.>');
    expect(eventTopology('run-1a', 4).stream).toBe('RUN_1A_EVENTS');
  });

  it('puts every event of a stream on one subject of its category', () => {
    const subject = subjectOf(topology, 'product-sku-1');
    expect(subject).toMatch(/^tidings\.events\.product\.[0-7]$/);
    expect(subjectOf(topology, 'product-sku-1')).toBe(subject);
  });

  it('spreads streams over every partition', () => {
    const used = new Set(Array.from({ length: 1_000 }, (_, index) => partitionOf(`product-${index}`, 8)));
    expect([...used].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('keeps partitions stable across releases', () => {
    expect(partitionOf('product-sku-1', 8)).toBe(partitionOf('product-sku-1', 8));
    expect(partitionOf('order-0193', 1)).toBe(0);
    // FNV-1a of "a" is 0xe40c292c; a change here would move every stream to another partition.
    expect(partitionOf('a', 1_000)).toBe(0xe40c292c % 1_000);
  });

  it('makes categories safe as subject tokens', () => {
    expect(categoryOf('order-1')).toBe('order');
    expect(categoryOf('we.ird*-1')).toBe('we_ird_');
    expect(categoryOf('-1')).toBe('_1');
  });

  it('gives a group of one category the partitions themselves', () => {
    expect(groupPartitions(topology, ['product'])).toBe(8);
    expect(groupPartitionSubject(topology, ['product'], 3)).toBe('tidings.events.product.3');
    expect(groupPartitionOf(topology, ['product'], 'product-42')).toBe(partitionOf('product-42', 8));
    expect(groupPartitionOf(topology, ['product'], 'order-42')).toBeUndefined();
  });

  it('gives a group of several categories a partition per partition and category, each on one subject', () => {
    const categories = ['order', 'payment'];
    expect(groupPartitions(topology, categories)).toBe(16);
    expect(groupPartitionSubject(topology, categories, 6)).toBe('tidings.events.order.3');
    expect(groupPartitionSubject(topology, categories, 7)).toBe('tidings.events.payment.3');
    expect(partitionAndCategory(categories, 7)).toEqual({ partition: 3, category: 'payment' });
    // Every group partition reads the subject its streams' events are published on.
    for (const streamId of ['order-a', 'order-b', 'payment-a', 'payment-c']) {
      expect(groupPartitionSubject(topology, categories, groupPartitionOf(topology, categories, streamId) as number)).toBe(subjectOf(topology, streamId));
    }
    expect(new Set(Array.from({ length: 16 }, (_, groupPartition) => groupPartitionSubject(topology, categories, groupPartition))).size).toBe(16);
  });

  it('names a consumer per member and partition', () => {
    const name = partitionConsumerName(topology, 'projection.products', 3, 'host-1234-ab12cd');
    expect(name).toMatch(/^tidings_projection_products_p3_[0-9a-z]+$/);
    expect(partitionConsumerName(topology, 'projection.products', 3, 'host-1234-ffffff')).not.toBe(name);
  });
});
