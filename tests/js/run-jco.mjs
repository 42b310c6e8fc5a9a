// Plays the scenario corpus on the engine component under jco, a component
// host nobody on the team wrote: `dist/enlace.component.wasm` is transpiled
// to JavaScript by @bytecodealliance/jco and driven from Node through its
// typed WIT interface (records, variants, enums, the `engine` resource).
//
//   node tests/js/run-jco.mjs        (after `cargo xtask build` and
//                                     `cargo run -p enlace-tests --bin expand_scenarios`;
//                                     `cargo xtask test` does all of it)
//
// The scenarios come in core's JSON form (dist/scenarios.json). This script
// converts each request and query into the component's WIT values, and each
// outcome and answer back into core's JSON form, driven by the WIT itself
// (wasm/wit/engine.wit, read below) plus the few rules of core's serde form
// listed in JSON_FORM. It then compares every outcome and the journal head
// with the committed expected files, with numbers compared by value, and
// prints the first differing event of a failing step.
//
// Each scenario also checks that the journal survives a round trip through
// jco: `entriesAfter(0)` (typed entries out), `Engine.fromEntries` (typed
// entries back in, chain verified by the component) and `journalJson()`
// (core's own JSON) all agree.
//
// The last line is `N passed, M failed`; the exit code is 1 on any failure.

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { transpile } from '@bytecodealliance/jco';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const COMPONENT = join(ROOT, 'dist', 'enlace.component.wasm');
const SCENARIOS = join(ROOT, 'dist', 'scenarios.json');
const WIT = join(ROOT, 'wasm', 'wit', 'engine.wit');
const OUT = join(ROOT, 'dist', 'jco');

function fail(message) {
  console.error(`run-jco: ${message}`);
  process.exit(1);
}

if (!existsSync(COMPONENT)) {
  fail(`${COMPONENT} is missing: run \`cargo xtask build\` first`);
}
if (!existsSync(SCENARIOS)) {
  fail(`${SCENARIOS} is missing: run \`cargo run -p enlace-tests --bin expand_scenarios\` first`);
}

// ---------------------------------------------------------------------------
// The WIT types, read from the WIT file (records, variants, enums, aliases).
// ---------------------------------------------------------------------------

/** Parses the type definitions of `interface api` into a map name -> type. */
function parseWit(text) {
  const src = text.replace(/\/\/[^\n]*/g, '');
  const tokens = src.match(/%?[a-z][a-z0-9-]*|[{}()<>,;:=]/g);
  let i = 0;
  const peek = () => tokens[i];
  const next = () => tokens[i++];
  const expect = (t) => {
    const got = next();
    if (got !== t) throw new Error(`WIT: expected ${t}, got ${got} at token ${i}`);
  };
  const name = () => next().replace(/^%/, '');
  const skipBlock = () => {
    while (next() !== '{');
    for (let depth = 1; depth > 0; ) {
      const t = next();
      if (t === '{') depth++;
      if (t === '}') depth--;
    }
  };
  const type = () => {
    const t = name();
    if (['list', 'option'].includes(t)) {
      expect('<');
      const inner = type();
      expect('>');
      return { kind: t, inner };
    }
    if (t === 'tuple') {
      expect('<');
      const items = [type()];
      while (peek() === ',') {
        next();
        items.push(type());
      }
      expect('>');
      return { kind: 'tuple', items };
    }
    return { kind: 'ref', name: t };
  };
  const types = new Map();
  while (i < tokens.length) {
    const t = next();
    if (t === 'package') {
      while (next() !== ';');
    } else if (t === 'interface') {
      name();
      expect('{');
      while (peek() !== '}') {
        const kw = next();
        if (kw === 'type') {
          const n = name();
          expect('=');
          types.set(n, { kind: 'alias', of: type() });
          expect(';');
        } else if (kw === 'record') {
          const n = name();
          expect('{');
          const fields = [];
          while (peek() !== '}') {
            const f = name();
            expect(':');
            fields.push({ name: f, type: type() });
            if (peek() === ',') next();
          }
          next();
          types.set(n, { kind: 'record', name: n, fields });
        } else if (kw === 'variant') {
          const n = name();
          expect('{');
          const cases = [];
          while (peek() !== '}') {
            const c = name();
            let payload = null;
            if (peek() === '(') {
              next();
              payload = type();
              expect(')');
            }
            cases.push({ name: c, type: payload });
            if (peek() === ',') next();
          }
          next();
          types.set(n, { kind: 'variant', name: n, cases });
        } else if (kw === 'enum') {
          const n = name();
          expect('{');
          const cases = [];
          while (peek() !== '}') {
            cases.push(name());
            if (peek() === ',') next();
          }
          next();
          types.set(n, { kind: 'enum', name: n, cases });
        } else if (kw === 'resource') {
          skipBlock();
        } else if (kw === 'use' || peek() === ':') {
          // `use other.{a, b};` and free functions `name: func(…) -> …;`.
          while (next() !== ';');
        } else {
          throw new Error(`WIT: unexpected ${kw}`);
        }
      }
      next();
    } else if (t === 'world') {
      skipBlock();
    } else {
      throw new Error(`WIT: unexpected ${t}`);
    }
  }
  return types;
}

