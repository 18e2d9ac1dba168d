import { testCommandMetadata } from '@tidings/testing';
import { InvalidViews } from '../errors';
import { recordViews, MAX_VIEWS_PER_REQUEST, type ViewToRecord } from './record-views';

const now = new Date('2026-03-01T10:00:00.000Z');
const record = (views: ViewToRecord[]) => recordViews({ type: 'RecordViews', data: { views }, metadata: testCommandMetadata({ now }) });

describe('RecordViews', () => {
  it('appends one VideoViewed per view, grouped by video stream, at the time given or the time received', () => {
    const recorded = record([{ videoId: 'v1' }, { videoId: 'v2', viewerId: 'u1', at: new Date('2026-03-01T09:59:59.999Z') }, { videoId: 'v1', viewerId: 'u2' }]);
    expect([...recorded]).toEqual([
      [
        'video-v1',
        [
          { type: 'VideoViewed', data: { videoId: 'v1', at: '2026-03-01T10:00:00.000Z' } },
          { type: 'VideoViewed', data: { videoId: 'v1', viewerId: 'u2', at: '2026-03-01T10:00:00.000Z' } },
        ],
      ],
      ['video-v2', [{ type: 'VideoViewed', data: { videoId: 'v2', viewerId: 'u1', at: '2026-03-01T09:59:59.999Z' } }]],
    ]);
  });

  it('refuses an empty request and one of more than 1000 views', () => {
    expect(() => record([])).toThrow(InvalidViews);
    expect(() => record(Array.from({ length: MAX_VIEWS_PER_REQUEST + 1 }, () => ({ videoId: 'v' })))).toThrow(/1 to 1000 views, not 1001/);
    expect(record(Array.from({ length: MAX_VIEWS_PER_REQUEST }, () => ({ videoId: 'v' }))).get('video-v')).toHaveLength(1000);
  });

  it('refuses a view more than a minute in the future, naming it', () => {
    expect(() => record([{ videoId: 'v' }, { videoId: 'v', at: new Date('2026-03-01T10:01:00.001Z') }])).toThrow(/view 1 is in the future/);
    expect(record([{ videoId: 'v', at: new Date('2026-03-01T10:01:00.000Z') }]).size).toBe(1);
  });

  it('refuses a view before the Unix epoch, which no bucket could hold (year 0 after UTC)', () => {
    expect(() => record([{ videoId: 'v', at: new Date('0001-01-01T00:00:00+01:00') }])).toThrow(/view 0 is before 1970-01-01T00:00:00.000Z/);
    expect(() => record([{ videoId: 'v', at: new Date('1969-12-31T23:59:59.999Z') }])).toThrow(InvalidViews);
    expect(record([{ videoId: 'v', at: new Date('1970-01-01T00:00:00.000Z') }]).size).toBe(1);
  });
});
