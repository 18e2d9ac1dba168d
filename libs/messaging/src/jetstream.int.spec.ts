import { useTestJetStream } from '@tidings/testing';
import { eventTopology } from './event-topology';
import { ensureEventStream } from './jetstream';

describe('ensureEventStream', () => {
  // The stream of this namespace is deleted after the file's tests.
  const jetstream = useTestJetStream();

  it('creates the namespace’s stream once, and refuses it to a namespace that differs only in case or in - and _', async () => {
    const jsm = await jetstream.nats.jetstreamManager();
    const created = await ensureEventStream(jsm, jetstream.topology);
    expect(created.config).toMatchObject({ name: jetstream.topology.stream, subjects: [jetstream.topology.subjects] });
    expect((await ensureEventStream(jsm, jetstream.topology)).config.name).toBe(jetstream.topology.stream);

    const lookalike = eventTopology(jetstream.topology.namespace.replaceAll('_', '-').toUpperCase(), 4);
    expect(lookalike.stream).toBe(jetstream.topology.stream);
    await expect(ensureEventStream(jsm, lookalike)).rejects.toThrow(/another namespace uses it .*choose another TIDINGS_NAMESPACE/);
  });
});
