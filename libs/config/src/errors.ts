import { BusinessRuleViolation } from '@tidings/core';

export class InvalidTaxRate extends BusinessRuleViolation {
  constructor(reason: string) {
    super('invalid-tax-rate', reason);
  }
}
