// Staff sign-in with the agency's OpenID Connect provider: the
// authorization-code flow with PKCE (RFC 7636, S256), as a public client in
// the browser (no secret can be kept in a page).
//
// The host says whether and how (its `sign_in` operation, found like every
// other route in its /openapi.json): the provider's issuer, the page's
// client id, the scope and the API's resource indicator (RFC 8707). The
// provider's access token then becomes one more identity of the connection,
// sent as a bearer token and confirmed by the host's `me` like a pasted
// token. What the person may do still comes from the engine's answers:
// nothing here reads a role.
//
// The token lives in sessionStorage only: a reload keeps the session,
// closing the tab ends it.

import { routesOf } from "./backend.js";
import { t } from "./i18n.js";
import { h, button, showOutcome } from "./ui.js";

const PENDING = "enlace-sign-in-pending";
const SESSION = "enlace-sign-in";
/** The host and person of a sign-in the host found expired: offered again. */
const EXPIRED = "enlace-sign-in-expired";

const trim = (base) => String(base).replace(/\/$/, "");

function readJson(key) {
  try {
    return JSON.parse(sessionStorage.getItem(key));
  } catch {
    return null;
  }
}

/** An error body as the host's and the engine's: phrased from its code by refusals.js. */
function failure(code, message, details = {}) {
  return { code, message, details };
}

function base64url(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function random(n) {
  return base64url(crypto.getRandomValues(new Uint8Array(n)));
}

/**
 * A JWT's claims, read without checking its signature: the host verifies
 * the provider's signatures (keys from the provider's JWKS) on every
 * request; the page only reads the ID token's nonce and name.
 */
function claimsOf(jwt) {
  try {
    const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bin = atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "="));
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
  } catch {
    return null;
  }
}

/** The host's operations, by the routes its /openapi.json names. */
async function operations(base) {
  const res = await fetch(`${base}/openapi.json`);
  if (!res.ok) return {};
  return routesOf(await res.json().catch(() => null)).operations;
}

/**
 * How `base` signs staff in ({issuer, client_id, scope, resource}), or null
 * when it does not (no `sign_in` operation, 404 `sign_in_not_configured`,
 * unreachable): then the page offers pasted tokens only.
 */
export async function info(base) {
  base = trim(base);
  try {
    const route = (await operations(base)).sign_in;
    if (!route) return null;
    const res = await fetch(`${base}${route.path}`);
    if (!res.ok) return null;
    const i = await res.json();
    return i && typeof i.issuer === "string" && typeof i.client_id === "string" ? i : null;
  } catch {
    return null;
  }
}

/** The signed-in identity of this tab: {host, label, token}, or null. */
export function session() {
  return readJson(SESSION);
}

/** The sign-in the host found expired in this tab ({host, label}), or null. */
export function expired() {
  return readJson(EXPIRED);
}

/** Forgets the signed-in token (sign-out, or a token the host refused). */
export function forget() {
  sessionStorage.removeItem(SESSION);
  sessionStorage.removeItem(EXPIRED);
}

/** The host answered token_expired for the signed-in token: forget it, offer to sign in again. */
export function expire() {
  const s = session();
  if (!s) return;
  sessionStorage.setItem(EXPIRED, JSON.stringify({ host: s.host, label: s.label }));
  sessionStorage.removeItem(SESSION);
}

/**
 * Leaves the provider for its sign-in page. `again`: the same person after
 * an expiry, so the provider's own session may answer without a form;
 * otherwise `prompt=login`, so that at a shared clinic computer the next
 * person is asked who they are even if the provider remembers the last one.
 */
