import { AckPolicy, DeliverPolicy, headers } from 'nats';
import { useTestJetStream } from '@tidings/testing';
import { partitionConsumerName, type EventTopology } from './event-topology';
import { POSITION_HEADER } from './event-message';
import { groupBacklogsIfKnown, groupConsumerCounts } from './group-backlogs';
import { ensureEventStream } from './jetstream';

describe('group backlogs, as JetStream counts them', () => {
  const given = useTestJetStream(2);

  /** Publishes events at the positions given to a group partition's subject, as the relay does. */
  const publish = async (topology: EventTopology, subject: string, positions: readonly number[]) => {
    const js = given.nats.jetstream();
    for (const position of positions) {
      const messageHeaders = headers();
      messageHeaders.append(POSITION_HEADER, String(position));
      await js.publish(`${topology.namespace}.events.${subject}`, new TextEncoder().encode('{}'), { headers: messageHeaders });
    }
  };
  /** A partition's durable consumer, named as the consumer runtime names it. */
  const consumerOf = async (group: string, partition: number, subject: string) => {
    const jsm = await given.nats.jetstreamManager();
    const name = partitionConsumerName(given.topology, group, partition, 'member-1');
    await jsm.consumers.add(given.topology.stream, {
      durable_name: name,
      filter_subject: `${given.topology.namespace}.events.${subject}`,
      ack_policy: AckPolicy.All,
      deliver_policy: DeliverPolicy.All,
    });
    return given.nats.jetstream().consumers.get(given.topology.stream, name);
  };

  it('counts what each group has not had acknowledged, its partitions summed, and says how far the relay published', async () => {
    const jsm = await given.nats.jetstreamManager();
    expect(await groupBacklogsIfKnown(given.nats, given.topology, ['projection.views'])).toBeUndefined();
    await ensureEventStream(jsm, given.topology);
    await consumerOf('projection.views', 0, 'video.0');
    const partition1 = await consumerOf('projection.views', 1, 'video.1');
    // A group whose name starts with the other's: its consumers are its own.
    await consumerOf('projection.views_hourly', 0, 'video.0');
    await publish(given.topology, 'video.0', [1, 2]);
    await publish(given.topology, 'video.1', [3, 4, 5]);
    await publish(given.topology, 'order.0', [6]);

    expect(await groupBacklogsIfKnown(given.nats, given.topology, ['projection.views', 'projection.views_hourly', 'projection.orders'])).toEqual({
      published: 6n,
      unapplied: new Map([
        ['projection.views', 5],
        ['projection.views_hourly', 2],
      ]),
    });

    // Delivered and not acknowledged still counts; acknowledging the last of a batch settles it.
    const delivered = await partition1.fetch({ max_messages: 3, expires: 2_000 });
    const messages = [];
    for await (const message of delivered) messages.push(message);
    expect(messages).toHaveLength(3);
    expect((await groupConsumerCounts(jsm, given.topology, ['projection.views'])).get('projection.views')).toEqual({ unapplied: 5, redelivered: 0 });
    await messages[2].ackAck();
    expect((await groupConsumerCounts(jsm, given.topology, ['projection.views'])).get('projection.views')).toEqual({ unapplied: 2, redelivered: 0 });
  });
});
