import { createInbox, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from 'nats';
import type { PublishWindow } from './publish-window';

export class PublishFailed extends Error {
  override readonly name = 'PublishFailed';
}

/**
 * Publishes to JetStream over core NATS with every acknowledgement coming back through one
 * reply subscription (what nats.go's PublishAsync does). nats.js's `js.publish` is a request
 * per message — a timer, a promise and an error object each — which cost the relay half its
 * time. Acknowledgements settle tickets of a PublishWindow; one that does not arrive within
 * `ackTimeoutMs` fails the window, and so does the connection closing.
 */
export class PipelinedPublisher {
  private readonly inbox = createInbox();
  private readonly replies: Subscription;
  private readonly overdueCheck: ReturnType<typeof setInterval>;

  constructor(
    private readonly nats: NatsConnection,
    private readonly window: PublishWindow,
    ackTimeoutMs: number,
  ) {
    this.replies = nats.subscribe(`${this.inbox}.*`, { callback: (error, reply) => (error ? window.fail(error) : this.acknowledge(reply)) });
    this.overdueCheck = setInterval(() => {
      if (window.oldestWait() > ackTimeoutMs) window.fail(new PublishFailed(`no acknowledgement from JetStream within ${ackTimeoutMs} ms`));
    }, Math.min(ackTimeoutMs, 1_000));
    void nats.closed().then(() => window.fail(new PublishFailed('the NATS connection closed')));
  }

  /** Sends at once (synchronously: publishes of one turn leave in one socket write). */
  publish(position: bigint, subject: string, data: Uint8Array, headers: MsgHdrs, msgId: string): void {
    const ticket = this.window.send(position);
    headers.append('Nats-Msg-Id', msgId);
    this.nats.publish(subject, data, { headers, reply: `${this.inbox}.${ticket}` });
  }

  close(): void {
    clearInterval(this.overdueCheck);
    this.replies.unsubscribe();
  }

  private acknowledge(reply: Msg): void {
    const ticket = Number(reply.subject.slice(this.inbox.length + 1));
    const failure = ackFailure(reply);
    if (failure) this.window.fail(failure);
    else this.window.settle(ticket);
  }
}

/** A JetStream PubAck is `{stream, seq}`; an error is `{error: {code, err_code, description}}` or a 503 status (no stream listens). */
function ackFailure(reply: Msg): PublishFailed | undefined {
  if (reply.headers?.hasError) return new PublishFailed(`no events stream to publish to (${reply.headers.code} ${reply.headers.description})`);
  let ack: { error?: { code?: number; err_code?: number; description?: string }; seq?: number };
  try {
    ack = JSON.parse(Buffer.from(reply.data).toString('utf8')) as typeof ack;
  } catch {
    return new PublishFailed('JetStream answered a publish with something other than JSON');
  }
  if (ack.error) return new PublishFailed(`JetStream refused a publish: ${ack.error.description ?? 'unknown error'} (${ack.error.err_code ?? ack.error.code})`);
  return typeof ack.seq === 'number' ? undefined : new PublishFailed('JetStream answered a publish without a sequence');
}
