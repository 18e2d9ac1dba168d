import type { Message, RecordedEvent } from '@tidings/core';

/**
 * Every country's tax rate is recorded on one stream, `config-tax-rates`: the record that
 * outlives the config bucket, which only distributes the rates to every API instance.
 */
export const TAX_RATES_STREAM = 'config-tax-rates';

/** The JetStream KV bucket every API instance copies the config from, a namespace's own (`<namespace>_config`). */
export const configBucketOf = (namespace: string): string => `${namespace}_config`;

/** ISO 3166-1 alpha-2. */
export const COUNTRY_CODE = /^[A-Z]{2}$/;

export type TaxRateSet = Message<'TaxRateSet', { country: string; rate: number }>;

export type TaxRateEvent = TaxRateSet;

/** Each country's rate now; a country without one pays none. */
export type TaxRates = Readonly<{ rates: ReadonlyMap<string, number> }>;

export const initialTaxRates = (): TaxRates => ({ rates: new Map() });

export function evolveTaxRates(state: TaxRates, event: TaxRateEvent): TaxRates {
  switch (event.type) {
    case 'TaxRateSet':
      return { rates: new Map(state.rates).set(event.data.country, event.data.rate) };
    default: {
      const unhandled: never = event.type;
      return unhandled;
    }
  }
}

/** A country's rate as recorded, with the position of the event that set it last. */
export type RecordedTaxRate = Readonly<{ rate: number; position: bigint }>;

/** The latest rate of each country in the stream's events, with where it was recorded. */
export function recordedTaxRates(events: readonly RecordedEvent<TaxRateEvent>[]): Map<string, RecordedTaxRate> {
  const latest = new Map<string, RecordedTaxRate>();
  for (const { data, position } of events) latest.set(data.country, { rate: data.rate, position });
  return latest;
}
