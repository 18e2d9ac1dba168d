import { createServer, connect, type Socket } from 'node:net';

export type TcpProxy = Readonly<{
  /** Where clients connect instead of the target. */
  port: number;
  /** Drops every connection at once, losing whatever is still buffered in either direction. */
  cut(): void;
  /** Stops carrying anything either way, closes included, while every connection stays open, and new ones hear nothing: what a stalled network looks like. */
  freeze(): void;
  close(): Promise<void>;
}>;

/**
 * A loopback TCP proxy to `targetPort` whose connections a test can cut: what a broker restart
 * or a network fault does to a client, without touching the shared server.
 */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const pairs = new Set<readonly [Socket, Socket]>();
  let frozen = false;
  const server = createServer((client) => {
    track(client);
    // Frozen: a new connection is taken and hears nothing, as over a stalled network.
    if (frozen) return;
    const upstream = connect(targetPort, '127.0.0.1');
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    const pair = [client, upstream] as const;
    pairs.add(pair);
    client.on('close', () => pairs.delete(pair));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP port');
  const cut = () => sockets.forEach((socket) => socket.destroy());
  const freeze = () => {
    frozen = true;
    pairs.forEach(([client, upstream]) => {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    });
  };
  return {
    port: address.port,
    cut,
    freeze,
    close: async () => {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
