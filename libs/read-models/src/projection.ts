import type { PoolClient } from 'pg';
import type { RecordedEvent } from '@tidings/core';
import type { Batching } from '@tidings/messaging';
import { pipelined, type Statement } from './transaction';

/** Versioned table names of one projection version, by the view readers query: `{ products: 'products_v2' }`. */
export type ProjectionTables = Readonly<Record<string, string>>;

/**
 * Hands over work to run once the batch's transaction has committed (live notifications: hints
 * of what the read model now shows). Never run when the transaction rolls back, nor by rebuilds
 * and dead-letter replays; lost if the process dies in between.
 */
export type AfterCommit = (work: () => void) => void;

/**
 * A read model (ARCHITECTURE §5, STYLE 6): the categories it reads, the tables it keeps, and
 * how a batch of events changes them. `apply` runs inside the transaction that also moves the
 * checkpoint, so it must only write through `db`. Readers query the views named by `tables`'
 * keys; a rebuild fills new versioned tables and repoints the views.
 */
export interface Projection {
  readonly name: string;
  readonly categories: readonly string[];
  /** `block` (default) stops a partition at a poison event; `park` dead-letters it and goes on. */
  readonly policy?: 'block' | 'park';
  /** How a partition's deliveries are gathered into batches (default: up to 500, whatever has arrived, no wait). */
  readonly batching?: Batching;
  /** For each view, the DDL creating the versioned table behind it. */
  readonly tables: Readonly<Record<string, (table: string) => string>>;
  apply(db: PoolClient, events: readonly RecordedEvent[], tables: ProjectionTables, afterCommit?: AfterCommit): Promise<void>;
  /**
   * For a projection that can tell what a batch writes from its events alone, reading nothing:
   * those statements (`apply` runs them). The projector then sends a batch's whole transaction
   * (lease, checkpoint, writes, commit) in one round trip.
   */
  readonly write?: (events: readonly RecordedEvent[], tables: ProjectionTables) => readonly Statement[];
}

/** A projection written blind (see `write`): `apply` sends every statement of a batch at once. */
export function writingProjection(projection: Omit<Projection, 'apply' | 'write'> & Readonly<{ write: NonNullable<Projection['write']> }>): Projection {
  return {
    ...projection,
    apply: async (db, events, tables) => {
      await pipelined(...projection.write(events, tables).map((statement) => db.query(statement)));
    },
  };
}

export const consumerGroupOf = (projection: Pick<Projection, 'name'>): string => `projection.${projection.name}`;

export const tablesOf = (projection: Projection, version: number): ProjectionTables =>
  Object.fromEntries(Object.keys(projection.tables).map((view) => [view, `${view}_v${version}`]));
