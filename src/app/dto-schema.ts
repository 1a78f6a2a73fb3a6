import type { Type } from '@nestjs/common';
import { getMetadataStorage } from 'class-validator';
import { IS_USER_ID } from '../core/realtime/dto';

type Json = Record<string, unknown>;

/** Rules that add nothing a JSON Schema can say (or that the type already says). */
const NOT_DESCRIBED = new Set(['isOptional', 'smallJson']);

/**
 * JSON Schema for a DTO from its class-validator rules, the ones both
 * transports enforce (the HTTP ValidationPipe and socket parsePayload): the
 * OpenAPI and AsyncAPI documents describe what is actually checked. A rule
 * it cannot describe is an error, not a silently looser document.
 */
export function dtoSchema(target: Type): Json {
  const properties: Record<string, Json> = {};
  const required = new Set<string>();
  const metas = getMetadataStorage().getTargetValidationMetadatas(target, '', true, false);
  for (const m of metas) {
    const prop = (properties[m.propertyName] ??= {});
    required.add(m.propertyName);
    // `each: true` rules describe the array's items.
    const p = m.each ? ((prop.items ??= {}) as Json) : prop;
    const c = (m.constraints ?? []) as unknown[];
    const rule = m.name ?? m.type;
    switch (rule) {
      case 'isString':
        p.type = 'string';
        break;
      case 'isInt':
        p.type = 'integer';
        break;
      case 'isNumber':
        p.type = 'number';
        break;
      case 'isBoolean':
        p.type = 'boolean';
        break;
      case 'isEmail':
        p.type = 'string';
        p.format = 'email';
        break;
      case 'isArray':
        p.type = 'array';
        break;
      case 'isObject':
        p.type = 'object';
        break;
      case 'isIn':
        p.enum = c[0];
        break;
      case 'isNotEmpty':
        p.minLength ??= 1;
        break;
      case 'matches':
        p.pattern = (c[0] as RegExp | string) instanceof RegExp ? (c[0] as RegExp).source : String(c[0]);
        break;
      case 'maxLength':
        p.maxLength = c[0];
        break;
      case 'minLength':
        p.minLength = c[0];
        break;
      case 'isLength':
        p.minLength = c[0];
        if (c[1] !== undefined) p.maxLength = c[1];
        break;
      case 'min':
        p.minimum = c[0];
        break;
      case 'max':
        p.maximum = c[0];
        break;
      case 'arrayMaxSize':
        p.maxItems = c[0];
        break;
      case 'isStringOrObject':
        p.oneOf = [{ type: 'string' }, { type: 'object' }];
        break;
      case IS_USER_ID:
        p.oneOf = [
          { type: 'integer', minimum: 1 },
          { type: 'string', pattern: (c[0] as RegExp).source },
        ];
        break;
      default:
        if (!NOT_DESCRIBED.has(rule)) throw new Error(`dtoSchema: no JSON Schema for the rule ${rule} of ${target.name}.${m.propertyName}`);
    }
  }
  for (const m of metas) if (m.type === 'conditionalValidation') required.delete(m.propertyName);
  return { type: 'object', additionalProperties: false, properties, ...(required.size ? { required: [...required] } : {}) };
}
