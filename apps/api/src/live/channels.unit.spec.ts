import { grantChannel } from './channels';

const alice = { userId: 'alice', roles: ['customer'] as const };
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
});
