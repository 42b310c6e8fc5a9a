// The shared scenario corpus against the browser package (dist/web) in Node.
//
//   cargo run -p enlace-tests --bin expand_scenarios   # writes dist/scenarios.json
//   cargo xtask build                                   # writes dist/web/
//   node tests/node/run-scenarios.mjs [dist/scenarios.json]
//
// Every scenario is played on a fresh engine: its seeding requests, then its
// steps (commands and queries), exactly as the native runner plays them. The
// outcomes and the journal head hash must equal the committed
// tests/scenarios/*.expected.json (numbers compared by value). A mismatch
// prints the first differing step and event. Then a few checks of the
// package's own API: journal export/import, chain-break detection, misuse.
// The last line is `N passed, M failed`; the exit code is 1 on any failure.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import {
  initSync, Engine, seedDemoNetwork, demoNetworkRequests, demoActors, demoStart,
} from '../../dist/web/enlace.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
initSync({ module: readFileSync(path.join(root, 'dist/web/enlace_bg.wasm')) });

const corpusPath = path.resolve(process.argv[2] ?? path.join(root, 'dist/scenarios.json'));
const corpus = JSON.parse(readFileSync(corpusPath, 'utf8'));

/** JSON equality that compares numbers by value (1 == 1.0), as the Rust runner does. */
export function jsonEq(a, b) {
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length
      && a.every((x, i) => jsonEq(x, b[i]));
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length
      && ka.every((k) => Object.hasOwn(b, k) && jsonEq(a[k], b[k]));
  }
  return a === b;
}

const show = (v) => {
  const s = JSON.stringify(v);
  return s.length > 2000 ? `${s.slice(0, 2000)}…` : s;
};

/** Executes a request the way the native Face does: misuse becomes `malformed`. */
function execute(engine, request) {
  try {
    return engine.execute(request);
  } catch (e) {
    if (e instanceof TypeError) return { error: { code: 'malformed', message: e.message, details: {} } };
    throw e;
  }
}

function query(engine, actor, q, now) {
  try {
    return engine.query(actor, q, now);
  } catch (e) {
    if (e instanceof TypeError) return { error: { code: 'malformed', message: 'bad query', details: {} } };
    throw e;
  }
}

/** Plays an expanded scenario; returns the engine, the step outcomes and the head. */
function play(scenario) {
  const engine = new Engine();
  scenario.seed.forEach((request, i) => {
    const out = execute(engine, request);
    if (!('ok' in out)) throw new Error(`seed request ${i} refused: ${show(out)}`);
  });
  const outcomes = scenario.steps.map((step) => ('request' in step
    ? execute(engine, step.request)
    : query(engine, step.actor, step.query, step.at)));
  return { engine, outcomes, head: engine.head() };
}

/** The first difference between expected and actual outcomes, or null. */
function firstDifference(expected, outcomes, head) {
  const exp = expected.outcomes ?? [];
  if (exp.length !== outcomes.length) {
    return `expected ${exp.length} outcomes, got ${outcomes.length}`;
  }
  for (let i = 0; i < exp.length; i++) {
    const e = exp[i];
    const o = outcomes[i];
    if (jsonEq(e, o)) continue;
    const ee = e?.ok?.events;
    const oe = o?.ok?.events;
    if (Array.isArray(ee) && Array.isArray(oe)) {
      for (let k = 0; k < Math.min(ee.length, oe.length); k++) {
        if (!jsonEq(ee[k], oe[k])) {
          return `step ${i} differs: event ${k}: expected ${show(ee[k])}\n     got ${show(oe[k])}`;
        }
      }
      if (ee.length !== oe.length) {
        return `step ${i} differs: ${ee.length} events expected, ${oe.length} produced`;
      }
    }
    return `step ${i} differs: expected ${show(e)}\n     got ${show(o)}`;
  }
  if (expected.head !== head) return `journal head differs: expected ${expected.head}, got ${head}`;
  return null;
}

