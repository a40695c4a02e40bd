/**
 * The REST client: every call goes through ServerConnection, which adds the
 * token, the XSRF header and JupyterLab's base URL (so it works behind JupyterHub).
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export interface IStudyRow {
  id: string;
  name: string | null;
  task: string | null;
  status: string;
  direction: 'minimize' | 'maximize';
  n_trials: number;
  n_complete: number;
  n_failed: number;
  n_pruned: number;
  best_value: number | null;
  started_at: number;
  updated_at: number;
  sparkline?: number[];
}

export interface IStudyList {
  studies: IStudyRow[];
  total: number;
  offset: number;
  limit: number;
}

export interface ITrial {
  number: number;
  state: string;
  value: number | null;
  config: Record<string, unknown>;
  origin: { source: string; reason: string };
  started_at: number | null;
  finished_at: number | null;
  duration: number | null;
  error: string | null;
  prune_reason: string | null;
}

export interface IParameter {
  type: 'uniform' | 'loguniform' | 'intrange' | 'choice';
  low?: number;
  high?: number;
  log?: boolean;
  options?: unknown[];
}

export interface IOriginGroup {
  source: string;
  count: number;
  n_complete: number;
  best_value: number | null;
  reasons: { reason: string; count: number }[];
  n_reasons: number;
}

export interface IStudyDetail {
  study: IStudyRow & {
    objective: string | null;
    metric: string | null;
    ended_at: number | null;
    space: Record<string, IParameter>;
    versions: Record<string, string | null>;
    n_owners: number;
  };
  trials: ITrial[];
  trials_truncated: boolean;
  best_so_far: [number, number, number | null][];
  best: { number: number; value: number; config: Record<string, unknown> } | null;
  origins: IOriginGroup[];
  resume_cell: string | null;
}

export interface ISettings {
  store: string;
  poll_interval: number;
  version: string;
  max_upload_bytes: number;
}

export interface IImportReport {
  studies_added: number;
  studies_merged: number;
  trials_added: number;
  trials_skipped: number;
  tasks_added: number;
  study_ids: string[];
  message: string;
}

/** A failed request, with the server's message and, for an import, every problem found. */
export class APIError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly problems: string[] = []
  ) {
    super(message);
  }
}

export const MISSING_SERVER_EXTENSION =
  'The jupyter-metahpo server extension is not running in this Jupyter server. ' +
  'Run `jupyter server extension enable jupyter_metahpo.server` (or reinstall jupyter-metahpo ' +
  'with pip) and restart the server.';

type Params = Record<string, string | number | string[] | undefined>;

function query(params?: Params): string {
  if (!params) {
    return '';
  }
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === '') {
      continue;
    }
    for (const one of Array.isArray(value) ? value : [value]) {
      search.append(key, String(one));
    }
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

export async function fetchRaw(
  path: string[],
  init: RequestInit = {},
  params?: Params
): Promise<Response> {
  const settings = ServerConnection.makeSettings();
  const url =
    URLExt.join(settings.baseUrl, 'metahpo', 'api', ...path.map(encodeURIComponent)) + query(params);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new APIError(`The Jupyter server could not be reached: ${error}`, 0);
  }
  if (!response.ok) {
    let body: { message?: string; problems?: string[] } = {};
    try {
      body = await response.json();
    } catch {
      // Not our JSON: the route does not exist (the server extension is missing) or a proxy answered.
    }
    if (body.message === undefined) {
      const message =
        response.status === 404 ? MISSING_SERVER_EXTENSION : `${response.status} ${response.statusText}`;
      throw new APIError(message, response.status);
    }
    throw new APIError(body.message, response.status, body.problems ?? []);
  }
  return response;
}

export async function requestJSON<T>(path: string[], init: RequestInit = {}, params?: Params): Promise<T> {
  const response = await fetchRaw(path, init, params);
  return (await response.json()) as T;
}

export const api = {
  settings: () => requestJSON<ISettings>(['settings']),
  list: (params: Params) => requestJSON<IStudyList>(['studies'], {}, params),
  study: (id: string) => requestJSON<IStudyDetail>(['studies', id]),
  forget: (id: string) => requestJSON<{ forgotten: string }>(['studies', id], { method: 'DELETE' }),
  importFile: (body: ArrayBuffer, filename: string) =>
    requestJSON<IImportReport>(
      ['import'],
      { method: 'POST', body, headers: { 'Content-Type': 'application/json' } },
      { filename }
    ),
  export: async (id: string): Promise<{ filename: string; blob: Blob }> => {
    const response = await fetchRaw(['studies', id, 'export']);
    const disposition = response.headers.get('Content-Disposition') ?? '';
    const match = /filename="([^"]+)"/.exec(disposition);
    return { filename: match ? match[1] : `metahpo-${id}.json`, blob: await response.blob() };
  }
};
