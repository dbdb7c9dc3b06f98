// Why a deployments stream came back empty: the environments the repository does have, so that a
// key result reading `environment: prod` of a repository deploying to `production` says so instead
// of measuring zero. REST: GET /repos/{owner}/{repo}/environments ({ total_count, environments:
// [{ name, ... }] }; read access, Actions: read for fine-grained tokens),
// https://docs.github.com/en/rest/deployments/environments#list-environments
import type { SyncReport } from '../../src/core/connector.js';
import type { GithubClient } from './client.js';

/** The note for a deployments stream of `repo`@`environment` that stored nothing; one request. */
export async function environmentsNote(client: GithubClient, repo: string, environment: string): Promise<string | null> {
  const [owner = '', name = ''] = repo.split('/');
  try {
    const res = await client.request('GET /repos/{owner}/{repo}/environments', { owner, repo: name, per_page: 100 });
    const names = (res.data.environments ?? []).map((e) => e.name).filter((n) => n !== environment).sort();
    const what = `no deployments in environment "${environment}"`;
    return names.length ? `${what}; this repository has: ${names.join(', ')}` : `${what}; this repository has no other environments`;
  } catch {
    // The note only explains an empty stream; a token that may not list environments is no reason
    // to fail a sync that succeeded.
    return null;
  }
}

/** `report` of a first deployments sync, with the note when it stored nothing. */
export async function withEnvironmentsNote(client: GithubClient, report: SyncReport, repo: string, environment: string): Promise<SyncReport> {
  if (report.stored > 0) return report;
  return { ...report, requests: report.requests + 1, note: await environmentsNote(client, repo, environment) };
}