const TYPES = parseWit(readFileSync(WIT, 'utf8'));

// ---------------------------------------------------------------------------
// core's JSON form <-> the component's WIT values in JavaScript (jco).
// ---------------------------------------------------------------------------

// What the WIT does not say about core's serde form.
const JSON_FORM = {
  // How each variant is tagged in JSON: `{"type": case, ...fields}`
  // (internal), `{"type": case, "value": v}` (adjacent), `{case: v}`
  // (external, serde's default).
  tagging: {
    command: 'internal',
    event: 'internal',
    query: 'internal',
    answer: 'adjacent',
    destination: 'external',
    executed: 'external',
  },
  // Fields serde leaves out (`skip_serializing_if`) when they hold this value.
  skipped: {
    'appointment-booked': { referral: undefined, 'follow-up-of': undefined, 'rescheduled-from': undefined, overbooked: false },
    entry: { key: undefined, digest: undefined },
    'timeline-step': { note: '' },
  },
  // Fields whose serde default is not the type's zero value.
  defaults: { 'worklist-query': { limit: 100 }, 'audit-trail-query': { limit: 100 } },
  // Record fields serde writes inline in their parent (`#[serde(flatten)]`).
  flattened: { 'referral-view': ['referral'] },
};

const camel = (kebab) => kebab.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());
const snake = (kebab) => kebab.replace(/-/g, '_');
const kebab = (snake_) => snake_.replace(/_/g, '-');
const WEEKDAYS = { mon: 'Mon', tue: 'Tue', wed: 'Wed', thu: 'Thu', fri: 'Fri', sat: 'Sat', sun: 'Sun' };
const TIERS = ['first', 'second', 'third'];

function resolve(t) {
  while (t.kind === 'ref') {
    const def = TYPES.get(t.name);
    if (def) {
      t = def.kind === 'alias' ? def.of : def;
    } else {
      return { kind: 'prim', name: t.name };
    }
  }
  return t;
}

const isStringPairs = (t) =>
  t.kind === 'list' && resolve(t.inner).kind === 'tuple' && resolve(t.inner).items.length === 2;

/** The value serde gives a field absent from the JSON (`#[serde(default)]`). */
function zero(t, owner, field) {
  const special = JSON_FORM.defaults[owner]?.[field];
  if (special !== undefined) return special;
  const r = resolve(t);
  if (r.kind === 'option') return null;
  if (r.kind === 'list') return [];
  if (r.kind === 'prim') {
    if (r.name === 'string') return '';
    if (r.name === 'bool') return false;
    return 0;
  }
  throw new Error(`missing field ${field} of ${owner}`);
}

