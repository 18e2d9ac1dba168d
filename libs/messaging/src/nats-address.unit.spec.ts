import { natsConnectionOptions } from './nats-address';

describe('natsConnectionOptions', () => {
  it('lists the servers of NATS_URL without credentials, which it gives as user and password or token', () => {
    expect(natsConnectionOptions({ natsUrl: 'nats://127.0.0.1:4222' })).toEqual({ servers: ['nats://127.0.0.1:4222'] });
    expect(natsConnectionOptions({ natsUrl: 'nats://tidings:s%40cret@nats-1:4222, nats-2:4222' })).toEqual({
      servers: ['nats://nats-1:4222', 'nats://nats-2:4222'],
      user: 'tidings',
      pass: 's@cret',
    });
    expect(natsConnectionOptions({ natsUrl: 'tls://a-token@nats.example:4443' })).toEqual({ servers: ['tls://nats.example:4443'], token: 'a-token', tls: {} });
  });
});
