import { readFileSync } from 'node:fs';
import { credsAuthenticator, type ConnectionOptions } from 'nats';

/** Where NATS is and who Tidings is to it: NATS_URL (servers, comma-separated) and NATS_CREDS_FILE. */
export type NatsAddress = Readonly<{ natsUrl: string; natsCredsFile?: string }>;

/**
 * nats.js's options for the servers of NATS_URL (as settings checked it). nats.js reads no
 * credentials from a URL: a `user:password@` or `token@` in one is taken out of the servers and
 * given as `user`/`pass` or `token`; a credentials file (a user JWT and its NKey seed) as the
 * authenticator. Throws for what settings would have refused; a caller's promise chain hears it.
 */
export function natsConnectionOptions({ natsUrl, natsCredsFile }: NatsAddress): ConnectionOptions {
  let credentials: Pick<ConnectionOptions, 'user' | 'pass' | 'token'> = {};
  const servers = natsUrl.split(',').map((server) => {
    const url = new URL(/^[a-z]+:\/\//.test(server.trim()) ? server.trim() : `nats://${server.trim()}`);
    if (url.username && !credentials.user && !credentials.token) {
      const [name, secret] = [decodeURIComponent(url.username), decodeURIComponent(url.password)];
      credentials = url.password ? { user: name, pass: secret } : { token: name };
    }
    return `${url.protocol}//${url.host}`;
  });
  // nats.js upgrades to TLS only when a server offers it: a tls:// server must not get credentials in the clear.
  const tls = servers.some((server) => server.startsWith('tls:')) ? { tls: {} } : {};
  return { servers, ...credentials, ...tls, ...(natsCredsFile ? { authenticator: credsAuthenticator(readFileSync(natsCredsFile)) } : {}) };
}
