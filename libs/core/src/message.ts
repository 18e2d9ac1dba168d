/** A plain message: commands are imperative (`PlaceOrder`), events past tense (`OrderPlaced`). */
export type Message<Type extends string = string, Data = unknown> = Readonly<{
  type: Type;
  data: Data;
}>;

/** Who and what caused a command; ids and time come from here, never from domain code. */
export type CommandMetadata = Readonly<{
  commandId: string;
  correlationId: string;
  causationId?: string;
  actor: string;
  now: Date;
  traceparent?: string;
}>;

export type Command<Type extends string = string, Data = unknown> = Message<Type, Data> &
  Readonly<{ metadata: CommandMetadata }>;

export type EventMetadata = Readonly<{
  correlationId: string;
  causationId: string;
  actor: string;
  traceparent?: string;
  schemaVersion: number;
}>;

/** An event on its way into the store. */
export type EventToAppend<E extends Message = Message> = E &
  Readonly<{ eventId: string; metadata: EventMetadata }>;

/** An event as the store recorded it: the envelope every reader sees. */
export type RecordedEvent<E extends Message = Message> = E &
  Readonly<{
    eventId: string;
    streamId: string;
    /** 0-based version of the event within its stream. */
    streamVersion: number;
    metadata: EventMetadata;
    /** Global position in `$all`; strictly increasing in read order. */
    position: bigint;
    recordedAt: Date;
  }>;
