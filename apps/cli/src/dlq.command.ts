import type { Command } from 'commander';
import { consumerGroupOf, deadLettersOf, dropDeadLetter, replayDeadLetter } from '@tidings/read-models';
import { projectionCatalog } from '@tidings/apps-projector';
import { withOperatorConnections } from './operator-connections';
import { print, printJson, table } from './output';

/** `tidings dlq list|replay|drop`: events a `park` consumer group set aside (ARCHITECTURE §5). */
export function addDlqCommand(program: Command): void {
  const dlq = program.command('dlq').description('inspect, replay and drop dead letters');

  dlq
    .command('list')
    .description('dead letters, oldest first per consumer group')
    .option('--group <group>', 'only this consumer group, e.g. projection.products')
    .option('--json', 'one JSON object per dead letter')
    .action((options: { group?: string; json?: boolean }) =>
      withOperatorConnections(async ({ settings, pool }) => {
        const letters = await deadLettersOf(pool, options.group, projectionCatalog(settings).map(consumerGroupOf));
        if (options.json) return letters.forEach((letter) => printJson(letter));
        if (letters.length === 0) return print('no dead letters');
        table(letters.map(({ id, group, position, streamId, type, attempts, error }) => ({ id, group, position, stream: streamId, type, attempts, error })));
      }),
    );

  dlq
    .command('replay')
    .description('apply a dead letter and the ones parked behind it, once, and remove them')
    .argument('<id>', 'dead letter id')
    .action((id: string) =>
      withOperatorConnections(async ({ settings, pool }) => {
        const applied = await replayDeadLetter(pool, id, (group) => {
          const projection = projectionCatalog(settings).find((candidate) => consumerGroupOf(candidate) === group);
          if (!projection) throw new Error(`no projection consumes as ${group} in this build`);
          return projection;
        });
        print(`replayed ${applied} event(s)`);
      }),
    );

  dlq
    .command('drop')
    .description('delete a dead letter without applying it')
    .argument('<id>', 'dead letter id')
    .action((id: string) =>
      withOperatorConnections(async ({ pool }) => {
        const dropped = await dropDeadLetter(pool, id);
        print(`dropped dead letter ${dropped.id} (${dropped.type} at position ${dropped.position} of ${dropped.streamId})`);
      }),
    );
}
