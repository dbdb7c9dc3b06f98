// Response bodies checked at the boundary: the fields a connector relies on, parsed with zod, so a
// changed or broken answer fails with the URL and the field instead of deep in the metric code.
import { z } from 'zod';
import { SourceError } from '../../src/core/errors.js';

export function parseBody<T>(schema: z.ZodType<T>, body: unknown, source: string, where: string): T {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  throw new SourceError(`${where} answered a body kr-tracker cannot read: ${z.prettifyError(r.error)}`, source, false);
}
