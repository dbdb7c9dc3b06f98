import type { Store } from '../../src/core/store.js';

/**
 * The store as a process killed mid-sync sees it: the `killAt`-th page write (putEvents) throws
 * `killed` before anything of it is stored; everything else goes to `inner`.
 */
export function crashingStore(inner: Store, killAt: number): Store {
  let pages = 0;
  return new Proxy(inner, {
    get(target, key) {
      if (key === 'putEvents') {
        return async (...args: Parameters<Store['putEvents']>) => {
          if (++pages === killAt) throw new Error('killed');
          return target.putEvents(...args);
        };
      }
      const v = Reflect.get(target, key) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
