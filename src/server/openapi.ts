// Builds the OpenAPI 3.1 document from the routes as they are registered, so it cannot drift from them.
import type { RouteOptions } from "fastify";

interface Operation {
  summary: string;
  tags: string[];
  parameters: Array<{ name: string; in: "path"; required: true; schema: { type: "string" } }>;
  requestBody?: { content: { "application/json": { schema: object } } };
  responses: Record<string, { description: string }>;
  security?: Array<Record<string, string[]>>;
  "x-role": string;
}

export interface OpenApiCollector {
  onRoute(route: RouteOptions): void;
  document(version: string): object;
}

export function createOpenApiCollector(): OpenApiCollector {
  const paths: Record<string, Record<string, Operation>> = {};
  return {
    onRoute: (route) => {
      const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter(
        (m) => m !== "HEAD",
      );
      const config = (route.config ?? {}) as { role?: string; summary?: string };
      const path = route.url.replace(/:([A-Za-z_]+)/g, "{$1}").replace(/\*$/, "{path}");
      const params = [...path.matchAll(/\{([A-Za-z_]+)\}/g)].map((m) => ({
        name: m[1] as string,
        in: "path" as const,
        required: true as const,
        schema: { type: "string" as const },
      }));
      for (const m of methods) {
        const tag = route.url.startsWith("/api/v1/")
          ? (route.url.split("/")[3] ?? "api")
          : route.url.includes("mlflow")
            ? "mlflow"
            : "meta";
        (paths[path] ??= {})[m.toLowerCase()] = {
          summary: config.summary ?? `${m} ${route.url}`,
          tags: [tag],
          parameters: params,
          ...((m === "POST" || m === "PUT" || m === "PATCH") && {
            requestBody: {
              content: {
                "application/json": {
                  schema: (route.schema?.body as object | undefined) ?? { type: "object" },
                },
              },
            },
          }),
          responses: {
            "200": { description: "OK" },
            "400": { description: "INVALID_ARGUMENT: { code, message, details }" },
            "401": { description: "UNAUTHENTICATED" },
            "403": { description: "PERMISSION_DENIED" },
            "404": { description: "NOT_FOUND" },
          },
          ...(config.role !== "public" && { security: [{ bearer: [] }] }),
          "x-role": config.role ?? "public",
        };
      }
    },
    document: (version) => ({
      openapi: "3.1.0",
      info: {
        title: "loopml control plane",
        version,
        description:
          "Tracking, registry and promotion. Errors are { code, message, details }; MLflow-compatible routes under /api/2.0/mlflow answer { error_code, message }.",
      },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
      paths,
    }),
  };
}
