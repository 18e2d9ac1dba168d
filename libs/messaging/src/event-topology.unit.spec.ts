import { categoryOf, eventTopology, partitionConsumerName, partitionFilter, partitionOf, subjectOf } from './event-topology';

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

  it('filters one category or all of a partition', () => {
    expect(partitionFilter(topology, ['product'], 3)).toBe('tidings.events.product.3');
    expect(partitionFilter(topology, ['product', 'order'], 3)).toBe('tidings.events.*.3');
    const name = partitionConsumerName(topology, 'projection.products', 3, 'host-1234-ab12cd');
    expect(name).toMatch(/^tidings_projection_products_p3_[0-9a-z]+$/);
    expect(partitionConsumerName(topology, 'projection.products', 3, 'host-1234-ffffff')).not.toBe(name);
  });
});
