import { z } from 'zod';
import { buildAsyncApi, zodToJsonSchema } from './asyncapi';

describe('zodToJsonSchema', () => {
  it('converts the shapes the gateways use, strictness included', () => {
    const schema = z.object({ roomId: z.number().int().positive(), body: z.string().min(1).max(10), userId: z.union([z.number(), z.string().regex(/^[0-9]+$/)]).optional() }).strict();
    expect(zodToJsonSchema(schema)).toEqual({
      type: 'object',
      properties: {
        roomId: { type: 'integer', exclusiveMinimum: 0 },
        body: { type: 'string', minLength: 1, maxLength: 10 },
        userId: { oneOf: [{ type: 'number' }, { type: 'string', pattern: '^[0-9]+$' }] },
      },
      required: ['roomId', 'body'],
      additionalProperties: false,
    });
  });

  it('refuses a zod type it cannot describe instead of documenting it wrongly', () => {
    expect(() => zodToJsonSchema(z.date())).toThrow(/ZodDate/);
  });
});

describe('buildAsyncApi', () => {
  it('serves the /realtime contract on the default namespace too', () => {
    const doc = buildAsyncApi() as { channels: Record<string, { address: string; messages: object }> };
    expect(Object.keys(doc.channels.root.messages).length).toBe(Object.keys(doc.channels.realtime.messages).length);
  });
});
