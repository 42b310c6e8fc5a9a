// Two backends with one interface, so that every view works in both modes:
//
//   execute(actor, command) -> {ok: Outcome} | {error: ErrorBody} | {queued: Item}
//   query(actor, query)     -> {answer: {type, value}, stale?} | {error: ErrorBody}
//
// LocalBackend runs the engine in the page and keeps its journal in
// IndexedDB; HttpBackend sends each command and query to an enlace-host, by
// the routes its OpenAPI document names, and, while the host cannot be
// reached, queues the clinic's work in an outbox persisted in IndexedDB. Neither decides
// anything: the engine (in the page or in the host) answers.

import init, { Engine, seedDemoNetworkAt, demoActors } from "./engine/enlace.js";

// --- IndexedDB ---------------------------------------------------------------

const DB_NAME = "enlace-web-demo";
const DB_VERSION = 1;

function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      db.createObjectStore("journal", { keyPath: "seq" });
      db.createObjectStore("outbox", { keyPath: "id" });
      db.createObjectStore("cache");
      db.createObjectStore("meta");
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function tx(db, store, mode, fn) {
  return new Promise((resolve, reject) => {
    const t = db.transaction(store, mode);
    const s = t.objectStore(store);
    let out;
    const r = fn(s);
    if (r && "onsuccess" in r) r.onsuccess = () => (out = r.result);
    t.oncomplete = () => resolve(out);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  });
}

export class Store {
  static async open() {
    const s = new Store();
    s.db = await openDb();
    return s;
  }
  all(store) {
    return tx(this.db, store, "readonly", (s) => s.getAll());
  }
  get(store, key) {
    return tx(this.db, store, "readonly", (s) => s.get(key));
  }
  put(store, value, key) {
    return tx(this.db, store, "readwrite", (s) => (key === undefined ? s.put(value) : s.put(value, key)));
  }
  putMany(store, values) {
    return tx(this.db, store, "readwrite", (s) => {
      for (const v of values) s.put(v);
    });
  }
  delete(store, key) {
    return tx(this.db, store, "readwrite", (s) => s.delete(key));
  }
  clear(store) {
    return tx(this.db, store, "readwrite", (s) => s.clear());
  }
}

let engineReady;
/** Loads the engine's .wasm once. */
export function loadEngine() {
  engineReady ??= init();
  return engineReady;
}

// --- standalone: the engine in the page --------------------------------------

/**
 * A value of the wrong shape (say, a date input left empty) makes the engine
 * throw a TypeError that carries, as properties, the path of the field
 * inside its argument (`field`, e.g. `command.beneficiary.birth_date`), the
 * rule (`malformed`) and serde's reason: as an error body, with the field
 * relative to the command, so the form shows it next to the control. A
 * missing or unknown field is named only inside serde's reason (`start`
 * between backticks); that name completes the path.
 */
