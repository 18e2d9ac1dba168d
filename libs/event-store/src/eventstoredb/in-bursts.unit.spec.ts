import { inBursts } from './in-bursts';

async function* source(pages: readonly (readonly number[])[]): AsyncGenerator<number> {
  for (const page of pages) {
    for (const item of page) yield item;
    // A page boundary: the next items arrive after the event loop turned (like a query round trip).
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const collect = async <T>(bursts: AsyncIterable<T[]>): Promise<T[][]> => {
  const collected: T[][] = [];
  for await (const burst of bursts) collected.push(burst);
  return collected;
};

describe('inBursts', () => {
  it('groups what is ready together and starts a new burst when the source has to wait', async () => {
    await expect(collect(inBursts(source([[1, 2, 3], [4, 5], [6]]), 100))).resolves.toEqual([[1, 2, 3], [4, 5], [6]]);
  });

  it('never makes a burst larger than asked', async () => {
    await expect(collect(inBursts(source([[1, 2, 3, 4, 5]]), 2))).resolves.toEqual([[1, 2], [3, 4], [5]]);
  });

  it('loses nothing and ends with the source', async () => {
    const bursts = await collect(inBursts(source([[1], [], [2, 3]]), 10));
    expect(bursts.flat()).toEqual([1, 2, 3]);
  });
});
