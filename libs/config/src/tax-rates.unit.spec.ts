import type { RecordedEvent } from '@tidings/core';
import { recordedTaxRates, TAX_RATES_STREAM, type TaxRateEvent } from './tax-rates';

const recorded = (country: string, rate: number, position: bigint): RecordedEvent<TaxRateEvent> => ({
  eventId: `event-${position}`,
  streamId: TAX_RATES_STREAM,
  streamVersion: Number(position) - 1,
  type: 'TaxRateSet',
  data: { country, rate },
  metadata: { correlationId: 'c', causationId: 'c', actor: 'ops', schemaVersion: 1 },
  position,
  recordedAt: new Date(0),
});

describe('recordedTaxRates', () => {
  it("keeps each country's latest rate with the position that set it", () => {
    const rates = recordedTaxRates([recorded('DE', 0.19, 3n), recorded('FR', 0.2, 7n), recorded('DE', 0.16, 9n)]);
    expect(rates).toEqual(
      new Map([
        ['DE', { rate: 0.16, position: 9n }],
        ['FR', { rate: 0.2, position: 7n }],
      ]),
    );
  });

  it('is empty for a stream with no events', () => {
    expect(recordedTaxRates([])).toEqual(new Map());
  });
});
