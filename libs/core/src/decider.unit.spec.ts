import { deciderSpec, testCommandMetadata } from '@tidings/testing';
import { counter, LIMIT, type Increment } from './counter.fixture';
import { BusinessRuleViolation } from './errors';

const increment = (by: number): Increment => ({ type: 'Increment', data: { by }, metadata: testCommandMetadata() });
const spec = deciderSpec(counter);

describe('a decider under given/when/then', () => {
  it('decides from the folded history, with time from the command', () => {
    spec
      .given([{ type: 'Incremented', data: { by: 2, at: 'earlier' } }])
      .when(increment(3))
      .then([{ type: 'Incremented', data: { by: 3, at: '2026-01-01T00:00:00.000Z' } }]);
  });

  it('refuses a command that breaks a rule', () => {
    spec
      .given([{ type: 'Incremented', data: { by: LIMIT, at: 'earlier' } }])
      .when(increment(1))
      .thenThrows(BusinessRuleViolation, /exceed/);
  });

  it('may decide nothing', () => {
    spec.given([]).when(increment(0)).then([]);
  });
});
