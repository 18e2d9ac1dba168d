import { AccessDeniedError, DeadlineExceededError, TimeoutError, UnavailableError, WrongExpectedVersionError } from '@eventstore/db-client';
import { isOutcomeUnknown } from './eventstoredb-event-store';

describe('isOutcomeUnknown', () => {
  it('sends again an append the server may have stored: no answer in time, or the connection lost', () => {
    for (const error of [new DeadlineExceededError(), new TimeoutError(), new UnavailableError()]) expect(isOutcomeUnknown(error)).toBe(true);
  });

  it('leaves refusals and other failures to the caller', () => {
    const refused = new WrongExpectedVersionError(undefined, { streamName: 'product-a', expected: 3n, current: 4n });
    for (const error of [refused, new AccessDeniedError(), new Error('a bug'), undefined]) expect(isOutcomeUnknown(error)).toBe(false);
  });
});
