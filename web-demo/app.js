// The page: settings, the header (language, identity, mode, clock), the
// navigation by role, and the context every view receives. Views live in
// clinic.js, hospital.js and admin.js; none of them decides anything: they
// send commands and queries and show the engine's answers. Sign-in with the
// agency's provider is in signin.js; its identity joins the connection here.

import { LANGUAGES, setLanguage, language, t, formatInstant, serviceLabel } from "./i18n.js";
import { h, select, button } from "./ui.js";
import { errorText } from "./refusals.js";
import { Store, LocalBackend, HttpBackend } from "./backend.js";
import * as clinic from "./clinic.js";
import * as hospital from "./hospital.js";
import * as admin from "./admin.js";
import * as signin from "./signin.js";

const started = performance.now();

// --- settings (localStorage: small, synchronous) ---------------------------

const SETTINGS_KEY = "enlace-web-demo-settings";
function loadSettings() {
  try {
    return JSON.parse(localStorage.getItem(SETTINGS_KEY)) || {};
  } catch {
    return {};
  }
}
const settings = loadSettings();
function saveSettings() {
  localStorage.setItem(SETTINGS_KEY, JSON.stringify(settings));
}

const params = new URLSearchParams(location.search);
if (params.has("lang")) settings.lang = params.get("lang");
// `?clock=ISO` sets the standalone demo clock (the page supplies the time of
// every command; the engine reads no clock), e.g. to play a weekday morning.
if (params.has("clock")) {
  const at = Date.parse(params.get("clock"));
  if (!Number.isNaN(at)) settings.clockOffset = at - Date.now();
}
settings.lang ??= (navigator.language || "es").slice(0, 2);
if (!LANGUAGES[settings.lang]) settings.lang = "es";
saveSettings();
setLanguage(settings.lang);

function now() {
  const offset = app.backend?.mode === "standalone" ? settings.clockOffset || 0 : 0;
  return Date.now() + offset;
}

// --- state -----------------------------------------------------------------

const app = {
  backend: null,
  identity: null,
  facilities: new Map(),
  services: new Map(),
  view: null,
  rendered: 0,
};
window.enlace = app; // for the tests and the curious: app.backend.execute/query

async function loadReference() {
  const actor = app.identity.actor;
  const [f, s] = await Promise.all([
    app.backend.query(actor, { type: "facilities" }),
    app.backend.query(actor, { type: "services" }),
  ]);
  if (f.answer) app.facilities = new Map(f.answer.value.map((x) => [x.id, x]));
  if (s.answer) app.services = new Map(s.answer.value.map((x) => [x.code, x]));
}

function context() {
  const actor = app.identity.actor;
  const facility = actor.facility ? app.facilities.get(actor.facility) : null;
  return {
    backend: app.backend,
    actor,
    facility,
    facilities: app.facilities,
    services: app.services,
    tz: facility?.time_zone ?? "UTC",
    now,
    go,
    rerender: () => render(),
    facilityName: (id) => app.facilities.get(id)?.name ?? id,
    facilityZone: (id) => app.facilities.get(id)?.time_zone ?? "UTC",
    serviceName: (code) => serviceLabel(code, app.services.get(code)?.name),
    exec: (command, key) => app.backend.execute(actor, command, key),
    query: (q) => app.backend.query(actor, q),
  };
}

// --- views by role -----------------------------------------------------------

const VIEWS = {
  patients: { label: "view_patients", render: clinic.patients },
  "new-referral": { label: "view_new_referral", render: clinic.newReferral },
  referrals: { label: "view_referrals", render: clinic.referrals },
  worklist: { label: "view_worklist", render: hospital.worklist },
  referral: { label: null, render: hospital.referral },
  scheduler: { label: "view_scheduler", render: admin.scheduler },
  waitlist: { label: "view_waitlist", render: admin.waitlist },
  audit: { label: "view_audit", render: admin.audit },
  outbox: { label: "view_outbox", render: admin.outbox },
  connect: {
    label: "view_connect",
    // The connection panel, with sign-in with the agency's provider next to the pasted tokens.
    render: async (ctx) => {
      const error = app.signInError;
      app.signInError = null; // said once
      return signin.decorate(await admin.connect(ctx), app.backend, identityLabel, error);
    },
  },
};

