import { grantChannel } from './channels';

const alice = { userId: 'alice', roles: ['customer'] as const };
const ops = { userId: 'ops', roles: ['admin'] as const };
const ORDER_ID = '0190a000-0000-7000-8000-0000000000aa';

describe('grantChannel', () => {
  it('hears an order on the channel the sagas publish on, whatever the case of its id', () => {
    expect(grantChannel(`order:${ORDER_ID.toUpperCase()}`, alice, 'alice')).toEqual({ channel: `order:${ORDER_ID}` });
    expect(grantChannel(`order:${ORDER_ID}`, alice, 'alice')).toEqual({ channel: `order:${ORDER_ID}` });
  });

  it('answers another user’s order and an unknown one as missing', () => {
    expect(grantChannel(`order:${ORDER_ID}`, alice, 'bob')).toMatchObject({ refused: 404 });
    expect(grantChannel(`order:${ORDER_ID}`, alice, undefined)).toMatchObject({ refused: 404 });
  });

  it('hears an import on the channel its progress is pushed on: a job id whatever its case, an X-Channel-Id as given, for admins only', () => {
    expect(grantChannel(`import:${ORDER_ID.toUpperCase()}`, ops)).toEqual({ channel: `import:${ORDER_ID}` });
    expect(grantChannel('import:Nightly-Feed', ops)).toEqual({ channel: 'import:Nightly-Feed' });
    expect(grantChannel(`import:${ORDER_ID}`, alice)).toMatchObject({ refused: 403 });
  });
});
