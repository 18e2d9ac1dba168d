import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Which claim took a saga last (`claim`, an id the scheduler makes per claim): a scheduler
 * whose claim was carried out but whose answer a lost connection swallowed finds its sagas by
 * it, rather than leave them undriven until the claim's lease ends.
 */
export class CheckoutSagaClaims1764400000000 implements MigrationInterface {
  name = 'CheckoutSagaClaims1764400000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE checkout_sagas ADD COLUMN claim uuid');
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE checkout_sagas DROP COLUMN claim');
  }
}
