import { userInfo } from 'node:os';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { checkoutWithHistory, compensateCheckout, findCheckout, listCheckouts, nudgeCheckouts, orderIdOfCheckout, retryCheckout, SAGA_STATUSES, type SagaStatus, type SagaSummary } from '@tidings/checkout';
import { createCommandHandler, systemClock, uuidV7Ids, type CommandMetadata } from '@tidings/core';
import { withOperatorConnections, type OperatorConnections } from './operator-connections';
import { print, printJson, table } from './output';

const PAGE = 100;

/** `tidings sagas list|show|retry|compensate`: the checkout sagas, as /admin/sagas offers them (API.md). */
export function addSagasCommand(program: Command): void {
  const sagas = program.command('sagas').description('inspect checkout sagas; retry or compensate one, recorded with who asked and why');

  sagas
    .command('list')
    .description('every saga, by saga id: order, status, step, payment attempts, last error, last update')
    .addOption(new Option('--status <status>', 'only sagas in this status').choices(SAGA_STATUSES))
    .option('--json', 'one JSON object per saga')
    .action((options: { status?: SagaStatus; json?: boolean }) =>
      withOperatorConnections(async ({ pool }) => {
        const rows: SagaSummary[] = [];
        let after: string | undefined;
        do {
          const page = await listCheckouts(pool, { limit: PAGE, ...(options.status ? { status: options.status } : {}), ...(after !== undefined ? { after } : {}) });
          // JSON lines go out page by page; the table needs every row to align its columns.
          if (options.json) page.items.forEach((saga) => printJson(saga));
          else rows.push(...page.items);
          after = page.last;
        } while (after !== undefined);
        if (options.json) return;
        if (rows.length === 0) return print(options.status ? `no ${options.status} sagas` : 'no sagas');
        table(rows.map(({ sagaId, orderId, status, step, attempts, lastError, updatedAt }) => ({ sagaId, orderId, status, step, attempts, lastError: lastError ?? '-', updatedAt })));
      }),
    );

  sagas
    .command('show')
    .description("one saga's summary and its history, oldest first")
    .argument('<id>', 'saga id, checkout-<orderId>', sagaIdArgument)
    .option('--json', 'the summary with its history as one JSON object')
    .action((sagaId: string, options: { json?: boolean }) =>
      withOperatorConnections(async ({ pool, store }) => {
        const shown = await checkoutWithHistory(pool, store, sagaId);
        if (!shown) throw new UnknownSaga(`no saga ${sagaId}`);
        if (options.json) return printJson(shown);
        const { history, ...saga } = shown;
        table([{ ...saga, lastError: saga.lastError ?? '-' }]);
        print('');
        if (history.length === 0) return print('no history yet');
        table(history.map(({ at, type, data }) => ({ at, type, data: JSON.stringify(data) })));
      }),
    );

  sagas
    .command('retry')
    .description("retry a failed saga's step (or a payment waiting for its next attempt) now")
    .argument('<id>', 'saga id, checkout-<orderId>', sagaIdArgument)
    .option('--reason <reason>', 'why, recorded in the history', reasonArgument, 'retried by an operator')
    .action((sagaId: string, options: { reason: string }) =>
      withOperatorConnections(async (connections) => {
        const orderId = orderIdOfCheckout((await existingSaga(connections.pool, sagaId)).sagaId);
        await retryCheckout(commandHandler(connections), orderId, options.reason, operatorCommand(orderId));
        await nudgeCheckouts(connections.pool, [orderId]);
        print(`${sagaId}: retry recorded; the scheduler drives it next`);
      }),
    );

  sagas
    .command('compensate')
    .description('force compensation (release stock, void or refund payment, cancel the order); refused once the order is confirmed')
    .argument('<id>', 'saga id, checkout-<orderId>', sagaIdArgument)
    .requiredOption('--reason <reason>', 'why, recorded in the history', reasonArgument)
    .action((sagaId: string, options: { reason: string }) =>
      withOperatorConnections(async (connections) => {
        const orderId = orderIdOfCheckout((await existingSaga(connections.pool, sagaId)).sagaId);
        await compensateCheckout(commandHandler(connections), orderId, options.reason, operatorCommand(orderId));
        await nudgeCheckouts(connections.pool, [orderId]);
        print(`${sagaId}: compensation recorded; the scheduler drives it next`);
      }),
    );
}

class UnknownSaga extends Error {
  override readonly name = 'UnknownSaga';
}

async function existingSaga(pool: OperatorConnections['pool'], sagaId: string): Promise<SagaSummary> {
  const saga = await findCheckout(pool, sagaId);
  if (!saga) throw new UnknownSaga(`no saga ${sagaId}`);
  return saga;
}

const commandHandler = ({ store }: OperatorConnections) => createCommandHandler({ store, ids: uuidV7Ids });

/** An operator's command from this terminal: a new one each time it is run. */
const operatorCommand = (orderId: string): CommandMetadata => ({ commandId: uuidV7Ids.next(), correlationId: orderId, actor: actor(), now: systemClock.now() });

/** Who asked, as the saga's history records it. */
const actor = () => `cli:${userInfo().username}`;

function sagaIdArgument(value: string): string {
  if (!/^checkout-[0-9a-f-]{36}$/.test(value)) throw new InvalidArgumentError('a saga id is checkout-<orderId>');
  return value;
}

/** The same bounds as the API's reason: stored in the saga's history. */
function reasonArgument(value: string): string {
  const reason = value.trim();
  if (reason.length < 1 || reason.length > 500 || reason.includes('\u0000')) throw new InvalidArgumentError('1 to 500 characters');
  return reason;
}
