// The settings of each source as a connector receives them (`sources:` of the OKR file, normalized
// by src/config). Secrets stay wrapped until the connector sends them.
import type { Secret } from './secret.js';

export interface GithubSource {
  token: Secret | null;
  /** GitHub App installation credentials instead of a token (never both). */
  app?: GithubAppSource | null;
  baseUrl: string;
}

export interface GithubAppSource {
  appId: string;
  installationId: string;
  privateKey: Secret;
}

export interface PagerDutySource {
  token: Secret | null;
  baseUrl: string;
}

export interface PrometheusSource {
  url: string;
  bearerToken: Secret | null;
  basicAuth: { username: string; password: Secret } | null;
  headers: Record<string, Secret>;
}
