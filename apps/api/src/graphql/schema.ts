/** The GraphQL contract (API.md GraphQL) for what the API serves so far: catalog, stock, projections and their rebuilds. */
export const schema = /* GraphQL */ `
  type Product {
    sku: String!
    name: String!
    priceCents: Int!
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

  type Query {
    "Waits (up to 5 s) until the read model shows minPosition, like ?minPosition= on REST."
    product(sku: String!, minPosition: String): Product
    products(limit: Int = 20, cursor: String, minPosition: String): ProductPage!
    projections: [Projection!]!
  }

  type Mutation {
    registerProduct(sku: String!, name: String!, priceCents: Int!, currency: String = "USD"): RegisteredProduct!
    receiveStock(sku: String!, quantity: Int!, expectedVersion: Int): StockReceipt!
    rebuildProjection(name: String!): RebuildStarted!
  }

  type Subscription {
    "Admins: the rebuilds of a projection, as they progress (the WebSocket channel projection:<name>)."
    projectionStatus(name: String!): ProjectionStatus!
  }
`;
