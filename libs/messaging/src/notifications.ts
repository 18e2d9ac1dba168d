import type { NatsConnection, Subscription } from 'nats';
import type { EventTopology } from './event-topology';

/**
 * A live notification for WebSocket and GraphQL subscribers (ARCHITECTURE §2): NATS core, not
 * JetStream — a hint that something changed, never the record of it. Any API instance may
 * hold the subscriber, so every instance hears every channel.
 */
export type Notification = Readonly<{ channel: string; type: string; data: unknown }>;

const subjectOf = (topology: EventTopology, channel: string) => `${topology.namespace}.notify.${channel}`;

export function publishNotification(nats: NatsConnection, topology: EventTopology, notification: Notification): void {
  nats.publish(subjectOf(topology, notification.channel), JSON.stringify(notification));
}

export function subscribeToNotifications(nats: NatsConnection, topology: EventTopology, deliver: (notification: Notification) => void): Subscription {
  return nats.subscribe(`${topology.namespace}.notify.>`, {
    callback: (error, message) => {
      if (error) return;
      try {
        deliver(message.json<Notification>());
      } catch {
        // Not a notification of ours: nothing to deliver.
      }
    },
  });
}
