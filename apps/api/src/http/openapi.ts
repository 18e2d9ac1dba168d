import { ApiBody, DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { z } from 'zod';

/** A route's body in the OpenAPI document, from the zod schema that validates it: one source for both. */
export const BodyOf = (schema: z.ZodType) => {
  const { $schema: _dialect, ...jsonSchema } = z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;
  return ApiBody({ schema: jsonSchema });
};

/** `GET /docs` (Swagger UI) and `GET /docs/json`, generated from the controllers. */
export function serveOpenApi(app: NestFastifyApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Tidings')
    .setDescription('Event-sourced CQRS backend: catalog, inventory, operations. Errors are application/problem+json (RFC 9457).')
    .setVersion('0.1.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/json' });
}
