import { v7 as uuidV7 } from 'uuid';

export interface Clock {
  now(): Date;
}

export interface IdGenerator {
  /** Time-ordered UUIDv7. */
  next(): string;
}

export const systemClock: Clock = { now: () => new Date() };

export const uuidV7Ids: IdGenerator = { next: () => uuidV7() };