let passed = 0;
let failed = 0;
function check(name, fn) {
  try {
    const problem = fn();
    if (problem) {
      failed++;
      console.log(`FAIL ${name}: ${problem}`);
    } else {
      passed++;
      console.log(`ok   ${name}`);
    }
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: threw ${e?.stack ?? e}`);
  }
}

// ---------------------------------------------------------------- the corpus
const played = [];
for (const scenario of corpus) {
  check(`scenario ${scenario.name}`, () => {
    const expected = JSON.parse(readFileSync(path.join(root, scenario.expected), 'utf8'));
    const run = play(scenario);
    played.push({ scenario, ...run });
    return firstDifference(expected, run.outcomes, run.head);
  });
}
if (corpus.length === 0) {
  failed++;
  console.log(`FAIL corpus: ${corpusPath} holds no scenario`);
}

// ---------------------------------------------------------------- the package's own API
const demo = played.find((p) => p.scenario.seed.length > 0);

check('demoNetworkRequests() is the seed the corpus uses', () => {
  if (!demo) return 'no demo-network scenario in the corpus';
  return jsonEq(demoNetworkRequests(), demo.scenario.seed) ? null : 'the requests differ';
});

check('seedDemoNetwork() holds the same journal as executing the seed', () => {
  if (!demo) return 'no demo-network scenario in the corpus';
  const seeded = seedDemoNetwork();
  const replay = new Engine();
  for (const r of demo.scenario.seed) execute(replay, r);
  if (seeded.head() !== replay.head()) return `heads differ: ${seeded.head()} vs ${replay.head()}`;
  if (seeded.seq !== demo.scenario.seed.length) return `seq ${seeded.seq}, expected ${demo.scenario.seed.length}`;
  const actors = demoActors();
  if (!actors['clinic-clerk'] || actors['clinic-clerk'].role !== 'clerk') return `demoActors(): ${show(actors)}`;
  return /^\d{4}-\d\d-\d\dT/.test(demoStart()) ? null : `demoStart(): ${demoStart()}`;
});

check('journal export and Engine.fromJournal rebuild the same engine', () => {
  for (const { scenario, engine, head } of played) {
    const journal = JSON.parse(JSON.stringify(engine.journal())); // as a page would persist it
    const again = Engine.fromJournal(journal);
    if (again.head() !== head) return `${scenario.name}: head ${again.head()} != ${head}`;
    const v = again.verify();
    if (v.broken !== null || v.head !== head || v.entries !== journal.length) {
      return `${scenario.name}: verify() = ${show(v)}`;
    }
    const tail = engine.entriesAfter(Math.max(0, engine.seq - 3));
    if (tail.length !== Math.min(3, engine.seq) || (tail.length && tail.at(-1).hash !== head)) {
      return `${scenario.name}: entriesAfter gave ${tail.length} entries`;
    }
    // The rebuilt engine answers like the original: a retry is replayed.
    const last = scenario.steps.findLast((s) => 'request' in s && s.request.key);
    if (last) {
      const a = execute(engine, last.request);
      const b = execute(again, last.request);
      if (!jsonEq(a, b)) return `${scenario.name}: retry differs after rebuild: ${show(a)} vs ${show(b)}`;
    }
  }
  return null;
});

check('a tampered journal is refused with a ChainBrokenError naming the entry', () => {
  const journal = JSON.parse(JSON.stringify(demo.engine.journal()));
  const k = 10;
  journal[k].at = '2030-01-01T00:00:00Z';
  const v = Engine.verifyJournal(journal);
  if (!v.broken || v.broken.seq !== journal[k].seq || v.broken.reason !== 'hash_mismatch') {
    return `verifyJournal: ${show(v)}`;
  }
  try {
    Engine.fromJournal(journal);
    return 'fromJournal accepted a tampered journal';
  } catch (e) {
    if (!(e instanceof Error) || e.name !== 'ChainBrokenError' || e.code !== 'chain_broken') {
      return `unexpected error ${e}`;
    }
    if (e.details.index !== k || e.details.seq !== journal[k].seq) return `details ${show(e.details)}`;
    if (!e.message.includes(`seq ${journal[k].seq}`)) return `message: ${e.message}`;
  }
  journal.splice(k, 1); // a removed entry
  const gap = Engine.verifyJournal(journal);
  return gap.broken?.reason === 'sequence_gap' ? null : `removal: ${show(gap)}`;
});

check('domain failures are data and change nothing', () => {
  const engine = seedDemoNetwork();
  const before = engine.head();
  const out = engine.execute({
    actor: demoActors()['clinic-clerk'],
    at: '2026-03-02T13:00:00Z',
    command: { type: 'cancel_appointment', appointment: 999, reason: 'x' },
  });
  if (out?.error?.code !== 'unknown_appointment' || out.error.details.appointment !== '999') {
    return `got ${show(out)}`;
  }
  return engine.head() === before ? null : 'the journal changed';
});

check('misuse throws a TypeError that names the field', () => {
  const engine = new Engine();
  const actor = demoActors().admin;
  const cases = [
    [() => engine.execute({ at: '2026-03-02T12:00:00Z', command: { type: 'declare_holiday', date: '2026-05-01', name: 'x' } }), /^request: missing field `actor`/],
    [() => engine.execute({ actor, at: '2026-03-02T12:00:00Z', command: { type: 'no_such_command' } }), /^request\.command\.type: unknown variant `no_such_command`/],
    [() => engine.execute({ actor, at: 'yesterday', command: { type: 'declare_holiday', date: '2026-05-01', name: 'x' } }), /request\.at/],
    [() => engine.execute({ actor: { ...actor, role: 'pope' }, at: '2026-03-02T12:00:00Z', command: { type: 'declare_holiday', date: '2026-05-01', name: 'x' } }), /request\.actor\.role.*pope/],
    [() => engine.query(actor, { type: 'facilities' }, 42), /now/],
    [() => engine.query(actor, { type: 'free_slots' }, '2026-03-02T12:00:00Z'), /query.*service/],
    [() => engine.entriesAfter(-1), /seq/],
    // The same parser as the HTTP API: unknown fields are refused, not skipped.
    [() => engine.execute({ actor, at: '2026-03-02T12:00:00Z', command: { type: 'declare_holiday', date: '2026-05-01', name: 'x', nmae: 'y' } }), /^request(\.command)?: unknown field `nmae`/],
    [() => engine.execute({ actor: { ...actor, rol: 'admin' }, at: '2026-03-02T12:00:00Z', command: { type: 'declare_holiday', date: '2026-05-01', name: 'x' } }), /^request\.actor\.rol: unknown field `rol`/],
    [() => engine.execute(undefined), /^request: expected a value/],
    [() => engine.execute({ actor: { ...actor, user: 1n }, at: '2026-03-02T12:00:00Z', command: { type: 'declare_holiday', date: '2026-05-01', name: 'x' } }), /^request: not JSON data/],
    [() => Engine.fromJournal([{ seq: 'one' }]), /entries\[0\]/],
  ];
  for (const [call, pattern] of cases) {
    try {
      call();
      return `no exception for ${call}`;
    } catch (e) {
      if (!(e instanceof TypeError)) return `${call}: threw ${e} (not a TypeError)`;
      if (!pattern.test(e.message)) return `${call}: message "${e.message}" does not match ${pattern}`;
    }
  }
  return engine.seq === 0 ? null : 'misuse changed the journal';
});

check('a Date is accepted for `now`', () => {
  const engine = seedDemoNetwork();
  const actor = demoActors()['clinic-clerk'];
  const q = { type: 'free_slots', service: 'gp', from: '2026-03-03T00:00:00Z', to: '2026-03-04T00:00:00Z', limit: 3 };
  const a = engine.query(actor, q, new Date('2026-03-02T13:00:00Z'));
  const b = engine.query(actor, q, '2026-03-02T13:00:00Z');
  return jsonEq(a, b) && a.answer?.value?.length === 3 ? null : `${show(a)} vs ${show(b)}`;
});

console.log(`\n${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
