import type { Command, Decider } from '@tidings/core';
import { InvalidTaxRate } from '../errors';
import { COUNTRY_CODE, evolveTaxRates, initialTaxRates, type TaxRateEvent, type TaxRates } from '../tax-rates';

/** Decided on `config-tax-rates`. */
export type SetTaxRate = Command<'SetTaxRate', { country: string; rate: number }>;

export const setTaxRate: Decider<TaxRates, SetTaxRate, TaxRateEvent> = {
  initialState: initialTaxRates,
  evolve: evolveTaxRates,
  decide: ({ data: { country, rate } }, state) => {
    if (!COUNTRY_CODE.test(country)) throw new InvalidTaxRate(`a country is an ISO 3166-1 alpha-2 code such as DE, not "${country}"`);
    if (!(Number.isFinite(rate) && rate >= 0 && rate <= 1)) throw new InvalidTaxRate(`a tax rate is between 0 and 1, not ${rate}`);
    // The rate it has already: nothing new to record.
    if (state.rates.get(country) === rate) return [];
    return [{ type: 'TaxRateSet', data: { country, rate } }];
  },
};
