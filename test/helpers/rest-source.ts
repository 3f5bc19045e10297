// No vitest import here: the chaos harness (test/chaos/lib) uses this outside vitest.

/** A `type: rest` source for the fake REST API of test/helpers/fake-rest.ts (`resource` overrides keys of its one resource). */
export function restSourceYaml(url: string, token: string, extra: Record<string, unknown> = {}, resource: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: "legacy",
    type: "rest",
    base_url: url,
    headers: { Authorization: `Bearer ${token}` },
    schedule: "*/1 * * * * *",
    resources: [
      {
        name: "items",
        type_prefix: "item",
        path: "/items",
        cursor: { field: "modified_at", param: "modified_since" },
        pagination: { style: "page", page_param: "page", size_param: "per_page", size: 100 },
        get: "/items/{id}",
        paid: { field: "status", to: "paid" },
        ...resource,
      },
    ],
    ...extra,
  };
}
