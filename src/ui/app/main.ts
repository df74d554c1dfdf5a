/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The dashboard shell: hash routing, login with an API token when the server asks for one, the caller's role.
import { ApiError, api, hasToken, setToken, type Role } from "./api.ts";
import { auditPage } from "./audit.ts";
import { dataPage } from "./data.ts";
import { deploymentsPage } from "./deployments.ts";
import { errorBox, h } from "./dom.ts";
import { modelsPage } from "./models.ts";
import { monitoringPage } from "./monitoring.ts";
import { overviewPage } from "./overview.ts";
import { pipelinesPage } from "./pipelines.ts";
import { runsPage } from "./runs.ts";

const main = document.getElementById("main")!;
const who = document.getElementById("who")!;
let role: Role = "viewer";

function loginForm(reason: string): void {
  const token = h("input", { type: "password", id: "token", autocomplete: "off" });
  main.replaceChildren(
    h("h1", {}, "Sign in"),
    h("p", {}, reason),
    h(
      "form",
      {
        class: "toolbar",
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          setToken(token.value.trim());
          void route();
        },
      },
      h("label", { for: "token" }, "API token", token),
      h("button", { type: "submit" }, "Sign in"),
    ),
  );
  token.focus();
}

async function route(): Promise<void> {
  const [hashPage, arg] = location.hash.replace(/^#\/?/, "").split("/");
  const page = hashPage || "overview";
  for (const a of document.querySelectorAll("header nav a")) {
    if (a.getAttribute("href") === `#/${page}`) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  try {
    const whoami = api<{ actor: string; role: Role }>("GET", "/api/v1/ui/whoami").then((me) => {
      role = me.role;
      who.replaceChildren(
        `${me.actor} (${me.role}) `,
        h(
          "button",
          {
            onclick: () => {
              setToken(null);
              location.reload();
            },
          },
          "Sign out",
        ),
      );
    });
    // Without a stored token, ask first (one refused request, not one per call of the page); with one, the
    // page's own requests go out alongside, which is what makes the runs table appear fast.
    if (!hasToken() || page === "models") await whoami;
    else whoami.catch(() => undefined); // awaited below; this only keeps it from counting as unhandled
    main.setAttribute("aria-busy", "true");
    main.replaceChildren(h("p", { class: "muted" }, "Loading…"));
    const detail = arg ? decodeURIComponent(arg) : undefined;
    if (page === "models") await modelsPage(main, role, detail);
    else if (page === "audit") await auditPage(main);
    else if (page === "pipelines") await pipelinesPage(main, detail);
    else if (page === "deployments") await deploymentsPage(main);
    else if (page === "monitoring") await monitoringPage(main, detail);
    else if (page === "data") await dataPage(main, detail);
    else if (page === "runs") await runsPage(main);
    else await overviewPage(main);
    await whoami;
    // Mark the page as loaded (tests and screen readers); focus stays where the user put it.
    main.setAttribute("aria-busy", "false");
    document.title = `loopml · ${page}`;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) loginForm("This server needs an API token.");
    else main.replaceChildren(errorBox(e));
  }
}

window.addEventListener("hashchange", () => void route());
void route();
