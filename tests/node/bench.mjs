// Booking and free-slot search through the browser package (dist/web) in
// Node, side by side with the native figures measured just before on the
// same workload by the web_bench binary (`cargo xtask bench-web` runs both).
//
//   node tests/node/bench.mjs dist/bench-web.json
//
// The Node figures include the boundary: JS objects in, JS objects out.
// The run also checks that the package reaches the same journal head and
// the same answers as native core. Nothing here is a pass/fail threshold.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { initSync, Engine } from '../../dist/web/enlace.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const wasmPath = path.join(root, 'dist/web/enlace_bg.wasm');
initSync({ module: readFileSync(wasmPath) });
const work = JSON.parse(readFileSync(process.argv[2] ?? path.join(root, 'dist/bench-web.json'), 'utf8'));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const problems = [];

function jsonEq(a, b) {
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEq(x, b[i]));
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && jsonEq(a[k], b[k]));
  }
  return a === b;
}

// Restoring a page's engine from its journal (verifies every hash).
let t = performance.now();
const seeded = Engine.fromJournal(work.seed_journal);
const restoreMs = performance.now() - t;
if (seeded.head() !== work.seed_head) problems.push('seeded head differs from native');

// Bookings: the same requests on a fresh engine each round; round 0 warms up.
const requests = work.bookings.requests;
const bookUs = [];
let booked;
for (let round = 0; round <= work.rounds; round++) {
  const engine = Engine.fromJournal(work.seed_journal);
  let accepted = 0;
  t = performance.now();
  for (const r of requests) {
    if ('ok' in engine.execute(r)) accepted++;
  }
  const perOp = ((performance.now() - t) * 1000) / requests.length;
  if (round > 0) bookUs.push(perOp);
  if (accepted !== work.bookings.accepted) problems.push(`round ${round}: ${accepted} accepted, native ${work.bookings.accepted}`);
  if (booked) booked.free();
  booked = engine;
}
if (booked.head() !== work.bookings.head) problems.push('journal head after the bookings differs from native');

const rows = [['book_appointment', work.bookings.native_us, median(bookUs)]];

// A retry answered from the journal: mostly the cost of the boundary.
{
  const engine = Engine.fromJournal(work.seed_journal);
  engine.execute(work.retry.request);
  const us = [];
  for (let round = 0; round <= work.rounds; round++) {
    t = performance.now();
    let out;
    for (let i = 0; i < work.retry.per_round; i++) out = engine.execute(work.retry.request);
    if (round > 0) us.push(((performance.now() - t) * 1000) / work.retry.per_round);
    if (!jsonEq(out, { ok: work.retry.outcome })) problems.push('the retry outcome differs from native');
  }
  rows.push(['book_appointment retry (replayed from the journal)', work.retry.native_us, median(us)]);
  engine.free();
}

// Free-slot searches on the booked engine.
for (const q of work.searches.queries) {
  const first = booked.query(q.actor, q.query, q.now);
  if (!jsonEq(first, { answer: q.answer })) problems.push(`${q.name}: answer differs from native`);
  const us = [];
  for (let round = 0; round <= work.rounds; round++) {
    t = performance.now();
    for (let i = 0; i < work.searches.per_round; i++) booked.query(q.actor, q.query, q.now);
    if (round > 0) us.push(((performance.now() - t) * 1000) / work.searches.per_round);
  }
  rows.push([q.name, q.native_us, median(us)]);
}

const n = work.network;
console.log(`network: ${n.facilities} facilities, ${n.agendas} agendas, ${n.beneficiaries} beneficiaries, ${n.journal_entries} setup entries`);
console.log(`browser package: ${path.relative(root, wasmPath)} (${readFileSync(wasmPath).length} bytes), Node ${process.version}`);
console.log(`restore (Engine.fromJournal, ${n.journal_entries} entries, chain verified): ${restoreMs.toFixed(1)} ms`);
console.log(`median of ${work.rounds} rounds (${requests.length} bookings, ${work.retry.per_round} retries, ${work.searches.per_round} searches per query per round):\n`);
const w = Math.max(...rows.map((r) => r[0].length));
console.log(`${'operation'.padEnd(w)}  native µs/op  Node µs/op  ratio`);
for (const [name, native, node] of rows) {
  console.log(`${name.padEnd(w)}  ${native.toFixed(2).padStart(12)}  ${node.toFixed(2).padStart(10)}  ${(node / native).toFixed(2).padStart(4)}×`);
}
if (problems.length) {
  console.log(`\nthe package disagrees with native core:\n  ${problems.join('\n  ')}`);
  process.exitCode = 1;
} else {
  console.log('\nsame journal head and same answers as native core');
}