export async function begin(host, { again = false } = {}) {
  host = trim(host);
  const how = await info(host);
  if (!how) return { error: failure("sign_in_not_configured", `${host} offers no sign-in`) };
  let doc;
  try {
    const res = await fetch(`${trim(how.issuer)}/.well-known/openid-configuration`);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    doc = await res.json();
  } catch (e) {
    return { error: failure("sign_in_provider_unreachable", String(e.message || e), { issuer: how.issuer }) };
  }
  // A discovery document for another issuer is not this provider's (mix-up).
  if (doc.issuer !== how.issuer || !doc.authorization_endpoint || !doc.token_endpoint) {
    return { error: failure("sign_in_provider_unreachable", "discovery document does not match the issuer", { issuer: how.issuer }) };
  }
  // 32 random bytes: a 43-character base64url verifier (RFC 7636 §4.1).
  const verifier = random(32);
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
  const state = random(16);
  const nonce = random(16);
  // The provider sends the person back to this very page, without its query or hash.
  const redirect = `${location.origin}${location.pathname}`;
  sessionStorage.setItem(
    PENDING,
    JSON.stringify({
      state,
      nonce,
      verifier,
      host,
      issuer: how.issuer,
      client_id: how.client_id,
      resource: how.resource ?? null,
      token_endpoint: doc.token_endpoint,
      redirect,
    }),
  );
  const q = new URLSearchParams({
    response_type: "code",
    client_id: how.client_id,
    redirect_uri: redirect,
    scope: how.scope || "openid",
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  if (how.resource) q.set("resource", how.resource);
  if (!again) q.set("prompt", "login");
  location.assign(`${doc.authorization_endpoint}${doc.authorization_endpoint.includes("?") ? "&" : "?"}${q}`);
  return { leaving: true };
}

/**
 * Back from the provider (`?code&state` or `?error`): checks that the answer
 * is for the request this tab made (state, issuer, nonce), exchanges the code
 * with the verifier, and keeps the identity {label, token} for this tab.
 * Returns null when the page was not opened by the provider, else
 * {session} or {error}. The host has not judged the token yet: the
 * connection's `me` does (app.js).
 */
export async function complete() {
  const params = new URLSearchParams(location.search);
  if (!params.has("state") || !(params.has("code") || params.has("error"))) return null;
  const pending = readJson(PENDING);
  sessionStorage.removeItem(PENDING);
  // A code is used once: off the address bar, out of the history and reloads.
  history.replaceState(null, "", location.pathname);
  if (params.has("error")) {
    return { error: failure("sign_in_provider_error", params.get("error_description") ?? "", { error: params.get("error") }) };
  }
  const mismatch = (what) => ({ error: failure("sign_in_state_mismatch", `${what} does not match this tab's sign-in`) });
  // Not this tab's request (forged, replayed or from another tab): refused.
  if (!pending || params.get("state") !== pending.state) return mismatch("state");
  // RFC 9207: a provider that names itself must be the one asked.
  if (params.has("iss") && params.get("iss") !== pending.issuer) return mismatch("iss");
  const form = new URLSearchParams({
    grant_type: "authorization_code",
    code: params.get("code"),
    redirect_uri: pending.redirect,
    client_id: pending.client_id,
    code_verifier: pending.verifier,
  });
  if (pending.resource) form.set("resource", pending.resource);
  let tokens;
  try {
    const res = await fetch(pending.token_endpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: form,
    });
    tokens = await res.json().catch(() => ({}));
    if (!res.ok || typeof tokens.access_token !== "string") {
      return { error: failure("sign_in_token_failed", tokens.error_description ?? `HTTP ${res.status}`, { error: tokens.error ?? res.status }) };
    }
  } catch (e) {
    return { error: failure("sign_in_provider_unreachable", String(e.message || e), { issuer: pending.issuer }) };
  }
  const id = tokens.id_token ? claimsOf(tokens.id_token) : null;
  // The ID token must carry the nonce of this request (no replayed token).
  if (tokens.id_token && id?.nonce !== pending.nonce) return mismatch("nonce");
  const access = claimsOf(tokens.access_token);
  const label = id?.name ?? id?.sub ?? access?.sub ?? "agency";
  const s = { host: pending.host, label: String(label), token: tokens.access_token };
  sessionStorage.setItem(SESSION, JSON.stringify(s));
  sessionStorage.removeItem(EXPIRED);
  return { session: s };
}

/**
 * Why the host refuses `token` (its `me` answer: `token_expired`,
 * `unauthenticated`, `identity_not_mapped`...), or null when it accepts it.
 * backend.js reports only that a token failed; the code says what to do.
 */
export async function refusal(host, token) {
  host = trim(host);
  try {
    const me = (await operations(host)).me;
    if (!me) return failure("incompatible_host", "no `me` operation");
    const res = await fetch(`${host}${me.path}`, { headers: { authorization: `Bearer ${token}` } });
    if (res.ok) return null;
    const body = await res.json().catch(() => null);
    const e = body?.error ?? body;
    if (e?.code === "token_expired") return failure("sign_in_expired", e.message ?? "");
    return e?.code ? { code: e.code, message: e.message ?? "", details: e.details ?? {} } : failure("unauthenticated", `HTTP ${res.status}`);
  } catch (e) {
    return failure("offline", String(e.message || e));
  }
}

/**
 * The connection to open: the signed-in identity with the pasted tokens of
 * the same host (those of another host wait for the session to end).
 */
export function connection(pasted) {
  const s = session();
  if (!s) return pasted ? { host: pasted.host, tokens: pasted.tokens } : null;
  const same = pasted && trim(pasted.host) === trim(s.host);
  const tokens = (same ? pasted.tokens : []).filter((t) => t.label !== s.label);
  return { host: s.host, tokens: [...tokens, { label: s.label, token: s.token }] };
}

// --- the connection panel -----------------------------------------------------

/**
 * Adds sign-in to the connection panel (admin.js's `root`), next to the
 * pasted tokens: who is signed in, or the button when the host in the
 * panel's URL field offers sign-in (asked again when the URL changes).
 * `who(identity)` describes an identity the host confirmed (its actor);
 * `error`, an error of the last sign-in, is shown in the form's outcome area.
 */
export function decorate(root, backend, who, error) {
  const form = root.querySelector("form");
  const host = root.querySelector("#host-url");
  const place = root.querySelector("#tokens")?.closest(".field");
  if (!form || !host || !place) return root;
  const area = h("div", { class: "sign-in", id: "sign-in-area", "aria-live": "polite" });
  place.after(area);
  const s = session();
  const mine = s && backend.mode === "connected" ? backend.identities.find((i) => i.token === s.token) : null;
  if (mine) {
    area.dataset.signIn = "signed-in";
    area.append(h("p", { id: "signed-in-as" }, t("signed_in_as", { who: who(mine) })));
  } else {
    let asked = 0;
    const check = async () => {
      const n = ++asked;
      area.dataset.signIn = "checking";
      area.replaceChildren();
      const how = await info(host.value);
      if (n !== asked) return; // the URL changed meanwhile
      area.dataset.signIn = how ? "available" : "none";
      if (!how) return;
      // The same person after an expiry on this host: "sign in again".
      const gone = expired();
      const again = Boolean(gone && trim(gone.host) === trim(host.value));
      const go = button(
        t(again ? "sign_in_again" : "sign_in"),
        async () => {
          go.disabled = true;
          const out = await begin(host.value, { again });
          if (out.error) {
            go.disabled = false;
            showOutcome(form, out);
          }
        },
        { id: "sign-in" },
      );
      area.append(h("p", { class: "hint", id: "sign-in-hint" }, t("sign_in_hint")), go);
      go.setAttribute("aria-describedby", "sign-in-hint");
    };
    host.addEventListener("change", check);
    check();
  }
  if (error) queueMicrotask(() => showOutcome(form, { error }));
  return root;
}
