#!/usr/bin/env node
import 'reflect-metadata';
import { Command, InvalidArgumentError } from 'commander';
import { issueToken, type UserRole } from '@tidings/apps-api';
import { PinoLogger } from '@tidings/platform';
import { migrate } from '@tidings/read-models';
import { loadSettings } from '@tidings/settings';
import { describeResult } from './bench/bench-result';
import { workloads } from './bench/workloads';
import { addDemoCommand } from './demo.command';
import { addDlqCommand } from './dlq.command';
import { print } from './output';
import { addProjectionsCommand } from './projections.command';
import { addSagasCommand } from './sagas.command';
import { runRoleThreads } from './start/role-threads';
import { runRoles } from './start/run-roles';

const program = new Command()
  .name('tidings')
  .description('Run and operate Tidings: start its processes, migrate, inspect and rebuild projections, dead letters, sagas, benchmarks, a demo data set.')
  .showHelpAfterError();

program
  .command('migrate')
  .description('create the database if missing and apply every pending migration (safe to repeat)')
  .option('--json', 'print the report as JSON')
  .action(async (options: { json?: boolean }) => {
    const report = await migrate(loadSettings().databaseUrl);
    if (options.json) return print(JSON.stringify(report));
    print(`${report.created ? 'created' : 'database'} ${report.database}: ${report.applied.length ? `applied ${report.applied.join(', ')}` : 'already up to date'}`);
  });

program
  .command('bench')
  .description(`measure a workload against its baseline: ${[...Object.keys(workloads), 'all'].join(' | ')}`)
  .argument('<workload>', 'workload name', (name: string) => {
    if (name !== 'all' && !(name in workloads)) throw new InvalidArgumentError(`unknown workload; one of ${[...Object.keys(workloads), 'all'].join(', ')}`);
    return name;
  })
  .option('--json', 'one JSON object per line on stdout')
  .action(async (workload: string, options: { json?: boolean }) => {
    const settings = loadSettings();
    for (const name of workload === 'all' ? Object.keys(workloads) : [workload]) {
      for (const result of await workloads[name](settings)) print(options.json ? JSON.stringify(result) : describeResult(result));
    }
  });

program
  .command('start')
  .description('migrate, then run the Tidings processes selected by TIDINGS_ROLES')
  .action(async () => {
    const settings = loadSettings();
    await migrate(settings.databaseUrl);
    if (settings.threads === 'per-role' && settings.roles.length > 1) return runRoleThreads(settings, new PinoLogger('tidings'));
    // SIGTERM / SIGINT stop the roles gracefully: batches finish, leases and the relay lock are given back.
    (await runRoles(settings)).enableShutdownHooks();
  });

program
  .command('token')
  .description('print a bearer token for the API, signed with JWT_SECRET')
  .requiredOption('--sub <id>', 'user id (1-64 characters of [A-Za-z0-9_-])')
  .option('--roles <roles>', 'comma-separated: customer, admin', 'customer')
  .option('--ttl <seconds>', 'lifetime in seconds', (value: string) => {
    const seconds = Number(value);
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > 31_536_000) throw new InvalidArgumentError('whole seconds, 1 to 31536000');
    return seconds;
  }, 3_600)
  .action(async (options: { sub: string; roles: string; ttl: number }) => {
    const roles = options.roles.split(',').map((role) => role.trim()).filter(Boolean) as UserRole[];
    print(await issueToken(loadSettings().jwtSecret, { userId: options.sub, roles }, options.ttl));
  });

addProjectionsCommand(program);
addDlqCommand(program);
addSagasCommand(program);
addDemoCommand(program);

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`tidings: ${reason(error)}\n`);
  process.exit(1);
});

/** One line an operator can act on. */
function reason(error: unknown): string {
  const { code, address, port } = error as { code?: string; address?: string; port?: number };
  if (code === 'ECONNREFUSED') return `nothing answers at ${address}:${port}; is the server running, and are DATABASE_URL / NATS_URL right?`;
  return error instanceof Error ? error.message : String(error);
}