/** core's JSON value -> the WIT value jco lowers. */
function toWit(t, v) {
  const r = resolve(t);
  switch (r.kind) {
    case 'prim':
      return ['u64', 's64'].includes(r.name) ? BigInt(v) : v;
    case 'option':
      return v === null || v === undefined ? undefined : toWit(r.inner, v);
    case 'list':
      if (isStringPairs(r)) return Object.entries(v);
      return v.map((x) => toWit(r.inner, x));
    case 'tuple':
      return r.items.map((it, k) => toWit(it, v[k]));
    case 'enum':
      if (r.name === 'tier') return TIERS[v - 1];
      if (r.name === 'weekday') return v.slice(0, 3).toLowerCase();
      return kebab(v);
    case 'record': {
      const out = {};
      for (const f of r.fields) {
        let x = v[snake(f.name)];
        if (r.name === 'entry' && f.name === 'digest' && x != null) x = BigInt(`0x${x}`).toString();
        out[camel(f.name)] = toWit(f.type, x === undefined ? zero(f.type, r.name, f.name) : x);
      }
      return out;
    }
    case 'variant': {
      const mode = JSON_FORM.tagging[r.name];
      let tag;
      let payload;
      if (mode === 'external') {
        [[tag, payload]] = Object.entries(v);
      } else if (mode === 'adjacent') {
        [tag, payload] = [v.type, v.value];
      } else {
        const { type, ...fields } = v;
        [tag, payload] = [type, fields];
      }
      const c = r.cases.find((c) => c.name === kebab(tag));
      if (!c) throw new Error(`no case ${tag} in ${r.name}`);
      return c.type ? { tag: c.name, val: toWit(c.type, payload) } : { tag: c.name };
    }
    default:
      throw new Error(`cannot convert ${JSON.stringify(t)}`);
  }
}

/** A WIT value jco lifted -> core's JSON value. */
function fromWit(t, v) {
  const r = resolve(t);
  switch (r.kind) {
    case 'prim':
      return typeof v === 'bigint' ? Number(v) : v;
    case 'option':
      return v === undefined || v === null ? null : fromWit(r.inner, v);
    case 'list':
      if (isStringPairs(r)) return Object.fromEntries(v);
      return v.map((x) => fromWit(r.inner, x));
    case 'tuple':
      return r.items.map((it, k) => fromWit(it, v[k]));
    case 'enum':
      if (r.name === 'tier') return TIERS.indexOf(v) + 1;
      if (r.name === 'weekday') return WEEKDAYS[v];
      return snake(v);
    case 'record': {
      const out = {};
      const skipped = JSON_FORM.skipped[r.name] ?? {};
      for (const f of r.fields) {
        const x = v[camel(f.name)];
        if (f.name in skipped && (x === skipped[f.name] || (x === null && skipped[f.name] === undefined))) {
          continue;
        }
        if (JSON_FORM.flattened[r.name]?.includes(f.name)) {
          Object.assign(out, fromWit(f.type, x));
          continue;
        }
        out[snake(f.name)] =
          r.name === 'entry' && f.name === 'digest' ? x.toString(16).padStart(16, '0') : fromWit(f.type, x);
      }
      return out;
    }
    case 'variant': {
      const c = r.cases.find((c) => c.name === v.tag);
      const mode = JSON_FORM.tagging[r.name];
      const payload = c.type ? fromWit(c.type, v.val) : undefined;
      if (mode === 'external') return { [snake(c.name)]: payload };
      if (mode === 'adjacent') return { type: snake(c.name), value: payload };
      return { type: snake(c.name), ...(payload ?? {}) };
    }
    default:
      throw new Error(`cannot convert ${JSON.stringify(t)}`);
  }
}

const T = (name) => ({ kind: 'ref', name });

