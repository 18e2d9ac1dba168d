import { deciderSpec, testCommandMetadata } from '@tidings/testing';
import { InvalidTaxRate } from '../errors';
import type { TaxRateSet } from '../tax-rates';
import { setTaxRate, type SetTaxRate } from './set-tax-rate';

const setRate = (country: string, rate: number): SetTaxRate => ({ type: 'SetTaxRate', data: { country, rate }, metadata: testCommandMetadata() });
const rateSet = (country: string, rate: number): TaxRateSet => ({ type: 'TaxRateSet', data: { country, rate } });

describe('SetTaxRate', () => {
  const spec = deciderSpec(setTaxRate);

  it("records a country's first rate", () => {
    spec.given([]).when(setRate('DE', 0.19)).then([rateSet('DE', 0.19)]);
  });

  it('records a change, and a rate back to one it had before', () => {
    spec.given([rateSet('DE', 0.19)]).when(setRate('DE', 0.16)).then([rateSet('DE', 0.16)]);
    spec.given([rateSet('DE', 0.19), rateSet('DE', 0.16)]).when(setRate('DE', 0.19)).then([rateSet('DE', 0.19)]);
  });

  it('records nothing when the country has that rate already, whatever the other countries have', () => {
    spec.given([rateSet('DE', 0.19), rateSet('FR', 0.2)]).when(setRate('DE', 0.19)).then([]);
  });

  it('keeps each country apart: a zero rate is a rate', () => {
    spec.given([rateSet('DE', 0.19)]).when(setRate('FR', 0)).then([rateSet('FR', 0)]);
  });

  it('refuses a rate outside 0..1 and a country that is not ISO 3166-1 alpha-2', () => {
    spec.given([]).when(setRate('DE', 1.01)).thenThrows(InvalidTaxRate, /between 0 and 1, not 1.01/);
    spec.given([]).when(setRate('DE', -0.1)).thenThrows(InvalidTaxRate, /between 0 and 1/);
    spec.given([]).when(setRate('DE', Number.NaN)).thenThrows(InvalidTaxRate, /between 0 and 1/);
    spec.given([]).when(setRate('Germany', 0.19)).thenThrows(InvalidTaxRate, /ISO 3166-1 alpha-2/);
  });
});
