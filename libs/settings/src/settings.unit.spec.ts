import { apiOrigin, DEVELOPMENT_JWT_SECRET, loadSettings, SettingsError } from './settings';

describe('loadSettings', () => {
  it('defaults to the PostgreSQL store on the local server', () => {
    expect(loadSettings({})).toEqual({
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/tidings',
      natsUrl: 'nats://127.0.0.1:4222',
      logLevel: 'info',
      eventStore: 'postgres',
      namespace: 'tidings',
      host: '0.0.0.0',
      port: 3000,
      partitions: 8,
      roles: ['api', 'relay', 'projector', 'sagas'],
      threads: 'per-role',
      databasePoolSize: 10,
      leaseTtlMs: 10_000,
      jwtSecret: DEVELOPMENT_JWT_SECRET,
      production: false,
      rateLimits: { perUser: 6_000, perIp: 6_000 },
      allowedOrigins: [],
      trustProxy: false,
      checkout: { paymentTimeoutMs: 30_000, gatewayLatencyMs: 0 },
      views: { minuteRetentionMs: 7 * 86_400_000 },
      social: { celebrityFollowers: 10_000 },
      imports: { chunkRows: 1_000, maxBytes: 256 * 1024 * 1024, workers: 4, ackWaitMs: 30_000 },
    });
  });

  it('reads the minute retention of views as a duration', () => {
    expect(loadSettings({ TIDINGS_VIEWS_MINUTE_RETENTION: '36h' }).views.minuteRetentionMs).toBe(36 * 3_600_000);
    expect(loadSettings({ TIDINGS_VIEWS_MINUTE_RETENTION: '90s' }).views.minuteRetentionMs).toBe(90_000);
  });

  it('reads the celebrity threshold of the newsfeed', () => {
    expect(loadSettings({ TIDINGS_CELEBRITY_FOLLOWERS: '3' }).social.celebrityFollowers).toBe(3);
  });

  it('reads the chunk size, file limit, workers and ack wait of imports', () => {
    expect(loadSettings({ TIDINGS_IMPORT_CHUNK_ROWS: '500', TIDINGS_IMPORT_MAX_BYTES: '1048576', TIDINGS_IMPORT_WORKERS: '4', TIDINGS_IMPORT_ACK_WAIT_MS: '5000' }).imports).toEqual({
      chunkRows: 500,
      maxBytes: 1_048_576,
      workers: 4,
      ackWaitMs: 5_000,
    });
    expect(() => loadSettings({ TIDINGS_IMPORT_CHUNK_ROWS: '0' })).toThrow(/TIDINGS_IMPORT_CHUNK_ROWS must be an integer 1-100000/);
  });

  it('refuses to run in production without a JWT secret of its own', () => {
    expect(() => loadSettings({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET must be set/);
    expect(() => loadSettings({ JWT_SECRET: 'short' })).toThrow(/at least 32 characters/);
    expect(loadSettings({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) })).toMatchObject({ production: true, jwtSecret: 'x'.repeat(32) });
  });

  it('takes a cluster of EventStoreDB nodes', () => {
    expect(loadSettings({ EVENT_STORE: 'eventstoredb', EVENTSTORE_URL: 'esdb://node1:2113,node2:2113,node3:2113?tls=true' }).eventStoreUrl).toBe('esdb://node1:2113,node2:2113,node3:2113?tls=true');
  });

  it('selects EventStoreDB with its URL', () => {
    expect(loadSettings({ EVENT_STORE: 'eventstoredb', EVENTSTORE_URL: 'esdb://127.0.0.1:2113?tls=false' })).toMatchObject({
      eventStore: 'eventstoredb',
      eventStoreUrl: 'esdb://127.0.0.1:2113?tls=false',
    });
  });

  it('listens where TIDINGS_HOST says: an IP address without a zone, or a host name', () => {
    expect(loadSettings({ TIDINGS_HOST: '::' }).host).toBe('::');
    expect(loadSettings({ TIDINGS_HOST: '127.0.0.1' }).host).toBe('127.0.0.1');
    expect(loadSettings({ TIDINGS_HOST: 'localhost' }).host).toBe('localhost');
    expect(loadSettings({ TIDINGS_HOST: 'api-1.internal' }).host).toBe('api-1.internal');
    for (const refused of ['http://0.0.0.0', '1.2.3.256', '1', 'fe80::1%eth0', 'a..b', '-a']) {
      expect(() => loadSettings({ TIDINGS_HOST: refused })).toThrow(`TIDINGS_HOST must be an IP address (0.0.0.0, ::, 127.0.0.1) or a host name, not "${refused}"`);
    }
  });

  it('trusts no proxy unless TIDINGS_TRUST_PROXY names them, or how many hops are proxies', () => {
    expect(loadSettings({}).trustProxy).toBe(false);
    expect(loadSettings({ TIDINGS_TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadSettings({ TIDINGS_TRUST_PROXY: 'loopback, 10.0.0.0/8,fd00::/8 ,192.0.2.7' }).trustProxy).toEqual(['loopback', '10.0.0.0/8', 'fd00::/8', '192.0.2.7']);
    for (const refused of ['true', '10.0.0.0/33', '::/129', '10.0.0.0/8/1', 'proxy.internal', '10.0.0.0/x']) {
      expect(() => loadSettings({ TIDINGS_TRUST_PROXY: refused })).toThrow(`TIDINGS_TRUST_PROXY must be a number of hops or proxies' addresses, comma-separated (10.0.0.7, 10.0.0.0/8, loopback, linklocal, uniquelocal), not "${refused}"`);
    }
    expect(() => loadSettings({ TIDINGS_TRUST_PROXY: '0' })).toThrow(/TIDINGS_TRUST_PROXY/);
  });

  it('says where this machine reaches the API: the loopback address for a wildcard', () => {
    expect(apiOrigin('0.0.0.0', 3000)).toBe('http://127.0.0.1:3000');
    expect(apiOrigin('::', 3000)).toBe('http://[::1]:3000');
    expect(apiOrigin('::1', 8080)).toBe('http://[::1]:8080');
    expect(apiOrigin('127.0.0.2', 3000)).toBe('http://127.0.0.2:3000');
    expect(apiOrigin('localhost', 3000)).toBe('http://localhost:3000');
  });

  it('picks the processes to run from TIDINGS_ROLES', () => {
    expect(loadSettings({ TIDINGS_ROLES: 'relay, projector,relay' }).roles).toEqual(['relay', 'projector']);
  });

  it('takes a variable set to nothing as not set', () => {
    expect(loadSettings({ PORT: '', TIDINGS_CELEBRITY_FOLLOWERS: ' ', LOG_LEVEL: '', JWT_SECRET: '' })).toMatchObject({
      port: 3000,
      social: { celebrityFollowers: 10_000 },
      logLevel: 'info',
      jwtSecret: DEVELOPMENT_JWT_SECRET,
    });
  });

  it('does not repeat a refused URL, which may hold a password', () => {
    expect(() => loadSettings({ DATABASE_URL: 'http://tidings:hunter2@db.example/tidings' })).toThrow(/^DATABASE_URL must be a URL starting postgres:\/\/ or postgresql:\/\/, not http:\/\/$/);
    expect(() => loadSettings({ NATS_URL: 'nats://127.0.0.1:4222,http://u:hunter2@nats.example' })).toThrow(/^NATS_URL must be a URL starting nats:\/\/ or tls:\/\/, not http:\/\/$/);
  });

  it('reads several NATS servers, a credentials file and a log level', () => {
    expect(loadSettings({ NATS_URL: 'nats://u:p@nats-1:4222,nats-2:4222', NATS_CREDS_FILE: __filename, LOG_LEVEL: 'warn' })).toMatchObject({
      natsUrl: 'nats://u:p@nats-1:4222,nats-2:4222',
      natsCredsFile: __filename,
      logLevel: 'warn',
    });
    expect(() => loadSettings({ NATS_CREDS_FILE: '/no/such/nats.creds' })).toThrow(/NATS_CREDS_FILE names a file this process cannot read/);
    expect(() => loadSettings({ NATS_URL: 'nats://u:100%@nats-1:4222' })).toThrow(/must be percent-encoded/);
    expect(() => loadSettings({ NATS_URL: 'ws://nats-1:8080' })).toThrow(/NATS_URL must be a URL starting nats:\/\/ or tls:\/\//);
  });

  it('takes the browser origins TIDINGS_ALLOWED_ORIGINS lists, as browsers send them', () => {
    expect(loadSettings({ TIDINGS_ALLOWED_ORIGINS: 'https://app.example.com, http://localhost:5173' }).allowedOrigins).toEqual(['https://app.example.com', 'http://localhost:5173']);
  });

  it('runs every role on the main thread when TIDINGS_THREADS says single', () => {
    expect(loadSettings({ TIDINGS_THREADS: 'single' }).threads).toBe('single');
  });

  it.each([
    [{ EVENT_STORE: 'mongo' }, /EVENT_STORE must be/],
    [{ EVENT_STORE: 'eventstoredb' }, /needs EVENTSTORE_URL/],
    [{ DATABASE_URL: 'not a url' }, /DATABASE_URL must be a URL starting postgres:\/\/ or postgresql:\/\//],
    [{ DATABASE_URL: 'http://127.0.0.1:5432/tidings' }, /DATABASE_URL must be a URL starting postgres:\/\//],
    [{ DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/' }, /DATABASE_URL must name a database, as in postgres:\/\/postgres@127.0.0.1:5432\/tidings/],
    [{ DATABASE_URL: 'postgres://postgres:100%@127.0.0.1:5432/tidings' }, /DATABASE_URL's user and password must be percent-encoded/],
    [{ TIDINGS_ALLOWED_ORIGINS: 'https://app.example/' }, /TIDINGS_ALLOWED_ORIGINS must list origins as browsers send them .*, not "https:\/\/app.example\/"/],
    [{ TIDINGS_ALLOWED_ORIGINS: 'https://app.example, app.example' }, /not "app.example"/],
    [{ TIDINGS_ALLOWED_ORIGINS: 'ftp://files.example' }, /TIDINGS_ALLOWED_ORIGINS must list origins/],
    [{ NATS_URL: 'http://127.0.0.1:4222' }, /NATS_URL must be a URL starting nats:\/\//],
    [{ NATS_URL: 'nats://127.0.0.1:4222,nats://' }, /NATS_URL must/],
    [{ EVENT_STORE: 'eventstoredb', EVENTSTORE_URL: 'notaurl' }, /EVENTSTORE_URL must be an EventStoreDB connection string starting esdb:\/\//],
    [{ LOG_LEVEL: 'verbose' }, /LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent/],
    [{ PORT: '0x50' }, /PORT must be an integer 0-65535, not "0x50"/],
    [{ TIDINGS_PARTITIONS: '3e0' }, /TIDINGS_PARTITIONS must be an integer/],
    [{ NODE_ENV: 'production', JWT_SECRET: DEVELOPMENT_JWT_SECRET }, /must not be the public development key/],
    [{ PORT: '70000' }, /PORT must be/],
    [{ TIDINGS_NAMESPACE: 'a.b' }, /TIDINGS_NAMESPACE must be/],
    [{ TIDINGS_PARTITIONS: '0' }, /TIDINGS_PARTITIONS must be an integer 1-256/],
    [{ TIDINGS_ROLES: 'relay,mailer' }, /TIDINGS_ROLES must list some of/],
    [{ TIDINGS_THREADS: 'many' }, /TIDINGS_THREADS must be one of per-role, single/],
    [{ TIDINGS_DATABASE_POOL_SIZE: '0' }, /TIDINGS_DATABASE_POOL_SIZE must be an integer 1-1000/],
    [{ TIDINGS_LEASE_TTL_MS: 'soon' }, /TIDINGS_LEASE_TTL_MS must be/],
    [{ TIDINGS_VIEWS_MINUTE_RETENTION: '7 days' }, /TIDINGS_VIEWS_MINUTE_RETENTION must be a duration/],
    [{ TIDINGS_VIEWS_MINUTE_RETENTION: '30s' }, /of at least 60 s/],
    [{ TIDINGS_CELEBRITY_FOLLOWERS: '-1' }, /TIDINGS_CELEBRITY_FOLLOWERS must be an integer 0-1000000000/],
    [{ TIDINGS_CELEBRITY_FOLLOWERS: 'many' }, /TIDINGS_CELEBRITY_FOLLOWERS must be an integer/],
  ])('refuses %p with a reason', (env, reason) => {
    expect(() => loadSettings(env)).toThrow(SettingsError);
    expect(() => loadSettings(env)).toThrow(reason);
  });
});
