import { Client } from 'pg';
import { connectNats, type NatsAddress } from '@tidings/messaging';
import { median, type BenchResult } from './bench-result';

/** Iterations of the reference loop: under half a second on the 2-core development machines. */
const LOOP_ITERATIONS = 100_000_000;
const LOOP_RUNS = 3;
/** Round trips timed per server. */
const ROUND_TRIPS = 2_000;

/**
 * What this machine charges for what every figure of Tidings is made of, measured before the
 * workloads run: a core's arithmetic (a fixed loop), a PostgreSQL round trip (`SELECT 1` on one
 * connection) and a NATS round trip (PING/PONG), both over loopback. Two 2-core development
 * machines differed by 1.8× in what one workload cost them, so a workload's figures compare
 * across machines only beside these; within one machine, alternate runs instead.
 */
export async function measureMachineSpeed(settings: Readonly<{ databaseUrl: string }> & NatsAddress): Promise<BenchResult[]> {
  const result = (metric: string, value: number): BenchResult => ({ workload: 'machine', metric, value: Math.round(value * 10) / 10 });
  return [
    result('loop_ms', median(Array.from({ length: LOOP_RUNS }, referenceLoopMs))),
    result('pg_round_trip_us', await postgresRoundTripUs(settings.databaseUrl)),
    result('nats_round_trip_us', await natsRoundTripUs(settings)),
  ];
}

/** Milliseconds for LOOP_ITERATIONS of integer arithmetic that the compiler cannot skip. */
function referenceLoopMs(): number {
  const started = performance.now();
  let accumulator = 0;
  for (let i = 0; i < LOOP_ITERATIONS; i++) accumulator = (accumulator + i * 7) % 1_000_003;
  const elapsed = performance.now() - started;
  if (accumulator < 0) throw new Error('unreachable: keeps the loop observable');
  return elapsed;
}

async function postgresRoundTripUs(databaseUrl: string): Promise<number> {
  const client = new Client({ connectionString: databaseUrl, application_name: 'tidings-bench-machine' });
  await client.connect();
  try {
    return await medianMicroseconds(() => client.query('SELECT 1'));
  } finally {
    await client.end();
  }
}

async function natsRoundTripUs(address: NatsAddress): Promise<number> {
  const nats = await connectNats(address, 'tidings-bench-machine');
  try {
    return await medianMicroseconds(() => nats.flush());
  } finally {
    await nats.close();
  }
}

/** The median time of ROUND_TRIPS sequential calls, after a few unmeasured ones. */
async function medianMicroseconds(roundTrip: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 50; i++) await roundTrip();
  const times: number[] = [];
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const started = performance.now();
    await roundTrip();
    times.push((performance.now() - started) * 1_000);
  }
  return median(times);
}
