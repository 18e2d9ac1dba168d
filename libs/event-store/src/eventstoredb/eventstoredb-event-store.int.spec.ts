import { eventStoreContract } from '../event-store.contract';
import { openEventStoreDb } from './eventstoredb-event-store';

const url = process.env.EVENTSTORE_URL;

// No EventStoreDB server runs on the development machines; this suite runs wherever one is
// reachable through EVENTSTORE_URL (e.g. esdb://127.0.0.1:2113?tls=false) and says so when not.
const describeWithServer = url ? describe : describe.skip;

describeWithServer(`EventStoreDB event store${url ? '' : ' — NOT RUN: set EVENTSTORE_URL to run this contract suite'}`, () => {
  eventStoreContract(async () => {
    const store = openEventStoreDb(url as string);
    return {
      store,
      // EventStoreDB has a single writer and no open transactions: an append becomes visible
      // whole or not at all, so "late" means appended late and "rolled back" means never sent.
      async beginOpenAppend(streamId, events) {
        return {
          commit: async () => void (await store.append(streamId, events, { expectedVersion: 'any' })),
          rollback: async () => undefined,
        };
      },
      // The server checks an id against the stream it is appended to (and, with any / stream_exists, only recent writes).
      eventIdsUniqueAcrossStreams: false,
      openAnother: () => openEventStoreDb(url as string),
      close: () => store.close(),
    };
  });
});
