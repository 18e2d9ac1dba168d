import { bucketStart } from './views';
import { bucketsOf } from './views.queries';
import { InvalidViewRange } from './errors';

const at = (iso: string) => new Date(iso);
const longAgo = at('2000-01-01T00:00:00.000Z');

describe('view buckets', () => {
  it('puts 10:59:59.999 in the 10:59 minute and the 10:00 hour, 11:00:00.000 in 11:00', () => {
    expect(bucketStart(at('2026-03-01T10:59:59.999Z'), 'minute')).toEqual(at('2026-03-01T10:59:00.000Z'));
    expect(bucketStart(at('2026-03-01T10:59:59.999Z'), 'hour')).toEqual(at('2026-03-01T10:00:00.000Z'));
    expect(bucketStart(at('2026-03-01T11:00:00.000Z'), 'hour')).toEqual(at('2026-03-01T11:00:00.000Z'));
    expect(bucketStart(at('2026-03-01T23:59:59.999Z'), 'day')).toEqual(at('2026-03-01T00:00:00.000Z'));
  });

  it('rounds from down and to up to whole UTC buckets', () => {
    expect(bucketsOf({ from: at('2026-03-01T10:30:00Z'), to: at('2026-03-01T12:00:01Z'), granularity: 'hour' }, longAgo)).toEqual({
      start: at('2026-03-01T10:00:00Z'),
      end: at('2026-03-01T13:00:00Z'),
      count: 3,
    });
  });

  it('answers at most 10,000 buckets', () => {
    const from = at('2026-03-01T00:00:00Z');
    expect(bucketsOf({ from, to: new Date(from.getTime() + 10_000 * 60_000), granularity: 'minute' }, longAgo).count).toBe(10_000);
    expect(() => bucketsOf({ from, to: new Date(from.getTime() + 10_001 * 60_000), granularity: 'minute' }, longAgo)).toThrow(/10001 minute buckets; at most 10000/);
  });

  it('refuses an empty or reversed range', () => {
    const from = at('2026-03-01T00:00:00Z');
    expect(() => bucketsOf({ from, to: from, granularity: 'day' }, longAgo)).toThrow(InvalidViewRange);
    expect(() => bucketsOf({ from, to: at('2026-02-01T00:00:00Z'), granularity: 'day' }, longAgo)).toThrow(/must be before/);
  });

  it('refuses minute buckets older than the minutes kept, but answers hours there', () => {
    const kept = at('2026-03-01T00:00:00Z');
    const range = { from: at('2026-02-28T23:00:00Z'), to: at('2026-03-01T01:00:00Z') };
    expect(() => bucketsOf({ ...range, granularity: 'minute' }, kept)).toThrow(/ask for hour or day buckets/);
    expect(bucketsOf({ ...range, granularity: 'hour' }, kept).count).toBe(2);
  });

  it('refuses a range whose buckets start before 1970 or end after the last day of 9999', () => {
    expect(() => bucketsOf({ from: at('0000-01-01T00:00:00Z'), to: at('0000-01-02T00:00:00Z'), granularity: 'hour' }, longAgo)).toThrow(/views are counted from 1970-01-01/);
    expect(() => bucketsOf({ from: at('9999-12-31T00:00:00Z'), to: at('9999-12-31T23:59:59Z'), granularity: 'day' }, longAgo)).toThrow(InvalidViewRange);
    expect(bucketsOf({ from: at('1970-01-01T00:00:00Z'), to: at('1970-01-02T00:00:00Z'), granularity: 'day' }, longAgo).count).toBe(1);
    expect(bucketsOf({ from: at('9999-12-30T00:00:00Z'), to: at('9999-12-31T00:00:00Z'), granularity: 'day' }, longAgo).count).toBe(1);
  });
});
