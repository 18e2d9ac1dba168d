import { BusinessRuleViolation } from '@tidings/core';

export class InvalidViews extends BusinessRuleViolation {
  constructor(reason: string) {
    super('invalid-views', reason);
  }
}

export class InvalidViewRange extends BusinessRuleViolation {
  constructor(reason: string) {
    super('invalid-view-range', reason);
  }
}
