/// <reference lib="dom" />
// Models page: registered models, versions with gate-relevant metrics, aliases and their history, pending
// promotions; promote (editor+) and approve/reject (approver+) buttons only for roles that may use them.
import { allows, api, type Role } from "./api.ts";
import { errorBox, fmtNumber, fmtTime, h } from "./dom.ts";
import { lineageGraph } from "./lineage.ts";

interface Model {
  name: string;
  description: string;
  latestVersion: number;
  aliases: Record<string, number>;
  policy: { approvalFor?: string[]; protectedAliases?: string[] };
}
interface Version {
  version: number;
  runId: string | null;
  metrics: Record<string, number>;
  aliases: string[];
  datasets: Array<{ dataset: string; version: string; context: string }>;
  createdAt?: number;
}
interface AliasMove {
  alias: string;
  from: number | null;
  to: number | null;
  at: number;
  actor: string;
  forced: boolean;
}
interface Promotion {
  id: string;
  version: number;
  alias: string;
  status: string;
  requestedBy: string;
  report: { passed: boolean; rules: Array<{ rule: string; passed: boolean; detail: string }> };
}

export async function modelsPage(root: HTMLElement, role: Role, selected?: string): Promise<void> {
  const { models } = await api<{ models: Model[] }>("GET", "/api/v1/models");
  const detail = h("div", { id: "model-detail" });
  root.replaceChildren(
    h("h1", {}, "Models"),
    models.length === 0
      ? h("p", { class: "muted" }, "No registered models yet.")
      : h(
          "table",
          { class: "grid", id: "models" },
          h("tr", {}, ...["model", "latest", "aliases"].map((t) => h("th", { scope: "col" }, t))),
          ...models.map((m) =>
            h(
              "tr",
              {},
              h("td", {}, h("a", { href: `#/models/${encodeURIComponent(m.name)}` }, m.name)),
              h("td", {}, `v${m.latestVersion}`),
              h(
                "td",
                {},
                Object.entries(m.aliases)
                  .map(([a, v]) => `${a} → v${v}`)
                  .join(", "),
              ),
            ),
          ),
        ),
    detail,
  );
  const name = selected ?? models[0]?.name;
  if (name) await modelDetail(detail, name, role, () => modelsPage(root, role, name));
}

