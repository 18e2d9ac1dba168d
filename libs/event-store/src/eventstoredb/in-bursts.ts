const NOT_READY = Symbol('not ready');

/**
 * Groups what an async iterable has ready into arrays (up to `maxBurst`): everything that
 * arrives before the event loop turns: a subscription page of the events the gRPC stream had ready.
 */
export async function* inBursts<T>(items: AsyncIterable<T>, maxBurst: number): AsyncGenerator<T[]> {
  const iterator = items[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<T>> | undefined;
  for (;;) {
    const first = await (pending ?? iterator.next());
    pending = undefined;
    if (first.done) return;
    const burst = [first.value];
    while (burst.length < maxBurst) {
      const next = iterator.next();
      const ready = await Promise.race([next, new Promise<typeof NOT_READY>((resolve) => setImmediate(resolve, NOT_READY))]);
      if (ready === NOT_READY) {
        pending = next;
        break;
      }
      if (ready.done) {
        yield burst;
        return;
      }
      burst.push(ready.value);
    }
    yield burst;
  }
}
