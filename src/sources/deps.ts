import type { Clock } from "../clock.js";
import type { Logger } from "../telemetry/logger.js";
import type { HttpClient, HttpClientOptions } from "./http/client.js";

/** What a source factory gets: a clock, a logger and an HTTP client maker with the source's limits. */
export interface SourceDeps {
  clock: Clock;
  logger: Logger;
  httpClient(options: Pick<HttpClientOptions, "baseUrl"> & Partial<HttpClientOptions>): HttpClient;
}
