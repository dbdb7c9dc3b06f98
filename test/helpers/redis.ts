import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A fresh `test-<uuid>` prefix, and a cleanup that deletes every key under it. */
export function testPrefix(): { prefix: string; cleanup: () => Promise<void> } {
  const prefix = `test-${randomUUID()}`;
  return {
    prefix,
    async cleanup() {
      const r = new Redis(REDIS_URL);
      try {
        let cursor = '0';
        do {
          const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
          if (keys.length) await r.del(...keys);
          cursor = next;
        } while (cursor !== '0');
      } finally {
        r.disconnect();
      }
    },
  };
}