async function modelDetail(
  box: HTMLElement,
  name: string,
  role: Role,
  reload: () => Promise<void>,
): Promise<void> {
  const enc = encodeURIComponent(name);
  const [model, { versions }, { history }, { promotions }] = await Promise.all([
    api<Model>("GET", `/api/v1/models/${enc}`),
    api<{ versions: Version[] }>("GET", `/api/v1/models/${enc}/versions`),
    api<{ history: AliasMove[] }>("GET", `/api/v1/models/${enc}/aliases`),
    api<{ promotions: Promotion[] }>("GET", `/api/v1/promotions?model=${enc}`),
  ]);
  const metricKeys = [...new Set(versions.flatMap((v) => Object.keys(v.metrics)))].sort();
  const message = h("div", { "aria-live": "polite" });
  // Re-render the whole page so the models list shows the new aliases too.
  const refresh = reload;
  const lineageBox = h("div", { "aria-live": "polite" });
  const lineageVersion = h(
    "select",
    { id: "lineage-version" },
    ...versions
      .slice()
      .reverse()
      .map((v) => h("option", { value: v.version }, `v${v.version}`)),
  );
  const showLineage = (): Promise<void> =>
    lineageGraph(name, Number(lineageVersion.value))
      .then((g) => lineageBox.replaceChildren(g))
      .catch((e: unknown) => lineageBox.replaceChildren(errorBox(e)));
  lineageVersion.addEventListener("change", () => void showLineage());

  const promote = allows(role, "editor")
    ? (() => {
        const version = h(
          "select",
          { id: "promote-version" },
          ...versions.map((v) => h("option", { value: v.version }, `v${v.version}`)),
        );
        const alias = h("input", { type: "text", id: "promote-alias", value: "production" });
        return h(
          "form",
          {
            class: "toolbar",
            id: "promote-form",
            onsubmit: (ev: Event) => {
              ev.preventDefault();
              api<{ status: string; report?: Promotion["report"] }>(
                "POST",
                `/api/v1/models/${enc}/promotions`,
                {
                  version: Number(version.value),
                  to: alias.value,
                },
              )
                .then(async (r) => {
                  await refresh();
                  document.querySelector("#promote-result")!.textContent =
                    r.status === "moved"
                      ? `Moved ${alias.value} to v${version.value}.`
                      : r.status === "pending"
                        ? `Promotion of v${version.value} to ${alias.value} awaits approval.`
                        : `Promotion ${r.status}.`;
                })
                .catch((e: unknown) => message.replaceChildren(errorBox(e)));
            },
          },
          h("label", { for: "promote-version" }, "Version", version),
          h("label", { for: "promote-alias" }, "Alias", alias),
          h("button", { type: "submit" }, "Promote"),
        );
      })()
    : h("p", { class: "muted" }, `Your role (${role}) may not promote.`);

  box.replaceChildren(
    h(
      "section",
      { class: "card" },
      h("h2", {}, name),
      model.description ? h("p", {}, model.description) : null,
      h(
        "p",
        {},
        "Aliases: ",
        Object.entries(model.aliases)
          .map(([a, v]) => `${a} → v${v}`)
          .join(", ") || "none",
        model.policy.protectedAliases?.length
          ? ` · protected: ${model.policy.protectedAliases.join(", ")}`
          : "",
        model.policy.approvalFor?.length
          ? ` · approval needed for: ${model.policy.approvalFor.join(", ")}`
          : "",
      ),
      promote,
      h("p", { id: "promote-result", role: "status" }),
      message,
      h(
        "table",
        { class: "grid", id: "versions" },
        h("caption", {}, "Versions"),
        h(
          "tr",
          {},
          ...["version", "aliases", "run", "datasets", ...metricKeys].map((t) =>
            h("th", { scope: "col" }, t),
          ),
        ),
        ...versions.map((v) =>
          h(
            "tr",
            {},
            h("td", {}, `v${v.version}`),
            h("td", {}, v.aliases.join(", ")),
            h("td", {}, v.runId ?? ""),
            h("td", {}, v.datasets.map((d) => `${d.dataset}@${d.version}`).join(", ")),
            ...metricKeys.map((k) => h("td", {}, fmtNumber(v.metrics[k] ?? null))),
          ),
        ),
      ),
      h(
        "table",
        { class: "grid", id: "alias-history" },
        h("caption", {}, "Alias history"),
        h(
          "tr",
          {},
          ...["when", "alias", "from", "to", "by", "forced"].map((t) => h("th", { scope: "col" }, t)),
        ),
        ...history
          .slice()
          .reverse()
          .map((m) =>
            h(
              "tr",
              {},
              h("td", {}, fmtTime(m.at)),
              h("td", {}, m.alias),
              h("td", {}, m.from === null ? "—" : `v${m.from}`),
              h("td", {}, m.to === null ? "removed" : `v${m.to}`),
              h("td", {}, m.actor),
              h("td", {}, m.forced ? "yes" : "no"),
            ),
          ),
      ),
      h(
        "table",
        { class: "grid", id: "promotions" },
        h("caption", {}, "Promotions and gate results"),
        h(
          "tr",
          {},
          ...["version", "alias", "status", "gate", "by", ""].map((t) => h("th", { scope: "col" }, t)),
        ),
        ...promotions.map((p) =>
          h(
            "tr",
            {},
            h("td", {}, `v${p.version}`),
            h("td", {}, p.alias),
            h("td", {}, p.status),
            h(
              "td",
              {},
              h("span", { class: p.report.passed ? "ok" : "bad" }, p.report.passed ? "passed" : "failed"),
              ...p.report.rules.map((r) =>
                h("div", { class: r.passed ? "ok" : "bad" }, `${r.rule}: ${r.detail}`),
              ),
            ),
            h("td", {}, p.requestedBy),
            h(
              "td",
              {},
              p.status === "pending" && allows(role, "approver")
                ? h(
                    "span",
                    {},
                    ...(["approve", "reject"] as const).map((verb) =>
                      h(
                        "button",
                        {
                          onclick: () =>
                            void api("POST", `/api/v1/promotions/${encodeURIComponent(p.id)}/${verb}`, {})
                              .then(refresh)
                              .catch((e: unknown) => message.replaceChildren(errorBox(e))),
                        },
                        verb === "approve" ? "Approve" : "Reject",
                      ),
                    ),
                  )
                : "",
            ),
          ),
        ),
      ),
      h("h3", {}, "Lineage"),
      versions.length ? h("label", { for: "lineage-version" }, "Version ", lineageVersion) : null,
      lineageBox,
    ),
  );
  if (versions.length) await showLineage();
}