// ---------------------------------------------------------------------------
// Comparison, as the Rust runner does it.
// ---------------------------------------------------------------------------

/** JSON equality with numbers compared by value. */
function jsonEq(a, b) {
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, k) => jsonEq(x, b[k]));
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && jsonEq(a[k], b[k]));
  }
  return a === b;
}

function firstEventDifference(e, o) {
  const ee = e?.ok?.events;
  const oe = o?.ok?.events;
  if (!Array.isArray(ee) || !Array.isArray(oe)) return null;
  for (let k = 0; k < Math.min(ee.length, oe.length); k++) {
    if (!jsonEq(ee[k], oe[k])) {
      return `event ${k}: expected ${JSON.stringify(ee[k])}\n     got ${JSON.stringify(oe[k])}`;
    }
  }
  return `${ee.length} events expected, ${oe.length} produced`;
}

// ---------------------------------------------------------------------------
// The jco face.
// ---------------------------------------------------------------------------

rmSync(OUT, { recursive: true, force: true });
const { files } = await transpile(readFileSync(COMPONENT), { name: 'enlace', quiet: true });
for (const [name, bytes] of Object.entries(files)) {
  mkdirSync(dirname(join(OUT, name)), { recursive: true });
  writeFileSync(join(OUT, name), bytes);
}
const { api, exchange } = await import(pathToFileURL(join(OUT, 'enlace.js')).href);
const { Engine } = api;

/** Calls a `result`-returning export; jco throws the `err` payload. */
function attempt(call, okKey, okType) {
  try {
    return { [okKey]: fromWit(okType, call()) };
  } catch (e) {
    if (e?.payload === undefined) throw e;
    return { error: fromWit(T('error'), e.payload) };
  }
}

/**
 * `execute` returns `executed`: the new entry (whose `seq` and `events` are
 * the outcome) or a replayed outcome, in one call. Both become core's
 * outcome here; the entry is checked against the journal's last one.
 */
function execute(engine, request) {
  const out = attempt(() => engine.execute(toWit(T('request'), request)), 'ok', T('executed'));
  if (!out.ok) return out;
  if (out.ok.recorded) {
    const entry = out.ok.recorded;
    const last = fromWit(T('entry'), engine.entriesAfter(engine.seq() - 1n)[0]);
    if (!jsonEq(entry, last)) {
      throw new Error(`execute returned ${JSON.stringify(entry)}, not the journal's last entry ${JSON.stringify(last)}`);
    }
    return { ok: { seq: entry.seq, events: entry.events, replayed: false } };
  }
  return { ok: out.ok.replayed };
}

function query(engine, step) {
  const actor = toWit(T('actor'), step.actor);
  const q = toWit(T('query'), step.query);
  return attempt(() => engine.query(actor, q, step.at), 'answer', T('answer'));
}