function shapeError(e) {
  const reason = e.reason ?? e.message;
  let field = (e.field ?? "").replace(/^command\.?/, "");
  const named = /^(?:missing|unknown) field `([^`]+)`/.exec(reason)?.[1];
  if (named && !field.endsWith(named)) field = field ? `${field}.${named}` : named;
  const details = { rule: e.rule ?? "malformed", reason };
  if (field) details.field = field;
  return { code: "bad_shape", message: reason, details };
}

export class LocalBackend {
  mode = "standalone";

  /** Restores the journal from IndexedDB, or seeds the demo network at `now`. */
  static async open(store, now) {
    await loadEngine();
    const b = new LocalBackend();
    b.store = store;
    b.now = now;
    const entries = await store.all("journal");
    if (entries.length > 0) {
      entries.sort((a, x) => a.seq - x.seq);
      b.engine = Engine.fromJournal(entries);
      b.restored = entries.length;
    } else {
      b.engine = seedDemoNetworkAt(new Date(now()).toISOString());
      await store.putMany("journal", b.engine.journal());
      b.restored = 0;
    }
    b.saved = b.engine.seq;
    if ("BroadcastChannel" in window) b.channel = new BroadcastChannel("enlace-web-demo-journal");
    const actors = demoActors();
    b.identities = Object.entries(actors).map(([label, actor]) => ({ label, actor }));
    return b;
  }

  async execute(actor, command, key) {
    let out;
    try {
      out = this.engine.execute({
        actor,
        at: new Date(this.now()).toISOString(),
        key: key ?? null,
        command,
      });
    } catch (e) {
      if (!(e instanceof TypeError)) throw e;
      out = { error: shapeError(e) };
    }
    if ("ok" in out && this.engine.seq > this.saved) {
      // Persisted before the answer is shown: a reload keeps what was seen.
      await this.store.putMany("journal", this.engine.entriesAfter(this.saved));
      this.saved = this.engine.seq;
      // Other tabs of this page hold an engine of their own: tell them.
      this.channel?.postMessage({ seq: this.saved });
    }
    return out;
  }

  async query(actor, query) {
    try {
      return this.engine.query(actor, query, new Date(this.now()));
    } catch (e) {
      if (!(e instanceof TypeError)) throw e;
      return { error: shapeError(e) };
    }
  }

  async reset() {
    await this.store.clear("journal");
  }
}

// --- connected: an enlace-host ------------------------------------------------

// The host's routes are read from its OpenAPI document, never copied here:
// every operation that carries an engine command names it
// (`x-enlace-command`, with `x-enlace-body` when the request body is one
// field of the command, e.g. the facility), every operation that answers an
// engine query names it (`x-enlace-query`); the event feed and the identity
// are the operations `events` and `me`. Path parameters are filled from the
// command's or query's fields of the same name; a query's remaining fields
// go to the query string (`facilities` as repeated `facility`).

const HTTP_METHODS = new Set(["get", "put", "post", "delete", "patch"]);

/** The command, query and operation routes an OpenAPI document names. */
export function routesOf(doc) {
  const routes = { commands: {}, queries: {}, operations: {} };
  for (const [path, item] of Object.entries(doc?.paths ?? {})) {
    for (const [method, op] of Object.entries(item ?? {})) {
      if (!HTTP_METHODS.has(method) || !op || typeof op !== "object") continue;
      const route = { method: method.toUpperCase(), path };
      if (typeof op["x-enlace-command"] === "string") routes.commands[op["x-enlace-command"]] = { ...route, body: op["x-enlace-body"] ?? null };
      if (typeof op["x-enlace-query"] === "string") routes.queries[op["x-enlace-query"]] = route;
      if (typeof op.operationId === "string") routes.operations[op.operationId] = route;
    }
  }
  return routes;
}

/** Why the page cannot work with a host whose document names no routes. */
function incompatible(what) {
  return {
    code: "incompatible_host",
    message: `the host's /openapi.json names no route for ${what} (x-enlace-command, x-enlace-query)`,
    details: { field: "host", what },
  };
}

/** Work a clinic may do with no connection: its own agendas, beneficiaries and referral drafts. */
const QUEUEABLE = new Set([
  "register_beneficiary",
  "set_coverage",
  "book_appointment",
  "cancel_appointment",
  "reschedule_appointment",
  "join_waitlist",
  "create_referral",
]);

function fillPath(template, fields) {
  const rest = { ...fields };
  const path = template.replace(/\{(\w+)\}/g, (_, k) => {
    const v = rest[k];
    delete rest[k];
    return encodeURIComponent(String(v));
  });
  return { path, rest };
}

class Offline extends Error {}

/** Where the identities a host confirmed last are kept (opening offline). */
const keptIdentities = (base) => `identities ${base.replace(/\/$/, "")}`;

export class HttpBackend {
  mode = "connected";

  /**
   * Forgets the kept identities of `base` that are not among `identities`
   * (a signed-in person's token must not outlive the session in IndexedDB).
   */
  static async keepOnly(store, base, identities) {
    const key = keptIdentities(base);
    const kept = await store.get("meta", key);
    if (!Array.isArray(kept)) return;
    const now = kept.filter((k) => identities.some((i) => i.token === k.token));
    if (now.length !== kept.length) await store.put("meta", now, key);
  }