function viewsFor(actor) {
  const tier = actor.facility ? app.facilities.get(actor.facility)?.tier : null;
  const v = [];
  switch (actor.role) {
    case "clerk":
      v.push("patients", "scheduler", "waitlist");
      if (tier > 1) v.push("worklist");
      break;
    case "clinician":
    case "coordinator":
      if (tier === 1) v.push("patients", "new-referral", "referrals");
      else v.push("worklist", "patients", "referrals");
      break;
    case "auditor":
      v.push("audit");
      break;
    case "admin":
      v.push("scheduler", "audit");
      break;
  }
  if (app.backend.mode === "connected") v.push("outbox");
  v.push("connect");
  return v;
}

function parseHash() {
  const [name, arg] = location.hash.replace(/^#/, "").split("/");
  return { name, arg };
}

function go(name, arg) {
  location.hash = arg !== undefined ? `${name}/${arg}` : name;
}

// --- header ------------------------------------------------------------------

function identityLabel(i) {
  const a = i.actor;
  const where = a.facility ? app.facilities.get(a.facility)?.name ?? a.facility : t("no_facility");
  return `${a.user} — ${t(`role_${a.role}`)} — ${where}`;
}

function renderHeader() {
  const controls = document.getElementById("controls");
  controls.replaceChildren();
  const lang = select(
    Object.entries(LANGUAGES).map(([k, v]) => [k, v]),
    { id: "lang", value: language() },
  );
  lang.addEventListener("change", () => {
    settings.lang = lang.value;
    saveSettings();
    setLanguage(lang.value);
    render();
  });
  const who = select(
    app.backend.identities.map((i) => [i.label, identityLabel(i)]),
    { id: "identity", value: app.identity.label },
  );
  who.addEventListener("change", async () => {
    app.identity = app.backend.identities.find((i) => i.label === who.value);
    settings.identity = who.value;
    saveSettings();
    await app.backend.watch?.(app.identity.actor);
    const first = viewsFor(app.identity.actor)[0];
    if (location.hash === `#${first}`) render();
    else go(first);
  });
  const mode =
    app.backend.mode === "standalone" ? t("mode_standalone") : t("mode_connected", { host: app.backend.base });
  const status = h(
    "span",
    { class: `pill ${app.backend.mode === "connected" && !app.backend.online ? "offline" : ""}`, id: "net", role: "status" },
    app.backend.mode === "connected" ? (app.backend.online ? t("online") : t("offline")) : mode,
  );
  controls.append(
    h("span", null, h("label", { for: "lang" }, t("language")), lang),
    h("span", null, h("label", { for: "identity" }, t("identity")), who),
    ...(app.backend.mode === "connected" ? [h("span", { class: "pill" }, mode)] : []),
    status,
  );
  // Who signed in with the agency's provider (the actor the host confirmed), and the way out.
  const signedIn = signedInIdentity();
  if (signedIn) {
    controls.append(
      h(
        "span",
        { class: "row-actions" },
        h("span", { class: "pill", id: "signed-in" }, t("signed_in", { user: signedIn.actor.user })),
        button(t("sign_out"), () => app.signOut(), { class: "secondary", id: "sign-out" }),
      ),
    );
  }
  if (app.backend.mode === "standalone") {
    const clock = h("span", { id: "clock" }, `${t("clock")}: ${formatInstant(new Date(now()).toISOString(), app.facilities.get(app.identity.actor.facility)?.time_zone ?? "UTC")}`);
    const shift = (ms) => () => {
      settings.clockOffset = ms === null ? 0 : (settings.clockOffset || 0) + ms;
      saveSettings();
      render();
    };
    controls.append(
      h(
        "span",
        { class: "row-actions", role: "group", "aria-label": t("clock") },
        clock,
        button(t("clock_hour"), shift(3600000), { class: "secondary" }),
        button(t("clock_day"), shift(86400000), { class: "secondary" }),
        button(t("clock_reset"), shift(null), { class: "secondary" }),
      ),
    );
  }
}

/** The identity of this tab's sign-in with the agency, as the host confirmed it. */
function signedInIdentity() {
  const s = signin.session();
  if (!s || app.backend.mode !== "connected") return null;
  return app.backend.identities.find((i) => i.token === s.token) ?? null;
}

function renderNav(names, current) {
  const nav = document.getElementById("nav");
  nav.setAttribute("aria-label", t("nav"));
  nav.replaceChildren(
    ...names.map((n) =>
      h("a", { href: `#${n}`, "aria-current": n === current ? "page" : false }, t(VIEWS[n].label)),
    ),
  );
  document.querySelector(".skip").textContent = t("skip");
  document.title = t("app_title");
}

// --- rendering -----------------------------------------------------------------

let renderSeq = 0;
async function render() {
  const seq = ++renderSeq;
  app.idle = false;
  const names = viewsFor(app.identity.actor);
  let { name, arg } = parseHash();
  if (!VIEWS[name] || (name !== "referral" && !names.includes(name))) {
    name = names[0];
    arg = undefined;
  }
  renderHeader();
  renderNav(names, name);
  const main = document.getElementById("main");
  const node = await VIEWS[name].render(context(), arg);
  if (seq !== renderSeq) return; // a newer render started meanwhile
  const banners = [expiredBanner(), refusedBanner()].filter(Boolean);
  main.replaceChildren(...banners, node);
  app.view = name;
  main.dataset.view = name;
  app.rendered += 1;
  app.idle = true; // no newer render started (checked above)
}

function refusedBanner() {
  if (app.backend.mode !== "connected") return null;
  const n = app.backend.outbox.filter((i) => i.state === "refused").length;
  if (n === 0) return null;
  return h("p", { class: "banner bad", role: "alert" }, h("a", { href: "#outbox" }, t("refused_count", { n })));
}

/** The host found this tab's sign-in expired: offer to sign in again. */
function expiredBanner() {
  const gone = signin.expired();
  if (!gone) return null;
  return h(
    "div",
    { class: "banner bad", role: "alert", id: "sign-in-expired" },
    h("p", null, errorText({ code: "sign_in_expired", message: "", details: {} })),
    button(t("sign_in_again"), async (e) => {
      e.target.disabled = true;
      const out = await signin.begin(gone.host, { again: true });
      if (out.error) {
        app.signInError = out.error;
        if (location.hash === "#connect") render();
        else go("connect");
      }
    }, { id: "sign-in-again" }),
  );
}

window.addEventListener("hashchange", () => {
  render().then(() => document.getElementById("main").focus());
});

// --- start -------------------------------------------------------------------

async function openBackend(store) {
  // The pasted tokens (settings) and this tab's sign-in with the agency, together.
  const connection = signin.connection(settings.connection);
  if (connection) {
    const s = signin.session();
    try {
      await HttpBackend.keepOnly(store, connection.host, connection.tokens);
      return watchSignIn(await HttpBackend.open(store, connection.host, connection.tokens, onBackendChange));
    } catch (e) {
      if (s && e.label === s.label && e.code !== "offline") {
        // The host refused the signed-in person: say why (expired, no role
        // or agency in the claims...) and open without that identity.
        const why = (await signin.refusal(connection.host, s.token)) ?? { code: e.code ?? "unauthenticated", message: String(e.message || e), details: {} };
        if (why.code === "sign_in_expired") {
          signin.expire(); // the banner offers to sign in again
        } else {
          signin.forget();
          app.signInError = why;
          history.replaceState(null, "", "#connect"); // no hashchange: nothing is drawn yet
        }
        return openBackend(store);
      }
      console.warn("enlace: cannot connect, staying standalone:", e);
      app.connectError = { code: e.code ?? "offline", message: String(e.message || e), details: { field: "tokens" } };
    }
  }
  return LocalBackend.open(store, () => Date.now() + (settings.clockOffset || 0));
}

/**
 * A signed-in token expires while the page is open: the host answers
 * `token_expired` (to a view's query, a command or the event feed's poll).
 * Then the token is forgotten, the refusal is phrased as "sign in again"
 * and a banner offers it. Every other answer passes through unchanged.
 */
function watchSignIn(backend) {
  const s = signin.session();
  if (!s) return backend;
  const call = backend.fetch.bind(backend);
  backend.fetch = async (path, init) => {
    const r = await call(path, init);
    if (r.status === 401 && r.body?.code === "token_expired" && init?.headers?.authorization === `Bearer ${s.token}`) {
      if (signin.session()) {
        signin.expire();
        queueMicrotask(() => render());
      }
      return { ...r, body: { ...r.body, code: "sign_in_expired" } };
    }
    return r;
  };
  return backend;
}

/** Views without forms, drawn again when the event feed brings news. */
const LIVE_VIEWS = new Set(["worklist", "referrals", "waitlist", "outbox"]);

function onBackendChange(info) {
  if (!app.identity) return;
  // After queued work was sent, every view may have changed (and refusals
  // must show); news from the feed redraws the lists; otherwise only the
  // connection status changed.
  if (info?.flushed || app.view === "outbox" || (info?.events && LIVE_VIEWS.has(app.view))) render();
  else renderHeader();
}

/** Switches mode (from the Connection view): saved, then the page restarts. */
app.connect = async (host, tokens) => {
  const store = await Store.open();
  const b = await HttpBackend.open(store, host, tokens, onBackendChange);
  settings.connection = { host, tokens };
  saveSettings();
  clearInterval(b.timer);
  location.hash = "";
  location.reload();
};
app.disconnect = () => {
  signin.forget();
  delete settings.connection;
  saveSettings();
  location.hash = "";
  location.reload();
};
/** Forgets this tab's signed-in token; the page opens again with what is left. */
app.signOut = () => {
  signin.forget();
  location.hash = "";
  location.reload();
};
app.resetDemo = async () => {
  await app.backend.reset();
  settings.clockOffset = 0;
  saveSettings();
  location.reload();
};
app.settings = settings;

async function start() {
  // The page's files are kept for opening it with no connection (sw.js).
  if ("serviceWorker" in navigator && location.protocol.startsWith("http")) {
    navigator.serviceWorker.register("sw.js").catch((e) => console.warn("enlace: no offline copy of the page:", e));
  }
  // Back from the agency's provider: finish the sign-in before connecting.
  const back = await signin.complete();
  if (back?.session) {
    settings.identity = back.session.label;
    saveSettings();
  }
  if (back?.error) {
    app.signInError = back.error;
    history.replaceState(null, "", "#connect"); // no hashchange: nothing is drawn yet
  }
  const store = await Store.open();
  try {
    app.backend = await openBackend(store);
  } catch (e) {
    // A stored journal whose hash chain does not verify is refused by the
    // engine (Engine.fromJournal): say so and offer a fresh network.
    if (e?.code !== "chain_broken") throw e;
    const main = document.getElementById("main");
    main.replaceChildren(
      h("p", { class: "banner bad", role: "alert", id: "chain-broken" }, t("chain_broken", { seq: e.details?.seq, reason: e.details?.reason })),
      button(t("reset_demo"), async () => {
        await store.clear("journal");
        location.reload();
      }),
    );
    return;
  }
  // Another tab changed the demo network: start again from the stored journal.
  app.backend.channel?.addEventListener("message", () => location.reload());
  app.identity =
    app.backend.identities.find((i) => i.label === settings.identity) ?? app.backend.identities[0];
  await loadReference();
  await app.backend.watch?.(app.identity.actor);
  await render();
  app.readyMs = performance.now() - started;
  app.readyFromNavigation = performance.now();
  document.body.dataset.ready = "true";
}

start().catch((e) => {
  console.error(e);
  const main = document.getElementById("main");
  main.replaceChildren(h("p", { class: "banner bad", role: "alert" }, String(e.message || e)));
});
