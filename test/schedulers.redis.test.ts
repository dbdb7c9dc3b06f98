import { afterAll, describe, expect, it } from 'vitest';
import { createQueues, reconcileSchedulers } from '../src/queue/queues.js';
import { redisOptions } from '../src/lib/redis.js';
import { config, keyResult, objective } from './helpers/config.js';
import { REDIS_URL, testPrefix } from './helpers/redis.js';

const { prefix, cleanup } = testPrefix();
const queues = createQueues({ connection: redisOptions(REDIS_URL), prefix });
afterAll(async () => {
  await queues.close();
  await cleanup();
});

const ids = async () => ({
  sync: (await queues.sync.getJobSchedulers(0, -1)).map((s) => s.key).sort(),
  evaluate: (await queues.evaluate.getJobSchedulers(0, -1)).map((s) => s.key).sort(),
});

describe('job schedulers from the config', () => {
  it('creates one scheduler per stream and one per objective, and removes stale ones on change', async () => {
    const first = config({
      objectives: [
        objective({
          keyResults: [
            keyResult(),
            keyResult({ id: 'staging-frequency', repos: ['acme/payments'], deployments: { source: 'deployments', environment: 'staging' } }),
          ],
        }),
      ],
    });
    await reconcileSchedulers(queues, first);
    expect(await ids()).toEqual({
      sync: [
        'sync/github/deployments/acme/checkout@production',
        'sync/github/deployments/acme/payments@production',
        'sync/github/deployments/acme/payments@staging',
      ],
      evaluate: ['evaluate/cicd'],
    });
    const s = (await queues.sync.getJobSchedulers(0, -1))[0];
    expect(s?.every).toBe(300_000);

    // The staging KR leaves the file and the sync interval changes.
    const second = config({ schedule: { syncMs: 60_000, evaluateMs: 120_000 } });
    const report = await reconcileSchedulers(queues, second);
    expect(report.removed.sort()).toEqual(['sync/github/deployments/acme/payments@staging']);
    expect(await ids()).toEqual({
      sync: ['sync/github/deployments/acme/checkout@production', 'sync/github/deployments/acme/payments@production'],
      evaluate: ['evaluate/cicd'],
    });
    for (const sch of await queues.sync.getJobSchedulers(0, -1)) expect(sch.every).toBe(60_000);
    for (const sch of await queues.evaluate.getJobSchedulers(0, -1)) expect(sch.every).toBe(120_000);

    // Reconciling the same config again changes nothing.
    const again = await reconcileSchedulers(queues, second);
    expect(again.removed).toEqual([]);
    expect((await ids()).sync).toHaveLength(2);

    // A scheduler of one key result (kr-tracker before batched evaluation) is replaced by its objective's.
    await queues.evaluate.upsertJobScheduler('evaluate/cicd/deploy-frequency', { every: 120_000 }, { name: 'evaluate', data: { objectiveId: 'cicd', keyResultId: 'deploy-frequency' } });
    expect((await reconcileSchedulers(queues, second)).removed).toEqual(['evaluate/cicd/deploy-frequency']);
    expect((await ids()).evaluate).toEqual(['evaluate/cicd']);
  });
});