  /**
   * `identities`: [{label, token}]. Reads the host's routes from its
   * OpenAPI document, then asks each token who it speaks for (the `me`
   * operation). Throws when the host cannot be reached, names no routes or
   * refuses a token.
   */
  static async open(store, base, identities, onChange) {
    if (identities.length === 0) throw Object.assign(new Error("no tokens"), { code: "unauthenticated" });
    const b = new HttpBackend();
    b.store = store;
    b.base = base.replace(/\/$/, "");
    b.onChange = onChange;
    b.online = true;
    b.identities = [];
    const kept = keptIdentities(b.base);
    const keptRoutes = `routes ${b.base}`;
    try {
      // The routes first: the document says where everything else is.
      const unfit = (why) => Object.assign(new Error(`${b.base}/openapi.json: ${why}`), { code: "incompatible_host" });
      let res;
      try {
        res = await fetch(`${b.base}/openapi.json`);
      } catch (e) {
        throw Object.assign(new Error(e.message), { code: "offline" });
      }
      if (!res.ok) throw unfit(`HTTP ${res.status}`);
      const doc = await res.json().catch(() => null);
      b.routes = routesOf(doc);
      if (Object.keys(b.routes.commands).length === 0 || Object.keys(b.routes.queries).length === 0 || !b.routes.operations.me) {
        throw unfit(incompatible("the engine's commands and queries").message);
      }
      for (const { label, token } of identities) {
        const fail = (code, why) => Object.assign(new Error(`${label}: ${why}`), { code, label });
        let res;
        try {
          res = await fetch(`${b.base}${b.routes.operations.me.path}`, { headers: { authorization: `Bearer ${token}` } });
        } catch (e) {
          throw fail("offline", e.message);
        }
        if (!res.ok) throw fail("unauthenticated", res.status);
        const me = await res.json();
        b.identities.push({ label, token, actor: me.actor });
      }
      await store.put("meta", b.identities, kept);
      await store.put("meta", b.routes, keptRoutes);
    } catch (e) {
      // Opened with no connection: the clinic works on with the identities
      // the host confirmed last time, the routes its document named, its
      // queued work and last answers.
      const last = e.code === "offline" ? await store.get("meta", kept) : undefined;
      const routes = e.code === "offline" ? await store.get("meta", keptRoutes) : undefined;
      const same = last && identities.every((i) => last.some((l) => l.label === i.label && l.token === i.token));
      if (!same || !routes) throw e;
      b.identities = last;
      b.routes = routes;
      b.online = false;
    }
    b.outbox = (await store.all("outbox")).sort((x, y) => x.id - y.id);
    window.addEventListener("online", () => b.probe());
    window.addEventListener("offline", () => b.setOnline(false));
    b.timer = setInterval(() => {
      if (!b.online || b.outbox.some((i) => i.state === "queued")) b.probe();
      else b.poll();
    }, 2500);
    return b;
  }

  /**
   * Follows `actor`'s event feed (the `events` operation) from now on, so views can
   * show what others did (a new referral in the worklist) without a click.
   */
  async watch(actor) {
    const w = { actor, cursor: null };
    this.watching = w;
    const feed = this.routes.operations.events;
    if (!feed) return;
    try {
      // The feed's head now: what the view about to be drawn already shows.
      const r = await this.fetch(`${feed.path}?after=0&limit=1`, { headers: { authorization: `Bearer ${this.tokenOf(actor)}` } });
      if (r.ok) w.cursor = r.body.head;
    } catch (e) {
      if (!(e instanceof Offline)) console.warn("enlace: event feed:", e);
    }
  }

  async poll() {
    const w = this.watching;
    if (!w || !this.online || this.polling) return;
    if (w.cursor === null) return this.watch(w.actor);
    this.polling = true;
    try {
      const token = this.tokenOf(w.actor);
      const r = await this.fetch(`${this.routes.operations.events.path}?after=${w.cursor}&limit=100`, { headers: { authorization: `Bearer ${token}` } });
      if (!r.ok || this.watching !== w) return;
      w.cursor = r.body.next;
      if (r.body.items.length > 0) this.onChange?.({ events: r.body.items });
    } catch (e) {
      // Offline: the probe takes over. Anything else: try again next tick.
      if (!(e instanceof Offline)) console.warn("enlace: event feed:", e);
    } finally {
      this.polling = false;
    }
  }

  tokenOf(actor) {
    const id = this.identities.find((i) => i.actor.user === actor.user && i.actor.facility === actor.facility && i.actor.role === actor.role);
    return id?.token;
  }

  setOnline(on) {
    if (this.online !== on) {
      this.online = on;
      this.onChange?.();
    }
  }

  async fetch(path, init) {
    let res;
    try {
      res = await fetch(`${this.base}${path}`, init);
    } catch {
      this.setOnline(false);
      throw new Offline();
    }
    this.setOnline(true);
    const text = await res.text();
    const body = text ? JSON.parse(text) : null;
    return { ok: res.ok, status: res.status, body };
  }

