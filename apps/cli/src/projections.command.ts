import type { Command } from 'commander';
import { connect } from 'nats';
import { eventTopology, groupBacklogsIfKnown, natsConnectionOptions, type GroupBacklogs } from '@tidings/messaging';
import { consumerGroupOf, describeRebuildFailure, projectionStatuses, rebuildProjection, resumeProjection, type Projection, type ProjectionStatus } from '@tidings/read-models';
import type { Settings } from '@tidings/settings';
import { projectionCatalog } from '@tidings/apps-projector';
import { projectionNamed, withOperatorConnections } from './operator-connections';
import { print, printJson, table } from './output';
import { startProgress, type Progress } from './progress';

/** `tidings projections list|status|rebuild|resume` (ARCHITECTURE §5). */
export function addProjectionsCommand(program: Command): void {
  const projections = program.command('projections').description('inspect, rebuild and resume read models');

  projections
    .command('list')
    .description('every projection: version, status, position, head position, lag, dead letters')
    .option('--json', 'one JSON object per projection')
    .action((options: { json?: boolean }) =>
      withOperatorConnections(async ({ settings, pool, store }) => {
        const catalog = projectionCatalog(settings);
        const statuses = await projectionStatuses(pool, store, catalog, { backlogs: await jetStreamBacklogs(settings, catalog), partitions: settings.partitions });
        if (options.json) return statuses.forEach((status) => printJson(summary(status)));
        table(statuses.map(summary));
      }),
    );

  projections
    .command('status')
    .description('one projection (or all) with each partition: checkpoint, member holding it, blocked error')
    .argument('[name]', 'projection name')
    .option('--json', 'one JSON object per projection')
    .action((name: string | undefined, options: { json?: boolean }) =>
      withOperatorConnections(async ({ settings, pool, store }) => {
        const projections = name ? [projectionNamed(settings, name)] : projectionCatalog(settings);
        const statuses = await projectionStatuses(pool, store, projections, { backlogs: await jetStreamBacklogs(settings, projections), partitions: settings.partitions });
        for (const status of statuses) {
          if (options.json) {
            printJson({ ...summary(status), ...(status.lastRebuildFailure ? { lastRebuildFailure: status.lastRebuildFailure } : {}), partitions: status.partitions });
            continue;
          }
          table([summary(status)]);
          if (status.lastRebuildFailure) print(describeRebuildFailure(status.lastRebuildFailure));
          table(
            status.partitions.map((partition) => ({
              partition: partition.partition,
              category: partition.category,
              position: partition.position,
              member: partition.member ?? '-',
              blocked: partition.blocked ? `at ${partition.blocked.position}: ${partition.blocked.error}` : '-',
            })),
          );
        }
      }),
    );

  projections
    .command('rebuild')
    .description('blue/green: build a new version from the event store, switch readers atomically, drop the old tables')
    .argument('<name>', 'projection name')
    .option('--json', 'print the report as JSON')
    .action((name: string, options: { json?: boolean }) =>
      withOperatorConnections(async ({ settings, pool, store }) => {
        const projection = projectionNamed(settings, name);
        const head = await store.headPosition();
        // Shown from the first page on: a rebuild refused at once (another is running) shows none.
        let progress: Progress | undefined;
        let shown = 0n;
        // Ctrl-C (or SIGTERM) stops the rebuild after its current page: its tables are dropped, the live version stays, and the failure is recorded. A second one ends the process at once.
        const interrupt = new AbortController();
        const stop = () => interrupt.abort();
        process.once('SIGINT', stop).once('SIGTERM', stop);
        const report = await rebuildProjection({
          pool,
          store,
          projection,
          databaseUrl: settings.databaseUrl,
          partitions: settings.partitions,
          signal: interrupt.signal,
          onProgress: ({ position }) => {
            progress ??= startProgress(`rebuild ${name}`, Math.max(Number(head), 1));
            progress.advance(Number(position - shown));
            shown = position;
          },
        }).finally(() => {
          progress?.stop();
          process.off('SIGINT', stop).off('SIGTERM', stop);
        });
        if (options.json) return printJson(report);
        print(`${name}: version ${report.version} live at position ${report.position}; ${report.events} events in ${report.seconds.toFixed(1)} s`);
      }),
    );

  projections
    .command('resume')
    .description('let blocked partitions of a projection try their failing event again')
    .argument('<name>', 'projection name')
    .action((name: string) =>
      withOperatorConnections(async ({ settings, pool }) => {
        const projection = projectionNamed(settings, name);
        const resumed = await resumeProjection(pool, projection);
        print(resumed ? `${consumerGroupOf(projection)}: ${resumed} partition(s) resumed` : `${name}: no partition is blocked`);
      }),
    );
}

/** What JetStream says the projections have yet to apply; undefined (lag from positions) when NATS does not answer within 2 s. */
async function jetStreamBacklogs(settings: Settings, projections: readonly Projection[]): Promise<GroupBacklogs | undefined> {
  // Without NATS (or an answer from it in 2 s) the lag is told from positions.
  const nats = await Promise.resolve()
    .then(() => connect({ ...natsConnectionOptions(settings), name: 'tidings-cli', timeout: 2_000, reconnect: false }))
    .catch((error: unknown) => error as Error);
  if (nats instanceof Error) {
    process.stderr.write(`NATS did not answer (${nats.message}): lag is counted from positions, events of other categories included\n`);
    return undefined;
  }
  try {
    const topology = eventTopology(settings.namespace, settings.partitions);
    const backlogs = await groupBacklogsIfKnown(nats, topology, projections.map(consumerGroupOf));
    // A mistyped TIDINGS_NAMESPACE looks like this too: said, rather than lag quietly counted another way.
    const why = !backlogs ? `JetStream has no ${topology.stream}, or could not count what it holds for its consumers` : backlogs.unapplied.size === 0 ? `no projector consumes from ${topology.stream} yet` : undefined;
    if (why) process.stderr.write(`${why} (TIDINGS_NAMESPACE=${settings.namespace}): lag is counted from positions, events of other categories included\n`);
    return backlogs;
  } finally {
    await nats.close();
  }
}

const summary = (status: ProjectionStatus) => ({
  name: status.name,
  version: status.version ?? null,
  status: status.status,
  position: status.position,
  headPosition: status.head,
  lag: status.lag,
  deadLetters: status.deadLetters,
});