/** Plays one scenario; returns a failure message or null. */
function play(scenario) {
  const engine = new Engine();
  scenario.seed.forEach((request, k) => {
    const out = execute(engine, request);
    if (!out.ok) throw new Error(`seed request ${k} refused: ${JSON.stringify(out)}`);
  });
  const outcomes = scenario.steps.map((step) => (step.request ? execute(engine, step.request) : query(engine, step)));
  const head = engine.head();

  const expected = JSON.parse(readFileSync(join(ROOT, scenario.expected), 'utf8'));
  if (expected.outcomes.length !== outcomes.length) {
    return `expected ${expected.outcomes.length} outcomes, got ${outcomes.length}`;
  }
  for (let k = 0; k < outcomes.length; k++) {
    if (!jsonEq(expected.outcomes[k], outcomes[k])) {
      const detail =
        firstEventDifference(expected.outcomes[k], outcomes[k]) ??
        `expected ${JSON.stringify(expected.outcomes[k])}\n     got ${JSON.stringify(outcomes[k])}`;
      return `step ${k} differs: ${detail}`;
    }
  }
  if (expected.head !== head) return `journal head differs: expected ${expected.head}, got ${head}`;

  // The journal through jco: typed out, typed back in, and core's JSON.
  const entries = engine.entriesAfter(0n);
  const rebuilt = Engine.fromEntries(entries);
  if (rebuilt.head() !== head || rebuilt.seq() !== engine.seq()) {
    return `an engine rebuilt from entriesAfter(0) has head ${rebuilt.head()}, not ${head}`;
  }
  const typed = entries.map((e) => fromWit(T('entry'), e));
  const json = JSON.parse(engine.journalJson());
  const k = typed.findIndex((e, n) => !jsonEq(e, json[n]));
  if (typed.length !== json.length || k >= 0) {
    return `entriesAfter(0) and journalJson() differ at entry ${k}: ${JSON.stringify(typed[k])}\n     vs ${JSON.stringify(json[k])}`;
  }
  const verification = engine.verify();
  if (verification.broken !== undefined || verification.head !== head) {
    return `verify() = ${JSON.stringify(fromWit(T('verification'), verification))}`;
  }
  rebuilt[Symbol.dispose]();
  engine[Symbol.dispose]();
  return null;
}

const scenarios = JSON.parse(readFileSync(SCENARIOS, 'utf8'));
let passed = 0;
let failed = 0;
for (const scenario of scenarios) {
  let failure;
  try {
    failure = play(scenario);
  } catch (e) {
    failure = `threw ${e?.stack ?? e}`;
  }
  if (failure) {
    failed++;
    console.log(`FAIL ${scenario.name}: ${failure}`);
  } else {
    passed++;
    console.log(`ok   ${scenario.name} (${scenario.steps.length} steps, typed WIT interface)`);
  }
}
// The `exchange` interface on the golden vectors of signed exchange: the
// same seals as native core, the same signers, the same refusals of seals
// (the component reads no records: see the WIT).
{
  const vectors = JSON.parse(readFileSync(join(ROOT, 'tests/vectors/exchange.json'), 'utf8'));
  const utf8 = (s) => new TextEncoder().encode(s);
  const peers = vectors.trust.peers.map((p) => ({
    agency: p.agency,
    endpoint: p.endpoint,
    keys: p.keys.map((k) => ({ kid: k.kid, x: k.x, notBefore: k.not_before, notAfter: k.not_after, revokedAt: k.revoked_at })),
  }));
  const verify = (seal, payload, at) => {
    try {
      return { ok: exchange.verifySeal(peers, seal, utf8(payload), at) };
    } catch (e) {
      if (e?.payload === undefined) throw e;
      return { error: e.payload.code };
    }
  };
  const failures = [];
  for (const v of vectors.sealed) {
    const seed = Buffer.from(vectors.keys[v.key].d, 'base64url');
    const seal = exchange.sealRecord(seed, utf8(v.payload));
    if (seal !== v.seal) failures.push(`${v.name}: seal differs`);
    const out = verify(v.seal, v.payload, v.at);
    if (!out.ok || out.ok.agency !== v.signer.agency || out.ok.kid !== v.signer.kid) failures.push(`${v.name}: ${JSON.stringify(out)}`);
  }
  const aboutTheRecord = ['payload_not_canonical', 'payload_malformed', 'sender_not_signer'];
  for (const v of vectors.refused) {
    const out = verify(v.seal, v.payload, v.at);
    const expected = aboutTheRecord.includes(v.code) ? undefined : v.code;
    if (out.error !== expected) failures.push(`${v.name}: ${JSON.stringify(out)}, expected ${expected ?? 'a good seal'}`);
  }
  if (failures.length) {
    failed++;
    console.log(`FAIL exchange vectors: ${failures.join('; ')}`);
  } else {
    passed++;
    console.log(`ok   exchange vectors (${vectors.sealed.length} sealed, ${vectors.refused.length} refused, exchange interface)`);
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
