/** Ranks 0..n-1 drawn with probability ∝ 1/(rank+1) (Zipf, s = 1), from `random`'s numbers in [0, 1). */
export function zipf(n: number, random: () => number = Math.random): () => number {
  const cumulative: number[] = [];
  let sum = 0;
  for (let rank = 1; rank <= n; rank++) cumulative.push((sum += 1 / rank));
  return () => {
    const target = random() * sum;
    let low = 0;
    let high = n - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (cumulative[middle] < target) low = middle + 1;
      else high = middle;
    }
    return low;
  };
}
