import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { Client } from 'pg';
import { testServerUrl } from '@tidings/testing';
import { connectClient, migrate, quoteIdentifier, withDatabase } from './database';

describe('migrate', () => {
  const name = `tidings_test_${process.env.TIDINGS_TEST_RUN}_migrate_${randomBytes(3).toString('hex')}`;
  const url = withDatabase(testServerUrl(), name);

  afterAll(async () => {
    const admin = new Client({ connectionString: withDatabase(testServerUrl(), 'postgres') });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`);
    await admin.end();
  });

  it('creates the database and applies every migration once, even when three processes start together', async () => {
    const reports = await Promise.all([migrate(url), migrate(url), migrate(url)]);

    expect(reports.filter((report) => report.created)).toHaveLength(1);
    expect(reports.flatMap((report) => report.applied)).toEqual(['EventStore1763700000000', 'Checkpoints1763700000001', 'Consumers1763800000000', 'IdempotencyKeys1763900000000', 'CheckpointReadModelVersion1763900000001', 'PaymentSimulator1764000000000', 'CheckoutSagas1764000000001', 'ImportRows1764100000000', 'PaymentSimulatorCall1764200000000', 'GroupPartitions1764300000000', 'CheckoutSagaClaims1764400000000', 'AppendsNamed1764500000000', 'AppendPlansKept1764600000000', 'IdempotencyReceivedAt1764700000000', 'PostVersions1764800000000', 'ImportRowsStagedAt1764900000000', 'ExpectedBatches1765000000000']);
  });

  it('changes nothing when run again', async () => {
    await expect(migrate(url)).resolves.toEqual({ database: name, created: false, applied: [] });
  });
});

describe('connectClient', () => {
  it('says where, when what answers at the address closes the connection (a server that is no PostgreSQL)', async () => {
    const notPostgres = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => notPostgres.listen(0, '127.0.0.1', resolve));
    const { port } = notPostgres.address() as AddressInfo;
    try {
      await expect(connectClient(`postgres://postgres@127.0.0.1:${port}/tidings`)).rejects.toThrow(`what answers at 127.0.0.1:${port} closed the connection: is it PostgreSQL, and is DATABASE_URL right?`);
    } finally {
      await new Promise((resolve) => notPostgres.close(resolve));
    }
  });
});
