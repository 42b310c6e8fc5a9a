// Lines the generated types must reject. Each `@ts-expect-error` fails the
// `tsc --noEmit` check when the line below it type-checks: if the package's
// declarations ever decay to `any`, this file stops compiling.

import { Engine } from "../../dist/web/enlace.js";
import type { Actor, Command, Query, Request as EnlaceRequest } from "../../dist/web/enlace.js";

const engine = new Engine();
const actor: Actor = { user: "ana", agency: "health-ministry", role: "admin" };

// @ts-expect-error: no such command
const unknownCommand: Command = { type: "book_appointmnet", agenda: "A", start: "2026-03-03T14:00:00Z", beneficiary: "B" };

// @ts-expect-error: `start` is required to book
const missingStart: Command = { type: "book_appointment", agenda: "A", beneficiary: "B" };

// @ts-expect-error: priorities are emergency | urgent | priority | routine
const badPriority: Command = { type: "join_waitlist", beneficiary: "B", service: "gp", priority: "asap" };

// @ts-expect-error: tiers are 1, 2 or 3
const badTier: Query = { type: "suggest_destinations", beneficiary: "B", service: "obs-hr", tier: 4, priority: "urgent" };

// @ts-expect-error: roles are a closed set
const badRole: Actor = { user: "x", agency: "y", role: "pope" };

// @ts-expect-error: a request needs an actor
const noActor: EnlaceRequest = { at: "2026-03-02T12:00:00Z", command: { type: "mark_arrived", appointment: 1 } };

const out = engine.execute({ actor, at: "2026-03-02T12:00:00Z", command: { type: "mark_arrived", appointment: 1 } });
// @ts-expect-error: the outcome may be an error: narrow with `"ok" in out` first
const seq: number = out.ok.seq;

// @ts-expect-error: `now` is a string or a Date
engine.query(actor, { type: "facilities" }, 1_700_000_000);

const res = engine.query(actor, { type: "services" }, "2026-03-02T12:00:00Z");
if ("answer" in res && res.answer.type === "services") {
  // @ts-expect-error: services have a code and a name, not an id
  console.log(res.answer.value[0]?.id);
}

// @ts-expect-error: entriesAfter takes a sequence number
engine.entriesAfter("7");

export { unknownCommand, missingStart, badPriority, badTier, badRole, noActor, seq };