  /** Is the host back? Then send what is queued. */
  async probe() {
    try {
      const res = await fetch(`${this.base}/healthz`, { cache: "no-store" });
      if (res.ok) {
        this.setOnline(true);
        await this.flush();
      }
    } catch {
      this.setOnline(false);
    }
  }

  async send(token, command, key) {
    const route = this.routes.commands[command.type];
    if (!route) return { error: incompatible(`the command ${command.type}`) };
    const { method, body: wrap } = route;
    const { type, ...fields } = command;
    const { path, rest } = fillPath(route.path, fields);
    const body = wrap ? rest[wrap] : rest;
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    if (key) headers["idempotency-key"] = key;
    const r = await this.fetch(path, { method, headers, body: JSON.stringify(body) });
    return r.ok ? { ok: r.body } : { error: r.body };
  }

  async execute(actor, command, key) {
    const token = this.tokenOf(actor);
    key ??= crypto.randomUUID();
    // The clinic's own work waits behind what is already queued, so the
    // host sees it in the order it was done; anything else goes right away.
    const behind = QUEUEABLE.has(command.type) && this.outbox.some((i) => i.state === "queued");
    if (this.online && !behind) {
      try {
        return await this.send(token, command, key);
      } catch (e) {
        if (!(e instanceof Offline)) throw e;
      }
    }
    if (!QUEUEABLE.has(command.type)) {
      return { error: { code: "offline", message: "the host cannot be reached", details: {} } };
    }
    // Queued behind anything already waiting, so the host sees the clinic's
    // work in the order it was done. The key makes a resend harmless.
    const item = {
      id: Date.now() * 1000 + (this.outbox.length % 1000),
      key,
      actor,
      command,
      queued_at: new Date().toISOString(),
      state: "queued",
    };
    this.outbox.push(item);
    await this.store.put("outbox", item);
    this.onChange?.();
    return { queued: item };
  }

  /** Sends queued work in order; stops at the first network failure. */
  async flush() {
    if (this.flushing) return;
    this.flushing = true;
    let changed = false;
    try {
      for (const item of this.outbox) {
        if (item.state !== "queued") continue;
        let out;
        try {
          out = await this.send(this.tokenOf(item.actor), item.command, item.key);
        } catch (e) {
          if (e instanceof Offline) break;
          throw e;
        }
        item.state = "ok" in out ? "sent" : "refused";
        item.result = out.ok ?? null;
        item.error = out.error ?? null;
        item.sent_at = new Date().toISOString();
        await this.store.put("outbox", item);
        changed = true;
      }
    } finally {
      this.flushing = false;
    }
    if (changed) this.onChange?.({ flushed: true });
  }

  async dismiss(id) {
    this.outbox = this.outbox.filter((i) => i.id !== id);
    await this.store.delete("outbox", id);
    this.onChange?.();
  }

  async query(actor, query) {
    const token = this.tokenOf(actor);
    const { type, ...fields } = query;
    const route = this.routes.queries[type];
    if (!route) return { error: incompatible(`the query ${type}`) };
    const { path, rest } = fillPath(route.path, fields);
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(rest)) {
      if (v === null || v === undefined) continue;
      if (k === "facilities") for (const f of v) qs.append("facility", f);
      else qs.append(k, String(v));
    }
    const url = qs.toString() ? `${path}?${qs}` : path;
    const cacheKey = `${token}|${url}`;
    // Offline, "the free slots from now" is best answered by the last such
    // list, whatever instant it was asked from: a second key without the window.
    const loose = new URLSearchParams(qs);
    loose.delete("from");
    loose.delete("to");
    const looseKey = `${token}|${path}?${loose}|~`;
    if (this.online) {
      try {
        const r = await this.fetch(url, { method: route.method, headers: { authorization: `Bearer ${token}` } });
        if (!r.ok) return { error: r.body };
        // The last answer is kept for offline use at the clinic.
        this.store.put("cache", r.body, cacheKey);
        if (looseKey !== `${token}|${url}|~`) this.store.put("cache", r.body, looseKey);
        return { answer: { type, value: r.body } };
      } catch (e) {
        if (!(e instanceof Offline)) throw e;
      }
    }
    const cached = (await this.store.get("cache", cacheKey)) ?? (await this.store.get("cache", looseKey));
    if (cached !== undefined) return { answer: { type, value: cached }, stale: true };
    return { error: { code: "offline", message: "the host cannot be reached", details: {} } };
  }

  async reset() {
    await this.store.clear("outbox");
    await this.store.clear("cache");
  }
}
