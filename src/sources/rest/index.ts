import type { RestSourceConfig } from "../../config/types.js";
import type { SourceDeps } from "../deps.js";
import { httpSource, type Source } from "../source.js";
import { RestPoller } from "./poller.js";

/** `type: rest`: any JSON API, declared per resource. */
export function createRestSource(config: RestSourceConfig, deps: SourceDeps): Source {
  const http = deps.httpClient({ baseUrl: config.base_url, headers: config.headers, query: config.query });
  return httpSource(config, http, (resource) => new RestPoller(http, resource, config));
}
