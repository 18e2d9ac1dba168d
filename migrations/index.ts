import { EventStore1763700000000 } from './1763700000000-event-store';
import { Checkpoints1763700000001 } from './1763700000001-checkpoints';
import { Consumers1763800000000 } from './1763800000000-consumers';
import { IdempotencyKeys1763900000000 } from './1763900000000-idempotency-keys';
import { CheckpointReadModelVersion1763900000001 } from './1763900000001-checkpoint-read-model-version';
import { PaymentSimulator1764000000000 } from './1764000000000-payment-simulator';
import { CheckoutSagas1764000000001 } from './1764000000001-checkout-sagas';
import { ImportRows1764100000000 } from './1764100000000-import-rows';
import { PaymentSimulatorCall1764200000000 } from './1764200000000-payment-simulator-call';
import { GroupPartitions1764300000000 } from './1764300000000-group-partitions';
import { CheckoutSagaClaims1764400000000 } from './1764400000000-checkout-saga-claims';
import { AppendsNamed1764500000000 } from './1764500000000-appends-named';
import { AppendPlansKept1764600000000 } from './1764600000000-append-plans-kept';
import { IdempotencyReceivedAt1764700000000 } from './1764700000000-idempotency-received-at';
import { PostVersions1764800000000 } from './1764800000000-post-versions';
import { ImportRowsStagedAt1764900000000 } from './1764900000000-import-rows-staged-at';
import { ExpectedBatches1765000000000 } from './1765000000000-expected-batches';

/** Every migration, oldest first. */
export const migrations = [EventStore1763700000000, Checkpoints1763700000001, Consumers1763800000000, IdempotencyKeys1763900000000, CheckpointReadModelVersion1763900000001, PaymentSimulator1764000000000, CheckoutSagas1764000000001, ImportRows1764100000000, PaymentSimulatorCall1764200000000, GroupPartitions1764300000000, CheckoutSagaClaims1764400000000, AppendsNamed1764500000000, AppendPlansKept1764600000000, IdempotencyReceivedAt1764700000000, PostVersions1764800000000, ImportRowsStagedAt1764900000000, ExpectedBatches1765000000000];
