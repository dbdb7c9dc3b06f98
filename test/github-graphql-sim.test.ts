import { Octokit } from '@octokit/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateGithubDataset, type SimDeployment } from '../connectors/github/sim/dataset.js';
import { startGithubSimulator, type GithubSimulator } from '../connectors/github/sim/server.js';

const TOKEN = 'ghp_simulated_token_for_tests';
const REPOS = ['acme/payments', 'acme/checkout'];
const TO = new Date('2026-11-25T00:00:00Z');
const dataset = generateGithubDataset({ seed: 42, repos: REPOS, from: new Date(TO.getTime() - 120 * 86_400_000), to: TO });

let sim: GithubSimulator;
beforeAll(async () => {
  sim = await startGithubSimulator({ dataset, token: TOKEN });
});
afterAll(async () => {
  await sim.close();
});

interface GqlAnswer {
  status: number;
  headers: Headers;
  body: { data?: Record<string, unknown> | null; errors?: { type?: string; message: string; path?: (string | number)[] }[] };
}

async function gql(query: string, variables: Record<string, unknown> = {}, token: string | null = TOKEN): Promise<GqlAnswer> {
  const res = await fetch(`${sim.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as GqlAnswer['body'] };
}

const lastLog = () => sim.requests.at(-1)!;
const payments = () => dataset.repos.find((r) => r.fullName === 'acme/payments')!;
const nodeIdOf = (d: SimDeployment) => Buffer.from(`010:Deployment${d.id}`).toString('base64');
const newestFirst = (a: { created_at: string; id: number }, b: { created_at: string; id: number }) => Date.parse(b.created_at) - Date.parse(a.created_at) || b.id - a.id;

describe('simulated GitHub GraphQL: data', () => {
  it('lists deployments of an environment newest first with their statuses, joinable with REST on the node id', async () => {
    const q = `query($owner: String!, $name: String!, $env: [String!]) {
      repository(owner: $owner, name: $name) {
        deployments(environments: $env, first: 5, orderBy: { field: CREATED_AT, direction: DESC }) {
          totalCount
          pageInfo { hasNextPage endCursor }
          nodes { id commitOid environment createdAt state latestStatus { state } statuses(first: 10) { nodes { id state createdAt } } }
        }
      }
      rateLimit { cost remaining limit used resetAt }
    }`;
    const a = await gql(q, { owner: 'acme', name: 'payments', env: ['production'] });
    expect(a.status).toBe(200);
    expect(a.body.errors).toBeUndefined();
    const conn = (a.body.data!.repository as { deployments: { totalCount: number; pageInfo: { hasNextPage: boolean }; nodes: Record<string, unknown>[] } }).deployments;
    const want = payments().deployments.filter((d) => d.environment === 'production').sort(newestFirst);
    expect(conn.totalCount).toBe(want.length);
    expect(conn.pageInfo.hasNextPage).toBe(true);
    expect(lastLog()).toMatchObject({ route: 'POST /graphql', method: 'POST', status: 200, points: 1 });
    const rest = (await (await fetch(`${sim.url}/repos/acme/payments/deployments?environment=production&per_page=5`, { headers: { authorization: `token ${TOKEN}` } })).json()) as { node_id: string; sha: string }[];
    expect(conn.nodes.map((n) => n.id)).toEqual(rest.map((d) => d.node_id));
    const d = want[0]!;
    const latest = [...d.statuses].sort(newestFirst)[0];
    expect(conn.nodes[0]).toMatchObject({
      commitOid: d.sha,
      environment: 'production',
      createdAt: d.created_at,
      latestStatus: latest ? { state: latest.state.toUpperCase() } : null,
      state: latest === undefined ? 'PENDING' : latest.state === 'success' ? 'ACTIVE' : latest.state.toUpperCase(),
      statuses: { nodes: [...d.statuses].sort(newestFirst).map((s) => ({ id: Buffer.from(`016:DeploymentStatus${s.id}`).toString('base64'), state: s.state.toUpperCase(), createdAt: s.created_at })) },
    });
    // 1 request for the deployments + 5 for their statuses = 6 -> rounds to 0 -> at least 1 point.
    expect((a.body.data!.rateLimit as { cost: number }).cost).toBe(1);
    expect(a.headers.get('x-ratelimit-resource')).toBe('graphql');
  });

  it('nodes(ids:) resolves deployments; unknown ids are null with a NOT_FOUND error', async () => {
    const ds = payments().deployments.filter((d) => d.statuses.length >= 3).slice(0, 3);
    const bogus = Buffer.from('010:Deployment1').toString('base64');
    const a = await gql(`query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Deployment { commitOid statuses(last: 2) { nodes { state } } } } }`, { ids: [...ds.map(nodeIdOf), bogus] });
    const nodes = a.body.data!.nodes as ({ id: string; commitOid: string; statuses: { nodes: { state: string }[] } } | null)[];
    expect(nodes.slice(0, 3).map((n) => n?.commitOid)).toEqual(ds.map((d) => d.sha));
    expect(nodes[0]!.statuses.nodes.map((s) => s.state)).toEqual([...ds[0]!.statuses].sort(newestFirst).slice(-2).map((s) => s.state.toUpperCase()));
    expect(nodes[3]).toBeNull();
    expect(a.body.errors).toEqual([expect.objectContaining({ type: 'NOT_FOUND', path: ['nodes', 3] })]);
  });

  it("pages a deployment's statuses with first/after and last/before", async () => {
    const d = payments().deployments.find((x) => x.statuses.length >= 4)!;
    const q = `query($id: ID!, $after: String) { node(id: $id) { ... on Deployment { statuses(first: 1, after: $after) { pageInfo { hasNextPage endCursor } nodes { createdAt state } } } } }`;
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const a = await gql(q, { id: nodeIdOf(d), after });
      const c = (a.body.data!.node as { statuses: { pageInfo: { hasNextPage: boolean; endCursor: string }; nodes: { state: string }[] } }).statuses;
      seen.push(...c.nodes.map((s) => s.state));
      if (!c.pageInfo.hasNextPage) break;
      after = c.pageInfo.endCursor;
    }
    expect(seen).toEqual([...d.statuses].sort(newestFirst).map((s) => s.state.toUpperCase()));
    const back = await gql(`query($id: ID!) { node(id: $id) { ... on Deployment { statuses(last: 2) { pageInfo { hasPreviousPage hasNextPage } nodes { state } } } } }`, { id: nodeIdOf(d) });
    expect((back.body.data!.node as { statuses: { pageInfo: unknown } }).statuses.pageInfo).toEqual({ hasPreviousPage: true, hasNextPage: false });
  });

  it('databaseId past 2^31-1 fails like GitHub, and @octokit/graphql throws on it', async () => {
    const d = payments().deployments[0]!;
    expect(d.id).toBeGreaterThan(2 ** 31 - 1);
    const a = await gql(`query($id: ID!) { node(id: $id) { ... on Deployment { databaseId commitOid } } }`, { id: nodeIdOf(d) });
    expect(a.body.data).toEqual({ node: { databaseId: null, commitOid: d.sha } });
    expect(a.body.errors![0]!.message).toBe(`Int cannot represent non 32-bit signed integer value: ${d.id}`);
    expect(a.body.errors![0]!.path).toEqual(['node', 'databaseId']);
    const octokit = new Octokit({ auth: TOKEN, baseUrl: sim.url });
    await expect(octokit.graphql(`query($id: ID!) { node(id: $id) { ... on Deployment { databaseId } } }`, { id: nodeIdOf(d) })).rejects.toThrow(/Int cannot represent non 32-bit signed integer value/);
  });
});

describe('simulated GitHub GraphQL: cost and limits', () => {
  const cost = async (query: string, variables: Record<string, unknown> = {}) => {
    const a = await gql(query.includes('rateLimit') ? query : `${query.replace(/}\s*$/, '')} rateLimit { cost nodeCount } }`, variables);
    expect(a.body.errors).toBeUndefined();
    const rl = a.body.data!.rateLimit as { cost: number; nodeCount: number };
    expect(lastLog().points).toBe(rl.cost);
    return rl;
  };

  it('counts, for each connection, the requests to fill it (the product of the limits above it); /100, rounded, at least 1', async () => {
    const repo = `repository(owner: "acme", name: "payments")`;
    // 1 + 100 requests -> 1.01 -> 1 point; nodes 100 + 100*100.
    expect(await cost(`{ ${repo} { deployments(first: 100) { nodes { statuses(first: 100) { totalCount } } } } }`)).toEqual({ cost: 1, nodeCount: 10_100 });
    // 1 + 100 + 100*50 = 5,101 -> 51 points (GitHub's own worked example has the same shape).
    expect(await cost(`{ ${repo} { deployments(first: 100) { nodes { statuses(first: 50) { nodes { deployment { statuses(first: 1) { totalCount } } } } } } } }`)).toEqual({ cost: 51, nodeCount: 10_100 });
    // More than 500,000 possible nodes is refused.
    const big = await gql(`{ ${repo} { deployments(first: 100) { nodes { statuses(first: 100) { nodes { deployment { statuses(first: 51) { totalCount } } } } } } } }`);
    expect(big.body.errors).toEqual([{ type: 'MAX_NODE_LIMIT_EXCEEDED', message: 'This query requests up to 520,100 possible nodes which exceeds the maximum limit of 500,000.' }]);
    // 1 + 60 + 60*60 = 3,661 -> 37 (rounded, not truncated).
    expect((await cost(`{ ${repo} { deployments(last: 60) { nodes { statuses(first: 60) { nodes { deployment { statuses(first: 3) { totalCount } } } } } } } }`)).cost).toBe(37);
    // Fragments count as inlined; nodes(ids:) is a list of that many.
    const ids = payments().deployments.slice(0, 100).map(nodeIdOf);
    expect(await cost(`query($ids: [ID!]!) { nodes(ids: $ids) { ...D } rateLimit { cost nodeCount } } fragment D on Deployment { statuses(last: 5) { nodes { state } } }`, { ids })).toEqual({ cost: 1, nodeCount: 500 });
    // A query without connections costs 1.
    expect((await cost(`{ ${repo} { name } }`)).cost).toBe(1);
  });

  it('a connection without first/last, or with more than 100, is an error and costs nothing', async () => {
    const before = (await gql('{ rateLimit { remaining } }')).body.data!.rateLimit as { remaining: number };
    const missing = await gql('{ repository(owner: "acme", name: "payments") { deployments { totalCount } } }');
    expect(missing.status).toBe(200);
    expect(missing.body.data).toBeUndefined();
    expect(missing.body.errors).toEqual([{ type: 'MISSING_PAGINATION_BOUNDARIES', message: 'You must provide a `first` or `last` value to properly paginate the `deployments` connection.' }]);
    expect(lastLog().points).toBe(0);
    const tooMany = await gql('{ repository(owner: "acme", name: "payments") { deployments(first: 101) { totalCount } } }');
    expect(tooMany.body.errors).toEqual([{ type: 'EXCESSIVE_PAGINATION', message: 'Requesting 101 records on the `deployments` connection exceeds the `first` limit of 100 records.' }]);
    const after = (await gql('{ rateLimit { remaining } }')).body.data!.rateLimit as { remaining: number };
    expect(after.remaining).toBe(before.remaining - 1); // only the second rateLimit query
    const invalid = await gql('{ repository(owner: "acme", name: "payments") { nope } }');
    expect(invalid.body.errors![0]!.message).toMatch(/^Cannot query field "nope" on type "Repository"\./);
    const unknown = await gql('{ repository(owner: "acme", name: "nope") { name } }');
    expect(unknown.body).toEqual({ data: { repository: null }, errors: [expect.objectContaining({ type: 'NOT_FOUND', message: "Could not resolve to a Repository with the name 'acme/nope'." })] });
  });

  it('has its own bucket with x-ratelimit-* headers; a spent bucket answers 200 with RATE_LIMITED', async () => {
    sim.setGraphqlRateLimit(5000, 2);
    try {
      const restBefore = (await fetch(`${sim.url}/rate_limit`, { headers: { authorization: `token ${TOKEN}` } }).then((r) => r.json())) as { resources: { core: { remaining: number }; graphql: { remaining: number } } };
      expect(restBefore.resources.graphql.remaining).toBe(2);
      const ok = await gql('{ rateLimit { cost remaining used limit } }');
      expect(ok.body.data!.rateLimit).toEqual({ cost: 1, remaining: 1, used: 4999, limit: 5000 });
      expect(ok.headers.get('x-ratelimit-remaining')).toBe('1');
      expect(ok.headers.get('x-ratelimit-limit')).toBe('5000');
      expect(ok.headers.get('x-ratelimit-used')).toBe('4999');
      expect(Number(ok.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
      await gql('{ rateLimit { remaining } }');
      const limited = await gql('{ rateLimit { remaining } }');
      expect(limited.status).toBe(200);
      expect(limited.body.errors).toEqual([expect.objectContaining({ type: 'RATE_LIMITED' })]);
      expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
      expect(limited.headers.get('x-ratelimit-resource')).toBe('graphql');
      expect(lastLog().points).toBe(0);
      // The REST bucket is separate.
      const rest = await fetch(`${sim.url}/repos/acme/payments`, { headers: { authorization: `token ${TOKEN}` } });
      expect(rest.status).toBe(200);
    } finally {
      sim.setGraphqlRateLimit(5000);
    }
  });

  it('needs a valid token, as REST does', async () => {
    const none = await gql('{ rateLimit { cost } }', {}, null);
    expect(none.status).toBe(401);
    const bad = await gql('{ rateLimit { cost } }', {}, 'wrong');
    expect(bad.status).toBe(401);
    expect(bad.body).toMatchObject({ message: 'Bad credentials' });
    expect(lastLog()).toMatchObject({ route: 'POST /graphql', status: 401, authorization: true });
    expect(sim.counts().byRoute['POST /graphql']).toBeGreaterThan(5);
  });
});
