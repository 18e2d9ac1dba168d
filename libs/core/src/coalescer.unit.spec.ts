import { setImmediate as nextTurn } from 'node:timers/promises';
import { Coalescer, type Waiting } from './coalescer';

type Request = Readonly<{ n: number }>;

/** Serves each batch when the spec says so, answering every request with its number times ten. */
function servedOnCue() {
  const served: number[][] = [];
  const cues: (() => void)[] = [];
  const serve = async (batch: Waiting<Request, number>[]) => {
    served.push(batch.map((request) => request.n));
    await new Promise<void>((resolve) => cues.push(resolve));
    for (const request of batch) {
      if (request.n < 0) request.reject(new Error(`refused ${request.n}`));
      else request.resolve(request.n * 10);
    }
  };
  const finishAll = async () => {
    while (cues.length) (cues.shift() as () => void)();
    // Answers settle, then the next flush runs on the turn after.
    await nextTurn();
    await nextTurn();
  };
  return { served, serve, finishAll };
}

describe('Coalescer', () => {
  it('sends requests made in one turn as one batch, and those made while batches are served as the next, each caller getting its own answer', async () => {
    const { served, serve, finishAll } = servedOnCue();
    const coalescer = new Coalescer<Request, number>(serve, { maxInFlight: 1 });
    const first = [1, 2, 3].map((n) => coalescer.submit({ n }));
    await nextTurn();
    const second = [4, 5].map((n) => coalescer.submit({ n }));
    await nextTurn();
    expect(served).toEqual([[1, 2, 3]]);

    await finishAll();
    await expect(Promise.all(first)).resolves.toEqual([10, 20, 30]);
    expect(served).toEqual([[1, 2, 3], [4, 5]]);
    await finishAll();
    await expect(Promise.all(second)).resolves.toEqual([40, 50]);
  });

  it('serves up to maxInFlight batches at once, and a batch rule closes a batch; the first request always joins', async () => {
    const { served, serve, finishAll } = servedOnCue();
    const upToFive = () => {
      let total = 0;
      return ({ n }: Request) => {
        if (total > 0 && total + n > 5) return false;
        total += n;
        return true;
      };
    };
    const coalescer = new Coalescer<Request, number>(serve, { maxInFlight: 2, batchRule: upToFive });
    const answers = [9, 1, 2, 3, 4].map((n) => coalescer.submit({ n }));
    await nextTurn();
    expect(served).toEqual([[9], [1, 2]]);
    await finishAll();
    await finishAll();
    expect(served).toEqual([[9], [1, 2], [3], [4]]);
    await expect(Promise.all(answers)).resolves.toEqual([90, 10, 20, 30, 40]);
  });

  it('settles each request as the server says, and rejects a batch whose server throws, not the next one', async () => {
    let calls = 0;
    const coalescer = new Coalescer<Request, number>(
      async (batch) => {
        if (calls++ === 0) throw new Error('the database went away');
        for (const request of batch) request.resolve(request.n);
      },
      { maxInFlight: 1 },
    );
    const failed = [coalescer.submit({ n: 1 }), coalescer.submit({ n: 2 })];
    await expect(Promise.allSettled(failed)).resolves.toEqual([
      { status: 'rejected', reason: new Error('the database went away') },
      { status: 'rejected', reason: new Error('the database went away') },
    ]);
    await expect(coalescer.submit({ n: 3 })).resolves.toBe(3);
  });
});
