import { deciderSpec, testCommandMetadata } from '@tidings/testing';
import { InvalidOrder, OrderAlreadyPlaced } from '../errors';
import { ORDER_ID, orderPlaced } from '../orders.fixture';
import type { OrderItem } from '../orders';
import { placeOrder, type PlaceOrder } from './place-order';

const items: OrderItem[] = [
  { sku: 'SKU-1', quantity: 2, unitPriceCents: 1299 },
  { sku: 'SKU-2', quantity: 1, unitPriceCents: 500 },
];

const place = (overrides: Partial<PlaceOrder['data']> = {}): PlaceOrder => ({
  type: 'PlaceOrder',
  data: { orderId: ORDER_ID, customerId: 'user-1', items, currency: 'USD', taxRate: 0.2, shippingCountry: 'DE', paymentToken: 'tok_visa', ...overrides },
  metadata: testCommandMetadata(),
});

const line = (index: number, quantity = 1): OrderItem => ({ sku: `SKU-${index}`, quantity, unitPriceCents: 100 });

describe('PlaceOrder', () => {
  const spec = deciderSpec(placeOrder);

  it('places an order with subtotal, tax rounded to the cent, and total', () => {
    spec.given([]).when(place()).then([orderPlaced()]);
  });

  it('charges no tax at a zero rate and all of it at a rate of one', () => {
    spec.given([]).when(place({ taxRate: 0 })).then([orderPlaced({ taxRate: 0, taxCents: 0, totalCents: 3098 })]);
    spec.given([]).when(place({ taxRate: 1 })).then([orderPlaced({ taxRate: 1, taxCents: 3098, totalCents: 6196 })]);
  });

  it('accepts 50 items of up to 1000 each', () => {
    const fifty = Array.from({ length: 50 }, (_, i) => line(i, 1000));
    spec.given([]).when(place({ items: fifty, taxRate: 0 })).then([orderPlaced({ items: fifty, taxRate: 0, subtotalCents: 5_000_000, taxCents: 0, totalCents: 5_000_000 })]);
  });

  it('refuses to place the same order twice', () => {
    spec.given([orderPlaced()]).when(place()).thenThrows(OrderAlreadyPlaced);
  });

  it('refuses an order without items or with more than 50', () => {
    spec.given([]).when(place({ items: [] })).thenThrows(InvalidOrder, /1 to 50 items/);
    spec.given([]).when(place({ items: Array.from({ length: 51 }, (_, i) => line(i)) })).thenThrows(InvalidOrder, /not 51/);
  });

  it.each([0, -1, 1001, 1.5, Number.NaN])('refuses a quantity of %p', (quantity) => {
    spec.given([]).when(place({ items: [line(1, quantity)] })).thenThrows(InvalidOrder, /quantity of SKU-1/);
  });

  it('refuses a price that is not whole cents', () => {
    spec.given([]).when(place({ items: [{ sku: 'SKU-1', quantity: 1, unitPriceCents: 9.99 }] })).thenThrows(InvalidOrder, /price of SKU-1/);
  });

  it('refuses an order whose total is past what whole cents can be counted to exactly', () => {
    const dear = (unitPriceCents: number, quantity = 1): OrderItem => ({ sku: `SKU-${unitPriceCents}`, quantity, unitPriceCents });
    spec.given([]).when(place({ items: [dear(Number.MAX_SAFE_INTEGER, 1000)] })).thenThrows(InvalidOrder, /more than an order may carry/);
    spec.given([]).when(place({ items: [dear(Number.MAX_SAFE_INTEGER - 1), dear(2)], taxRate: 0 })).thenThrows(InvalidOrder, /more than an order may carry/);
    spec.given([]).when(place({ items: [dear(2 ** 52)], taxRate: 1 })).thenThrows(InvalidOrder, /more than an order may carry/);
    const largest = [dear(Number.MAX_SAFE_INTEGER - 2), dear(2)];
    spec.given([]).when(place({ items: largest, taxRate: 0 })).then([orderPlaced({ items: largest, taxRate: 0, subtotalCents: Number.MAX_SAFE_INTEGER, taxCents: 0, totalCents: Number.MAX_SAFE_INTEGER })]);
  });

  it('refuses the same sku on two lines', () => {
    spec.given([]).when(place({ items: [line(1), line(2), line(1, 3)] })).thenThrows(InvalidOrder, /SKU-1 is ordered on more than one line/);
  });

  it.each([-0.1, 1.01, Number.NaN])('refuses a tax rate of %p', (taxRate) => {
    spec.given([]).when(place({ taxRate })).thenThrows(InvalidOrder, /tax rate/);
  });

  it('says invalid-order, which the API answers with 422', () => {
    expect(() => placeOrder.decide(place({ items: [] }), placeOrder.initialState())).toThrow(expect.objectContaining({ code: 'invalid-order' }));
  });
});
