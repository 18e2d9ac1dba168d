import { testNatsUrl, useTestDatabase } from '@tidings/testing';
import { measureMachineSpeed } from './machine-speed';

describe('measureMachineSpeed', () => {
  const { database } = useTestDatabase();

  it('reports the reference loop and a round trip to the real PostgreSQL and NATS, each a plausible time', async () => {
    const results = await measureMachineSpeed({ databaseUrl: database.url, natsUrl: testNatsUrl() });

    expect(results.map(({ workload, metric }) => `${workload}.${metric}`)).toEqual(['machine.loop_ms', 'machine.pg_round_trip_us', 'machine.nats_round_trip_us']);
    const [loopMs, postgresUs, natsUs] = results.map(({ value }) => value);
    // 10^8 iterations cannot take under 10 ms unless the loop was optimised away.
    expect(loopMs).toBeGreaterThan(10);
    expect(loopMs).toBeLessThan(60_000);
    // A loopback round trip takes some microseconds, and far less than a second.
    for (const roundTripUs of [postgresUs, natsUs]) {
      expect(roundTripUs).toBeGreaterThan(1);
      expect(roundTripUs).toBeLessThan(1_000_000);
    }
  });

  it('fails with the reason when PostgreSQL cannot be reached', async () => {
    await expect(measureMachineSpeed({ databaseUrl: 'postgres://postgres@127.0.0.1:1/none', natsUrl: testNatsUrl() })).rejects.toThrow(/ECONNREFUSED/);
  });
});
