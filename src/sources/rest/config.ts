/**
 * The `type: rest` source in the config file: a generic REST API described resource by resource
 * (list path, records, id, cursor, pagination, single-record get, `paid` rule).
 */
import { z } from "zod";
import { httpUrl, inheritStart, nameString, resourceKeysAtSourceLevel, stringMap, strictObject, uniqueNames } from "../../config/fields.js";
import { resourceCommonShape, sourceCommonShape } from "../../config/source-shape.js";
import type { CursorConfig, PaginationConfig, RestResourceConfig, RestSourceConfig } from "../../config/types.js";

const cursor = strictObject({
  field: z.string().min(1, "must not be empty").describe("Dotted path of the record field that orders changes: an updated-at time, or a serial id with `type: id`."),
  param: z.string().min(1, "must not be empty").optional().describe("Query parameter that receives the cursor (time cursors: cursor − `overlap`; id cursors: the last id, strictly greater). Give `param` or `order`."),
  order: z
    .literal("desc", { error: 'the only order is "desc"' })
    .optional()
    .describe("`desc`: the list is sorted by `field` descending (set the sort in `query`); pages are read until records are older than cursor − overlap. Give `param` or `order`."),
  type: z.enum(["time", "id"]).default("time").describe("`time` (default): the field is a timestamp, re-read with `overlap`. `id`: serial ids, no overlap."),
  format: z
    .enum(["iso", "unix", "YYYY-MM-DD HH:mm:ss"])
    .default("iso")
    .describe('How a time cursor is written into `param`: `iso` (default), `unix` seconds, or "YYYY-MM-DD HH:mm:ss" in the source\'s timezone.'),
})
  .superRefine((value, ctx) => {
    if ((value.param === undefined) === (value.order === undefined)) {
      ctx.addIssue({ code: "custom", path: ["param"], message: "give exactly one of `param` (filter parameter) or `order: desc` (sorted list)" });
    }
  })
  .transform((value): CursorConfig => value)
  .describe("How changes are found. Omit for no cursor: every pass is a complete scan.");

const pagination = z
  .discriminatedUnion(
    "style",
    [
      strictObject({ style: z.literal("none").describe("One request returns all records.") }),
      strictObject({
        style: z.literal("page").describe("Numbered pages."),
        page_param: z.string().min(1).default("page").describe('Query parameter of the page number. Default "page".'),
        size_param: z.string().min(1).optional().describe("Query parameter of the page size (e.g. `per_page`); omit if the API has none."),
        size: z.number().int("must be a whole number").positive("must be 1 or more").default(100).describe("Records per page; a shorter page ends the list. Default 100."),
        first_page: z.number().int("must be a whole number").min(0, "must be 0 or more").default(1).describe("Number of the first page. Default 1."),
      }),
      strictObject({
        style: z.literal("offset").describe("Offset and limit."),
        offset_param: z.string().min(1).default("offset").describe('Query parameter of the offset. Default "offset".'),
        limit_param: z.string().min(1).default("limit").describe('Query parameter of the limit. Default "limit".'),
        size: z.number().int("must be a whole number").positive("must be 1 or more").default(100).describe("Records per request. Default 100."),
      }),
      strictObject({
        style: z.literal("next").describe("Each response names the next page."),
        next: z.string().min(1, "must not be empty").describe("Dotted path in the response body to the next page: a URL (same origin only) or a token."),
        token_param: z.string().min(1).optional().describe("When `next` is a token: the query parameter that carries it."),
      }),
    ],
    { error: (issue) => (issue.code === "invalid_union" ? 'expected style "none", "page", "offset" or "next"' : undefined) },
  )
  .transform((value): PaginationConfig => value)
  .default({ style: "none" })
  .describe("How to walk the list. Default `{style: none}`.");

const restResource = strictObject({
  name: nameString().describe("Resource name: a canonical one (invoices, cost_invoices, …) or your own. Unique within the source."),
  ...resourceCommonShape,
  path: z
    .string()
    .regex(/^\//, { message: 'must start with "/" (it is appended to the source base_url)' })
    .describe("List endpoint, appended to the source `base_url`, e.g. `/costs`."),
  query: stringMap("query").describe("Fixed query parameters of this resource (e.g. a sort or a filter), added to the source's `query`."),
  records: z.string().min(1, "must not be empty").optional().describe("Dotted path to the array of records in the body (e.g. `data`); omit when the body is the array."),
  id: z.string().min(1, "must not be empty").default("id").describe('Dotted path of the record id. Default "id".'),
  created_field: z.string().min(1, "must not be empty").optional().describe("Dotted path of the creation time, used by `start: {since}`."),
  cursor: cursor.optional(),
  pagination,
  get: z
    .string()
    .regex(/^\//, { message: 'must start with "/"' })
    .regex(/\{id\}/, { message: "must contain {id}" })
    .optional()
    .describe("Single-record URL template with `{id}` (e.g. `/costs/{id}`), to confirm deletions by a not-found answer."),
  paid: strictObject({
    field: z.string().min(1, "must not be empty").describe("Dotted path of the field that shows payment."),
    to: z.unknown().describe("`paid` fires when the field becomes this value."),
  })
    .superRefine((value, ctx) => {
      if (!Object.hasOwn(value, "to")) ctx.addIssue({ code: "custom", path: ["to"], message: "required" });
    })
    .transform((value) => ({ field: value.field, to: value.to }))
    .optional()
    .describe("Built-in `paid` event for this resource: fires when `field` becomes `to`."),
}, "a mapping with at least name and path (generic rest resources are described, not named)").describe("A resource of a generic REST source.");

export const restSource = strictObject({
  ...sourceCommonShape("UTC"),
  type: z.literal("rest").describe("A generic REST API, described resource by resource."),
  base_url: httpUrl().describe("Base URL; each resource `path` is appended to it."),
  headers: stringMap("header").describe("Headers sent with every request (e.g. `Authorization: Bearer ${TOKEN}`); values are treated as secrets."),
  query: stringMap("query").describe("Query parameters added to every request of this source."),
  resources: z
    .array(restResource, { error: "expected a list of resources" })
    .min(1, "list at least one resource")
    .superRefine(uniqueNames("resource", "resources"))
    .describe("Resources of this API; each needs `name` and `path`."),
}, undefined, resourceKeysAtSourceLevel(Object.keys(restResource.shape)))
  .transform((source): RestSourceConfig => ({ ...source, resources: inheritStart<RestResourceConfig>(source.resources, source.start) }))
  .describe("A generic REST source (`type: rest`).");
