import { BusinessRuleViolation } from '@tidings/core';

/** The upload is not a CSV file of products (HTTP 400): nothing of it is kept. */
export class InvalidImportFile extends BusinessRuleViolation {
  constructor(reason: string) {
    super('invalid-import-file', reason);
  }
}

/** The upload is larger than TIDINGS_IMPORT_MAX_BYTES (HTTP 413): nothing of it is kept. */
export class ImportFileTooLarge extends BusinessRuleViolation {
  constructor(readonly maxBytes: number) {
    super('import-file-too-large', `an import file holds at most ${maxBytes} bytes`);
  }
}

export class ImportNotFound extends BusinessRuleViolation {
  constructor(readonly jobId: string) {
    super('import-not-found', `import ${jobId} was not started`);
  }
}

export class ImportAlreadyStarted extends BusinessRuleViolation {
  constructor(readonly jobId: string) {
    super('import-already-started', `import ${jobId} was started already`);
  }
}
