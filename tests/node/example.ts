// A small page-side use of the browser package, type-checked by
// `tsc --noEmit` against the generated declarations (dist/web/enlace.d.ts).
// Every command, event, query, answer and error below is typed from the
// Rust types: a misspelt field or an unhandled case is a compile error.

import init, { Engine, demoActors, demoStart, seedDemoNetwork } from "../../dist/web/enlace.js";
import type {
  Actor,
  ChainBrokenError,
  Command,
  Entry,
  ErrorBody,
  Event as EnlaceEvent,
  ExecuteResult,
  FreeSlot,
  Query,
  Request as EnlaceRequest,
} from "../../dist/web/enlace.js";

await init();

const engine: Engine = seedDemoNetwork();
const actors: Record<string, Actor> = demoActors();
const clerk = actors["clinic-clerk"];
const clinician = actors["clinic-clinician"];
if (!clerk || !clinician) throw new Error("demo actors missing");
const start = demoStart();

/** A line for the activity feed: every event type has its own fields. */
function describe(event: EnlaceEvent): string {
  switch (event.type) {
    case "appointment_booked":
      return `appointment ${event.appointment} at ${event.start} (${event.agenda})${event.overbooked ? ", overbooked" : ""}`;
    case "referral_created":
      return `referral ${event.referral} to ${event.destination}, accept by ${event.accept_due}`;
    case "counter_referral_sent":
      return `counter-referral for ${event.referral}: ${event.counter_referral.summary.outcome}`;
    case "waitlist_slot_offered":
      return `offer ${event.start} to ${event.beneficiary}`;
    default:
      return event.type;
  }
}

/** A user-facing message from the stable error code and its details. */
function explain(error: ErrorBody): string {
  switch (error.code) {
    case "slot_full":
      return `That time is taken (${error.details["start"] ?? "?"}); pick another.`;
    case "not_permitted":
      return `A ${error.details["role"] ?? "user"} may not do that.`;
    default:
      return error.message;
  }
}

function run(actor: Actor, at: string, command: Command, key?: string): EnlaceEvent[] {
  const request: EnlaceRequest = { actor, at, command, ...(key ? { key } : {}) };
  const out: ExecuteResult = engine.execute(request);
  if ("error" in out) {
    console.warn(explain(out.error));
    return [];
  }
  console.log(`#${out.ok.seq}${out.ok.replayed ? " (replayed)" : ""}`);
  return out.ok.events;
}

// Find the earliest free general-practice slots of the clinic.
const search: Query = {
  type: "free_slots",
  service: "gp",
  facilities: ["F0001"],
  from: "2026-03-03T00:00:00Z",
  to: "2026-03-10T00:00:00Z",
  limit: 3,
};
const found = engine.query(clerk, search, new Date(start));
let slots: FreeSlot[] = [];
if ("answer" in found && found.answer.type === "free_slots") slots = found.answer.value;
else if ("error" in found) console.warn(explain(found.error));

const first = slots[0];
if (first) {
  for (const e of run(clerk, "2026-03-02T13:00:00Z", {
    type: "book_appointment",
    agenda: first.agenda,
    start: first.start,
    beneficiary: "MX-10000000",
  }, "book-MX-10000000")) console.log(describe(e));
}

// Refer a high-risk pregnancy to the best second-level hospital.
run(clinician, "2026-03-02T13:05:00Z", {
  type: "create_referral",
  beneficiary: "MX-10000000",
  service: "obs-hr",
  destination: { tier: 2 },
  priority: "urgent",
  reason: { icd10: ["O14.1"], text: "Severe pre-eclampsia at 32 weeks" },
});

// Persist and restore; a tampered journal is refused with the entry named.
const saved: Entry[] = engine.journal();
try {
  const restored = Engine.fromJournal(saved);
  console.log(restored.head() === engine.head(), restored.seq, restored.verify().broken);
} catch (e) {
  const broken = e as ChainBrokenError;
  if (broken.code === "chain_broken") console.error(`entry ${broken.details.seq}: ${broken.details.reason}`);
}
const check = Engine.verifyJournal(engine.entriesAfter(0));
console.log(check.entries, check.head, check.broken?.reason ?? "intact");
