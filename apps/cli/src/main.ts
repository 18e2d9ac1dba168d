#!/usr/bin/env node
import 'reflect-metadata';
import { Command, InvalidArgumentError } from 'commander';
import type { UserRole } from '@tidings/apps-api';
import { loadSettings } from '@tidings/settings';
import { describeResult, type BenchResult } from './bench/bench-result';
import { workloads } from './bench/workloads';
import { print, printed } from './output';

/*
 * A command loads its code when it runs, not before: every `tidings start` begins here, and
 * loading all of Tidings first (1.5 s of CPU) delayed each start and restart by that much.
 */

/** Commander's message, which may run to several lines (a suggestion), as one. */
const oneLine = (text: string): string =>
  text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .join(' ');

/**
 * Once the roles have stopped, the process ends within a second even if a library left a handle
 * open (Nest's shutdown hooks used to end it by raising the signal again).
 */
const exitOnceStopped = () => void setTimeout(() => process.exit(), 1_000).unref();

const program = new Command()
  .name('tidings')
  .description('Run and operate Tidings: start its processes, migrate, inspect and rebuild projections, dead letters, sagas, benchmarks, a demo data set.')
  // A wrong argument gets one line, as every other failure: its reason (and commander's suggestion) and where the usage is, not the whole help.
  .configureOutput({ outputError: (message, write) => write(`tidings: ${oneLine(message.replace(/^error: /, ''))} (add --help for the usage)\n`) });

program
  .command('migrate')
  .description('create the database if missing and apply every pending migration (safe to repeat)')
  .option('--json', 'print the report as JSON')
  .action(async (options: { json?: boolean }) => {
    const { migrate } = await import('@tidings/read-models');
    const report = await migrate(loadSettings().databaseUrl);
    if (options.json) return print(JSON.stringify(report));
    print(`${report.created ? 'created' : 'database'} ${report.database}: ${report.applied.length ? `applied ${report.applied.join(', ')}` : 'already up to date'}`);
  });

program
  .command('bench')
  .description(`measure a workload against its baseline: ${[...Object.keys(workloads), 'all'].join(' | ')}`)
  .argument('<workload>', 'workload name', (name: string) => {
    if (name !== 'all' && !Object.hasOwn(workloads, name)) throw new InvalidArgumentError(`unknown workload; one of ${[...Object.keys(workloads), 'all'].join(', ')}`);
    return name;
  })
  .option('--json', 'one JSON object per line on stdout')
  .action(async (workload: string, options: { json?: boolean }) => {
    // On a database and namespace of its own, emptied and migrated first: nothing of it reaches the deployment's.
    const { benchSettings, resetBenchDeployment } = await import('./bench/bench-deployment');
    const settings = benchSettings(loadSettings());
    await resetBenchDeployment(settings);
    const report = (results: readonly BenchResult[]) => results.forEach((result) => print(options.json ? JSON.stringify(result) : describeResult(result)));
    // What this machine charges for a core's work and a round trip, before the workload loads it: figures from two machines compare only beside these.
    report(await (await import('./bench/machine-speed')).measureMachineSpeed(settings));
    for (const name of workload === 'all' ? Object.keys(workloads) : [workload]) report(await workloads[name](settings));
  });

program
  .command('start')
  .description('migrate, then run the Tidings processes selected by TIDINGS_ROLES')
  .action(async () => {
    const settings = loadSettings();
    const { migrate } = await import('@tidings/read-models');
    await migrate(settings.databaseUrl);
    const [{ PinoLogger }, { stopOnSignals, stopWithin }] = await Promise.all([import('@tidings/platform'), import('./start/graceful-stop')]);
    const logger = new PinoLogger('tidings');
    if (settings.threads === 'per-role' && settings.roles.length > 1) {
      const { runRoleThreads } = await import('./start/role-threads');
      return runRoleThreads(settings, logger);
    }
    // SIGTERM / SIGINT stop the roles gracefully, as with a thread each; a role still running when time is up ends with the process.
    const { runRoles } = await import('./start/run-roles');
    const app = runRoles(settings);
    // Heard from the start: a signal while the roles start stops them once they have.
    stopOnSignals(logger, () => stopWithin(settings, logger, async () => (await app).close(), () => process.exit()).finally(exitOnceStopped));
    await app;
  });

program
  .command('token')
  .description('print a bearer token for the API, signed with JWT_SECRET')
  .requiredOption('--sub <id>', 'user id (1-64 characters of [A-Za-z0-9_-])')
  .option('--roles <roles>', 'comma-separated: customer, admin', (value: string) => {
    const roles = [...new Set(value.split(',').map((role) => role.trim()).filter(Boolean))];
    if (roles.length === 0) throw new InvalidArgumentError('at least one role: customer, admin');
    return roles;
  }, ['customer'])
  .option('--ttl <seconds>', 'lifetime in seconds', (value: string) => {
    // Digits only: Number() would also take 1e3, 0x10 or ' 60 '.
    const seconds = /^\d{1,8}$/.test(value) ? Number(value) : NaN;
    if (!(seconds >= 1 && seconds <= 31_536_000)) throw new InvalidArgumentError('whole seconds, 1 to 31536000');
    return seconds;
  }, 3_600)
  .action(async (options: { sub: string; roles: UserRole[]; ttl: number }) => {
    const { issueToken } = await import('@tidings/apps-api');
    print(await issueToken(loadSettings().jwtSecret, { userId: options.sub, roles: options.roles }, options.ttl));
  });

/** The operator's command groups, each defined with its code: loaded only when asked for, or for help. */
const commandGroups: Record<string, () => Promise<(program: Command) => void>> = {
  projections: async () => (await import('./projections.command')).addProjectionsCommand,
  dlq: async () => (await import('./dlq.command')).addDlqCommand,
  sagas: async () => (await import('./sagas.command')).addSagasCommand,
  demo: async () => (await import('./demo.command')).addDemoCommand,
};

async function main(): Promise<void> {
  const asked = process.argv[2];
  const definedHere = program.commands.some((command) => command.name() === asked);
  // Help, an unknown command or none at all: every group is defined, so that help lists them all.
  const groups = definedHere ? [] : asked !== undefined && Object.hasOwn(commandGroups, asked) ? [asked] : Object.keys(commandGroups);
  for (const addGroup of await Promise.all(groups.map((group) => commandGroups[group]()))) addGroup(program);
  await program.parseAsync();
  // Every command but `start` is done when its action ends: a handle a library left open (nats.js
  // keeps the socket of a connection attempt that timed out) must not keep it waiting. Its output
  // is written first, or the failure to write it is the command's.
  if (asked !== 'start') {
    await printed();
    process.exit(process.exitCode ?? 0);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`tidings: ${reason(error)}\n`);
  process.exit(1);
});

/** One line an operator can act on. */
function reason(error: unknown): string {
  const { code, address, port } = error as { code?: string; address?: string; port?: number };
  if (code === 'ECONNREFUSED') return `nothing answers at ${address}:${port}; is the server running, and are DATABASE_URL / NATS_URL right?`;
  return error instanceof Error ? error.message : String(error);
}
