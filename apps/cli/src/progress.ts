import { SingleBar, Presets } from 'cli-progress';

export interface Progress {
  advance(by?: number): void;
  stop(): void;
}

/**
 * A bar with rate and ETA on a terminal, a plain line every few seconds otherwise. Always on
 * stderr, so `--json` output on stdout stays machine-readable. Work that grows while it runs (a
 * rebuild catching up with events written meanwhile) raises the total to what is done.
 */
export function startProgress(label: string, expected: number, unit = 'events'): Progress {
  let total = expected;
  if (process.stderr.isTTY) {
    const bar = new SingleBar(
      { format: `${label} [{bar}] {percentage}% {value}/{total} ${unit} | {speed} ${unit}/s | ETA {eta_formatted}`, stream: process.stderr, hideCursor: true },
      Presets.shades_classic,
    );
    const started = Date.now();
    let done = 0;
    bar.start(total, 0, { speed: 0 });
    return {
      advance: (by = 1) => {
        done += by;
        if (done > total) bar.setTotal((total = done));
        bar.update(done, { speed: Math.round(done / Math.max((Date.now() - started) / 1000, 0.001)) });
      },
      stop: () => bar.stop(),
    };
  }
  let done = 0;
  let lastLine = Date.now();
  const started = lastLine;
  const line = () =>
    process.stderr.write(`${label}: ${done}/${total} ${unit} (${Math.round(done / Math.max((Date.now() - started) / 1000, 0.001))} ${unit}/s)\n`);
  return {
    advance: (by = 1) => {
      done += by;
      total = Math.max(total, done);
      if (Date.now() - lastLine >= 2_000) {
        lastLine = Date.now();
        line();
      }
    },
    stop: line,
  };
}
