import { FOLLOW_REACH_DAYS } from '@tidings/social';

/** The GraphQL contract (API.md GraphQL) for what the API serves so far: catalog, stock, orders, checkout sagas, views, social and the newsfeed, imports, projections and their rebuilds. */
export const schema = /* GraphQL */ `
  "A catalog product. Prices are Float, as every amount of cents here: REST takes any whole number of cents up to 2^53 - 1, past Int's 2^31."
  type Product {
    sku: String!
    name: String!
    priceCents: Float!
    currency: String!
    onHand: Int!
    reserved: Int!
    available: Int!
    version: Int!
  }

  type ProductPage {
    items: [Product!]!
    nextCursor: String
  }

  type OrderItem {
    sku: String!
    quantity: Int!
    unitPriceCents: Float!
  }

  type OrderPayment {
    "none, authorized, captured, declined, voided or refunded"
    status: String!
  }

  "An order as GET /orders/:id answers it. Sums are Float: they may pass Int's 2^31."
  type Order {
    orderId: String!
    customerId: String!
    "placed, confirmed or cancelled"
    status: String!
    items: [OrderItem!]!
    subtotalCents: Float!
    taxCents: Float!
    totalCents: Float!
    currency: String!
    cancellationReason: String
    payment: OrderPayment!
    version: Int!
    updatedAt: String!
  }

  type OrderPage {
    items: [Order!]!
    nextCursor: String
  }

  input OrderItemInput {
    sku: String!
    quantity: Int!
  }

  type PlacedOrder {
    orderId: String!
    status: String!
    position: String
  }

  "An order's checkout saga settled: confirmed (completed), cancelled (compensated) or failed."
  type OrderStatusChange {
    orderId: String!
    status: String!
  }

  type SagaSummary {
    sagaId: String!
    orderId: String!
    status: String!
    step: String!
    attempts: Int!
    lastError: String
    startedAt: String!
    updatedAt: String!
  }

  type SagaPage {
    items: [SagaSummary!]!
    nextCursor: String
  }

  type SagaHistoryEntry {
    at: String!
    type: String!
    "The event's data, as JSON."
    data: String!
  }

  type Saga {
    sagaId: String!
    orderId: String!
    status: String!
    step: String!
    attempts: Int!
    lastError: String
    startedAt: String!
    updatedAt: String!
    history: [SagaHistoryEntry!]!
    "The version of the saga's stream (REST's ETag): what retrySaga and compensateSaga may expect."
    version: Int!
  }

  "What an operator's retry or compensation started: retrying or compensating."
  type SagaAction {
    sagaId: String!
    status: String!
    "Where the action's record is: pass it as minPosition to read your write."
    position: String
  }

  type Projection {
    name: String!
    version: Int
    status: String!
    position: String!
    headPosition: String!
    lag: String!
    eventsPerSecond: Int!
    lastError: String
  }

  type RegisteredProduct {
    sku: String!
    position: String
  }

  type StockReceipt {
    sku: String!
    onHand: Int!
    available: Int!
    position: String
  }

  type RebuildStarted {
    rebuildId: String!
  }

  "A rebuild of a projection as it goes: progress (position of head, events so far), then completed or failed."
  type ProjectionStatus {
    projection: String!
    rebuildId: String!
    type: String!
    position: String
    head: String
    events: Int
    version: Int
    seconds: Float
    reason: String
  }

  "A video's views in UTC-aligned buckets (empty ones included) and their total."
  type VideoViews {
    videoId: String!
    from: String!
    to: String!
    granularity: String!
    total: Float!
    buckets: [ViewBucket!]!
  }

  type ViewBucket {
    start: String!
    count: Float!
  }

  type TrendingVideo {
    videoId: String!
    views: Float!
  }

  type ViewsRecorded {
    accepted: Int!
    position: String
  }

  "A post as GET /posts/:id answers it; its counts are read fresh."
  type Post {
    postId: String!
    authorId: String!
    text: String!
    likes: Int!
    comments: Int!
    shares: Int!
    createdAt: String!
    "The version of the post's stream (REST's ETag): what likePost, unlikePost, commentOnPost and sharePost may expect."
    version: Int!
  }

  "A post in the caller's feed; sharedBy when a followed user shared it, and createdAt is then when it was shared."
  type FeedItem {
    postId: String!
    authorId: String!
    text: String!
    likes: Int!
    comments: Int!
    shares: Int!
    createdAt: String!
    sharedBy: String
  }

  type FeedPage {
    items: [FeedItem!]!
    nextCursor: String
  }

  "A new item of the caller's feed as it is fanned out (the WebSocket channel feed); counts are read with post or feed."
  type FeedUpdate {
    postId: String!
    authorId: String!
    text: String!
    createdAt: String!
    sharedBy: String
  }

  "What a command answers when it has nothing else to say: its position, null when it changed nothing."
  type Accepted {
    position: String
  }

  type PublishedPost {
    postId: String!
    position: String
  }

  type PostedComment {
    commentId: String!
    position: String
  }

  type ImportRowError {
    line: Int!
    message: String!
  }

  "A CSV import as GET /imports/:jobId answers it: status running, completed or failed; the first 100 errors by line."
  type ImportJob {
    jobId: String!
    status: String!
    totalRows: Int!
    chunksTotal: Int!
    chunksDone: Int!
    imported: Int!
    failed: Int!
    errors: [ImportRowError!]!
  }

  "An import as it goes (the WebSocket channel import:<jobId>): type progress after each chunk, then completed or failed."
  type ImportProgress {
    jobId: String!
    type: String!
    status: String!
    totalRows: Int!
    chunksTotal: Int!
    chunksDone: Int!
    imported: Int!
    failed: Int!
  }

  type Query {
    "Waits (up to 5 s) until the read model shows minPosition, like ?minPosition= on REST."
    product(sku: String!, minPosition: String): Product
    products(limit: Int = 20, cursor: String, minPosition: String): ProductPage!
    "The caller's order (any, for admins); null if there is none."
    order(orderId: String!, minPosition: String): Order
    "The caller's orders; admins see all, or one customer's."
    orders(status: String, customerId: String, limit: Int = 20, cursor: String, minPosition: String): OrderPage!
    "Admins: checkout sagas, by status (running, compensating, completed, compensated, failed)."
    sagas(status: String, limit: Int = 20, cursor: String, minPosition: String): SagaPage!
    "Admins: a checkout saga (checkout-<orderId>) with its history, read from the event store (minPosition is met at once); null if there is none."
    saga(sagaId: String!, minPosition: String): Saga
    projections: [Projection!]!
    "Views of a video from (default: a day before to) to (default: now), by minute, hour (default) or day; at most 10,000 buckets."
    videoViews(videoId: String!, from: String, to: String, granularity: String, minPosition: String): VideoViews!
    "The most viewed videos in the window (1h, 24h or 7d)."
    trendingVideos(window: String = "24h", limit: Int = 10, minPosition: String): [TrendingVideo!]!
    "The caller's own feed, newest first: posts and shares of the users they follow, from ${FOLLOW_REACH_DAYS} days before each follow on."
    feed(limit: Int = 20, cursor: String, minPosition: String): FeedPage!
    "A post; null if there is none."
    post(postId: String!, minPosition: String): Post
    "Admins: a CSV import (POST /imports/products); null if there is none."
    importJob(jobId: String!, minPosition: String): ImportJob
  }

  type Mutation {
    registerProduct(sku: String!, name: String!, priceCents: Float!, currency: String = "USD"): RegisteredProduct!
    receiveStock(sku: String!, quantity: Int!, expectedVersion: Int): StockReceipt!
    "Starts the checkout saga; the outcome comes later (order, orderStatusChanged)."
    placeOrder(items: [OrderItemInput!]!, paymentToken: String!, shippingCountry: String!): PlacedOrder!
    "While the order is placed: the saga compensates."
    cancelOrder(orderId: String!, expectedVersion: Int): PlacedOrder!
    "Admins: retries a saga's failed step now (recorded with the caller and reason)."
    retrySaga(sagaId: String!, reason: String, expectedVersion: Int): SagaAction!
    "Admins: compensates a saga whose order is not confirmed (recorded with the caller and reason)."
    compensateSaga(sagaId: String!, reason: String!, expectedVersion: Int): SagaAction!
    rebuildProjection(name: String!): RebuildStarted!
    "Anyone: one view of a video (the signed-in caller's, or viewerId's for that viewer or an admin), now or at the time given."
    recordView(videoId: String!, viewerId: String, at: String): ViewsRecorded!
    "The caller follows the user (not themselves)."
    follow(userId: String!): Accepted!
    unfollow(userId: String!): Accepted!
    "A post by the caller, 1-5000 characters."
    publishPost(text: String!): PublishedPost!
    "A like counts once per user."
    likePost(postId: String!, expectedVersion: Int): Accepted!
    unlikePost(postId: String!, expectedVersion: Int): Accepted!
    commentOnPost(postId: String!, text: String!, expectedVersion: Int): PostedComment!
    "The share reaches the caller's followers' feeds."
    sharePost(postId: String!, expectedVersion: Int): PublishedPost!
  }

  type Subscription {
    "Admins: the rebuilds of a projection, as they progress (the WebSocket channel projection:<name>)."
    projectionStatus(name: String!): ProjectionStatus!
    "The order's owner and admins: its checkout's outcome (the WebSocket channel order:<orderId>)."
    orderStatusChanged(orderId: String!): OrderStatusChange!
    "The caller's new feed items, only ever their own (the WebSocket channel feed)."
    feedUpdated: FeedUpdate!
    "Admins: a CSV import's progress, chunk by chunk, then its end (the WebSocket channel import:<jobId>); jobId may also be the X-Channel-Id its upload named, to listen before the job exists."
    importProgress(jobId: String!): ImportProgress!
  }
`;
