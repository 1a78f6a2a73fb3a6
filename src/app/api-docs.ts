import type { INestApplication, Type } from '@nestjs/common';
import { METHOD_METADATA } from '@nestjs/common/constants';
import { ModulesContainer } from '@nestjs/core';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { getMetadataStorage } from 'class-validator';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IS_PUBLIC, ROLES } from '../core/session/auth.decorators';
import { SESSION_COOKIE } from '../core/session/session.middleware';
import { setupAsyncApi } from './asyncapi';
import { dtoSchema } from './dto-schema';

type Json = Record<string, unknown>;
type Operation = { operationId?: string; parameters?: Json[]; requestBody?: Json; responses: Record<string, Json>; security?: Json[]; tags?: string[] };

interface RouteFacts {
  isPublic: boolean;
  roles: string[];
}

/** The SSE routes answer `text/event-stream`, not JSON. */
const SSE_OPERATIONS = new Set(['RealtimeController_events', 'RealtimeController_job', 'RealtimeController_analysis']);

const ERROR_BODY = {
  type: 'object',
  required: ['statusCode', 'error', 'message'],
  properties: {
    statusCode: { type: 'integer' },
    error: { type: 'string', description: 'HTTP reason phrase' },
    message: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }], description: 'What is wrong; 400 lists one message per field' },
  },
};

const ERRORS: Record<string, string> = {
  '400': 'Validation failed (one message per field) or malformed JSON',
  '401': 'Not signed in: no valid session cookie or bearer token',
  '403': 'Signed in, but not allowed (another user’s resource, admin-only route, foreign Origin on a cookie write)',
  '404': 'No such resource that the caller may see',
  '413': 'Body over the size limit',
  '429': 'Rate limited; `Retry-After` says when to try again',
  '503': 'A dependency (database, Redis) is down or maintenance mode is on',
};

/** Who may call each handler, read from the same decorators the AuthGuard reads, keyed by Swagger's operationId. */
function routeFacts(app: INestApplication): Map<string, RouteFacts> {
  const facts = new Map<string, RouteFacts>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const cls = wrapper.metatype as Type | null;
      if (!cls) continue;
      for (const name of Object.getOwnPropertyNames(cls.prototype)) {
        const handler = (cls.prototype as Record<string, unknown>)[name];
        if (typeof handler !== 'function' || Reflect.getMetadata(METHOD_METADATA, handler) === undefined) continue;
        const isPublic = Boolean(Reflect.getMetadata(IS_PUBLIC, handler) ?? Reflect.getMetadata(IS_PUBLIC, cls));
        const roles = (Reflect.getMetadata(ROLES, handler) ?? Reflect.getMetadata(ROLES, cls) ?? []) as string[];
        facts.set(`${cls.name}_${name}`, { isPublic, roles });
      }
    }
  }
  return facts;
}

function dtoClasses(): Map<string, Type> {
  const byName = new Map<string, Type>();
  const storage = getMetadataStorage() as unknown as { validationMetadatas: Map<Type, unknown[]> | { target: Type }[] };
  const targets = storage.validationMetadatas instanceof Map ? [...storage.validationMetadatas.keys()] : storage.validationMetadatas.map((m) => m.target);
  for (const t of targets) if (typeof t === 'function') byName.set(t.name, t);
  return byName;
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

/** The OpenAPI 3.1 document of every HTTP route, with its auth, error shape and status codes. */
export function buildOpenApi(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setOpenAPIVersion('3.1.0')
    .setTitle('Switchboard')
    .setDescription(
      'REST API of Switchboard. Realtime (Socket.IO namespaces and SSE streams) is described in AsyncAPI at /docs/asyncapi.json; ' +
        'client guides are in docs/clients.md. Database ids are JSON numbers; job and event ids are strings.',
    )
    .setVersion(packageVersion())
    .addCookieAuth(SESSION_COOKIE, { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE, description: 'Session cookie set by POST /api/auth/login' }, 'cookie')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'From POST /api/auth/token' }, 'bearer')
    .build();
  const doc = SwaggerModule.createDocument(app, config, { operationIdFactory: (controller, method) => `${controller}_${method}` });
  const facts = routeFacts(app);
  const classes = dtoClasses();
  doc.components ??= {};
  doc.components.schemas ??= {};
  doc.components.schemas.Error = ERROR_BODY;
  for (const [name, schema] of Object.entries(doc.components.schemas)) {
    const cls = classes.get(name);
    if (cls && !Object.keys(((schema as Json).properties as Json | undefined) ?? {}).length) doc.components.schemas[name] = dtoSchema(cls);
  }
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, raw] of Object.entries(item as Record<string, Operation>)) {
      const op = raw;
      const f = facts.get(op.operationId ?? '') ?? { isPublic: false, roles: [] };
      op.security = f.isPublic ? [{}, { cookie: [] }, { bearer: [] }] : [{ cookie: [] }, { bearer: [] }];
      const codes = ['429', '503'];
      if (!f.isPublic) codes.push('401');
      if (f.roles.length || path.includes('{') || method !== 'get') codes.push('403');
      if (path.includes('{')) codes.push('404');
      if (op.requestBody || op.parameters?.length) codes.push('400');
      if (op.requestBody) codes.push('413');
      for (const code of codes) {
        op.responses[code] ??= { description: ERRORS[code], content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
      }
      if (f.roles.length) op.tags = [...(op.tags ?? []), `role: ${f.roles.join(', ')}`];
      if (SSE_OPERATIONS.has(op.operationId ?? '')) {
        op.responses['200'] = {
          description: 'Server-Sent Events (see /docs/asyncapi.json). Resume with the Last-Event-ID header or ?lastEventId=.',
          headers: { 'Last-Event-ID-Status': { schema: { type: 'string', enum: ['replayed', 'gap'] } } },
          content: { 'text/event-stream': { schema: { type: 'string' } } },
        };
      }
    }
  }
  return doc;
}

/**
 * `/docs` (Swagger UI from swagger-ui-dist, served by this process: no
 * fonts or scripts from the internet) and `/docs/openapi.json`.
 */
export function setupApiDocs(app: INestApplication): void {
  setupAsyncApi(app);
  const doc = buildOpenApi(app);
  SwaggerModule.setup('docs', app, doc, {
    jsonDocumentUrl: 'docs/openapi.json',
    yamlDocumentUrl: 'docs/openapi.yaml',
    customSiteTitle: 'Switchboard API',
    swaggerOptions: { persistAuthorization: false },
  });
}
