import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, type Command } from 'commander';
import { issueToken } from '@tidings/apps-api';
import { apiOrigin, loadSettings } from '@tidings/settings';
import { apiClient } from './demo/api-client';
import { demoDataSet, type DemoDataSet } from './demo/demo-data';
import { demoSummary, describeDemo } from './demo/demo-report';
import { seedDemo, type TokenOf } from './demo/seed-demo';
import { settleDemo } from './demo/settle-demo';
import { print, printJson } from './output';

/** The tokens printed at the end are for trying the API by hand for a while. */
const TOKEN_TTL_SECONDS = 86_400;
const MAX_SCALE = 100;

/** `tidings demo`: a realistic data set through a running API's public REST interface, then what to look at. */
export function addDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('seed a running API with a realistic data set (products, stock, users, follows, posts, views, orders through checkout) and print what to look at')
    .option('--api <url>', 'base URL of the API (default: where TIDINGS_HOST and PORT have it listen, http://127.0.0.1:3000 unset)', apiUrlArgument)
    .option('--scale <n>', `size of the data set; 1 is 50 products, 30 users, 100 posts, 3,000 views and 20 orders (0.05 to ${MAX_SCALE})`, scaleArgument, 1)
    .option('--json', 'print the summary as one JSON object')
    .action(async (options: { api?: string; scale: number; json?: boolean }) => {
      const started = performance.now();
      // Read with the other settings: a PORT that is no port is a settings error, not an API that does not answer.
      const settings = loadSettings();
      const api = apiClient(options.api ?? apiOrigin(settings.host, settings.port));
      // Before anything is signed or sent: an API that is not there, or not ready, is the likeliest mistake.
      await api.call('GET', '/health/ready');
      const data = demoDataSet({ run: randomBytes(3).toString('hex'), scale: options.scale, now: new Date() });
      const tokenOf = await signTokens(settings.jwtSecret, data);
      const orders = await settleDemo(api, data, await seedDemo(api, data, tokenOf), { admin: tokenOf(data.adminId), reader: tokenOf(data.reader) });
      const summary = demoSummary(data, orders, {
        api: api.baseUrl,
        seconds: (performance.now() - started) / 1_000,
        tokens: { admin: tokenOf(data.adminId), user: tokenOf(data.reader), ttlSeconds: TOKEN_TTL_SECONDS },
      });
      if (options.json) return printJson(summary);
      describeDemo(summary).forEach((line) => print(line));
    });
}

/** A token for the admin and for each user, signed with JWT_SECRET as `tidings token` signs them. */
async function signTokens(secret: string, data: DemoDataSet): Promise<TokenOf> {
  const tokens = new Map<string, string>([[data.adminId, await issueToken(secret, { userId: data.adminId, roles: ['admin'] }, TOKEN_TTL_SECONDS)]]);
  for (const userId of data.users) tokens.set(userId, await issueToken(secret, { userId, roles: ['customer'] }, TOKEN_TTL_SECONDS));
  return (userId) => tokens.get(userId) as string;
}

function apiUrlArgument(value: string): string {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') throw new InvalidArgumentError('an http(s) URL such as http://127.0.0.1:3000');
  return value;
}

function scaleArgument(value: string): number {
  // A decimal number as written: Number() would also take 1e1, 0x10 or ' 2 '.
  const scale = /^\d{1,6}(\.\d{1,6})?$/.test(value) ? Number(value) : NaN;
  if (!(scale >= 0.05 && scale <= MAX_SCALE)) throw new InvalidArgumentError(`a number from 0.05 to ${MAX_SCALE}`);
  return scale;
}
