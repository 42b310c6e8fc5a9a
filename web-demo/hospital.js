// The hospital's views: the incoming worklist sorted by deadline, and a
// referral's page, which serves both ends of the loop: the destination
// accepts, rejects, redirects, escalates, schedules, marks arrival or
// no-show and writes the counter-referral; the origin follows the timeline,
// acknowledges the counter-referral and books the follow-up.
//
// The page decides none of it: each panel is drawn because the engine's
// answer lists its action (`actions` of the referral and of its
// appointment), and the lists of reasons and outcomes are the engine's own
// (./generated/enums.js, written by `cargo xtask codegen`).

import { t, formatInstant, formatDuration } from "./i18n.js";
import { errorText } from "./refusals.js";
import { h, field, input, select, button, outcomeArea, showOutcome, list, plusDays } from "./ui.js";
import { slotCalendar } from "./calendar.js";
import { REJECT_REASONS, CARE_OUTCOMES } from "./generated/enums.js";

function statusBadge(s) {
  return h("span", { class: "status", dataset: { status: s } }, t(`st_${s}`));
}

/** "3 h 10 min left" or "Overdue by 2 h", as text and a mark that is not colour alone. */
export function timeLeft(minutes) {
  return minutes < 0
    ? h("span", { class: "overdue-mark" }, `⚠ ${t("overdue_by", { t: formatDuration(minutes) })}`)
    : h("span", { class: "left-mark" }, t("left", { t: formatDuration(minutes) }));
}

const WORKLIST_COLUMNS = ["#", "priority", "service", "beneficiary", "origin", "status", "deadline", "time_left"];
/** Rows per group: groups off screen are skipped by layout (`content-visibility: auto`). */
const GROUP = 40;

/**
 * A worklist (`WorkItem[]`) as an ARIA table of CSS-grid rows, in groups of
 * rows that the browser lays out only when they scroll into view, so that
 * 1,000 referrals render in one short task.
 */
export function worklistTable(ctx, items) {
  const tz = ctx.tz;
  const table = h("div", { role: "table", id: "worklist", "aria-label": t("view_worklist"), "aria-rowcount": items.length + 1 });
  table.append(
    h(
      "div",
      { role: "rowgroup", class: "wl-head" },
      h("div", { role: "row", class: "wl-row", "aria-rowindex": 1 }, ...WORKLIST_COLUMNS.map((k) => h("span", { role: "columnheader" }, k === "#" ? k : t(k)))),
    ),
  );
  const frag = document.createDocumentFragment();
  for (let g = 0; g < items.length; g += GROUP) {
    const group = h("div", { role: "rowgroup", class: "wl-group" });
    for (let i = g; i < g + GROUP && i < items.length; i++) {
      const w = items[i];
      const row = document.createElement("div");
      row.setAttribute("role", "row");
      row.setAttribute("aria-rowindex", i + 2);
      row.className = w.minutes_left < 0 ? "wl-row overdue" : "wl-row";
      row.dataset.referral = w.referral;
      row.append(
        h("span", { role: "cell" }, h("a", { href: `#referral/${w.referral}` }, `${t("open")} ${w.referral}`)),
        h("span", { role: "cell" }, t(`pr_${w.priority}`)),
        h("span", { role: "cell" }, ctx.serviceName(w.service)),
        h("span", { role: "cell", class: "mono" }, w.beneficiary),
        h("span", { role: "cell" }, ctx.facilityName(w.origin)),
        h("span", { role: "cell" }, statusBadge(w.status)),
        h("span", { role: "cell" }, formatInstant(w.deadline, tz)),
        h("span", { role: "cell" }, timeLeft(w.minutes_left)),
      );
      group.append(row);
    }
    frag.append(group);
  }
  table.append(frag);
  return table;
}

/** The incoming worklist of the actor's facility, most pressing first. */
export async function worklist(ctx) {
  const root = h("div", null, h("h1", null, t("view_worklist")));
  const out = await ctx.query({ type: "worklist", facility: ctx.actor.facility, limit: 1000 });
  if (!out.answer) {
    root.append(h("p", { class: "outcome error", role: "alert", dataset: { code: out.error.code } }, errorText(out.error)));
    return root;
  }
  const w = out.answer.value;
  root.append(h("p", { id: "worklist-summary" }, t("worklist_summary", { total: w.total, overdue: w.overdue })));
  if (w.items.length < w.total) root.append(h("p", { class: "muted" }, t("showing_first", { n: w.items.length })));
  root.append(w.items.length ? worklistTable(ctx, w.items) : h("p", null, t("none")));
  return root;
}

// --- one referral ---------------------------------------------------------------

function summaryList(ctx, r) {
  const zone = ctx.facilityZone(r.destination);
  const dl = h("dl", { class: "grid2" });
  const add = (k, v) => dl.append(h("div", null, h("dt", null, k), h("dd", null, v)));
  add(t("status"), statusBadge(r.status));
  add(t("beneficiary"), r.beneficiary);
  add(t("service"), ctx.serviceName(r.service));
  add(t("priority"), t(`pr_${r.priority}`));
  add(t("origin"), ctx.facilityName(r.origin));
  add(t("destination"), ctx.facilityName(r.destination));
  add(t("f_icd10"), r.reason.icd10.join(", "));
  add(t("f_reason_text"), r.reason.text);
  add(t("deadline"), formatInstant(r.accepted_at ? r.appointment_due : r.accept_due, zone));
  if (r.first_appointment_start) add(t("when"), formatInstant(r.first_appointment_start, zone));
  if (r.attachments.length) add(t("f_attachments"), r.attachments.map((a) => `${a.title} (${a.media_type}, ${a.id})`).join("; "));
  return dl;
}

function timeline(ctx, r) {
  return h(
    "ol",
    { class: "timeline", "aria-label": t("timeline") },
    ...r.timeline.map((s) =>
      h(
        "li",
        null,
        h("strong", null, t(`st_${s.status}`)),
        ` — ${formatInstant(s.at, ctx.facilityZone(s.facility ?? r.origin))} — ${s.user} (${t(`role_${s.role}`)}${s.facility ? `, ${ctx.facilityName(s.facility)}` : ""})`,
        s.note ? h("div", { class: "muted" }, /^\d{4}-\d{2}-\d{2}T/.test(s.note) ? formatInstant(s.note, ctx.facilityZone(s.facility ?? r.destination)) : s.note) : null,
      ),
    ),
  );
}

function counterReferral(ctx, c) {
  return h(
    "section",
    { class: "panel", "aria-labelledby": "cr-h", id: "counter-referral" },
    h("h2", { id: "cr-h" }, t("counter_referral")),
    h("p", null, `${t("diagnoses")}: ${c.summary.diagnoses.join(", ")}`),
    h("p", null, `${t("procedures")}: ${c.summary.procedures.join(", ") || "—"}`),
    h("p", null, `${t("outcome")}: ${t(`co_${c.summary.outcome}`)}`),
    h("p", null, `${t("summary")}: ${c.summary.text}`),
    h("p", null, `${t("instructions")}: ${c.instructions}`),
    c.follow_up ? h("p", { id: "follow-up" }, t("follow_up", { service: ctx.serviceName(c.follow_up.service), days: c.follow_up.within_days })) : null,
  );
}

/** A button whose command's outcome shows in `scope`; re-renders on success. */
function act(ctx, scope, label, command, success, attrs) {
  return button(label, async () => {
    const out = await ctx.exec(typeof command === "function" ? command() : command);
    if (showOutcome(scope, out, success) && out.ok) ctx.rerender();
  }, attrs);
}

/**
 * Whether the engine lets the asking actor take `action` now: every answer
 * about a referral or an appointment lists them (`actions`), from the very
 * table its decisions check. The page offers those and nothing else.
 */
function may(x, action) {
  return (x?.actions ?? []).includes(action);
}

/** The destination's decision: receive, accept, reject, redirect, escalate, close. */
function destinationActions(ctx, r) {
  const panels = [];
  if (may(r, "receive") || may(r, "accept")) {
    const quick = h("section", { class: "panel", "aria-labelledby": "dec-h" }, h("h2", { id: "dec-h" }, t("actions")));
    const row = h("div", { class: "row-actions" });
    if (may(r, "receive")) row.append(act(ctx, quick, t("receive"), { type: "receive_referral", referral: r.id }, t("done"), { class: "secondary", id: "receive" }));
    if (may(r, "accept")) {
      const note = input({ autocomplete: "off" });
      quick.append(h("div", null, field(t("accept_note"), note, "note")));
      row.append(act(ctx, quick, t("accept"), () => ({ type: "accept_referral", referral: r.id, note: note.value }), t("done"), { id: "accept" }));
    }
    quick.append(row, outcomeArea());
    panels.push(quick);
  }
  if (may(r, "reject")) {
    const reason = select(REJECT_REASONS.map((x) => [x, t(`rr_${x}`)]));
    const text = input({ autocomplete: "off" });
    const rej = h("section", { class: "panel", "aria-labelledby": "rej-h" }, h("h2", { id: "rej-h" }, t("reject")), field(t("reject_reason"), reason, "reason"), field(t("reject_text"), text, "text"));
    rej.append(act(ctx, rej, t("reject"), () => ({ type: "reject_referral", referral: r.id, reason: reason.value, text: text.value }), t("done"), { id: "reject" }), outcomeArea());
    panels.push(rej);
  }
  if (may(r, "redirect") || may(r, "escalate")) {
    // Every facility of the network: which ones may take the referral is
    // the engine's to say (service, agreement, coverage), and it says why not.
    const why = input({ autocomplete: "off" });
    const title = [may(r, "redirect") ? t("redirect") : null, may(r, "escalate") ? t("escalate") : null].filter(Boolean).join(" / ");
    const move = h("section", { class: "panel", "aria-labelledby": "mv-h" }, h("h2", { id: "mv-h" }, title));
    const row = h("div", { class: "row-actions" });
    if (may(r, "redirect")) {
      const to = select([...ctx.facilities.values()].map((f) => [f.id, `${f.name} (${f.id})`]));
      move.append(field(t("redirect_to"), to, "to"));
      row.append(act(ctx, move, t("redirect"), () => ({ type: "redirect_referral", referral: r.id, to: to.value, reason: why.value }), t("done"), { class: "secondary", id: "redirect" }));
    }
    if (may(r, "escalate")) row.append(act(ctx, move, t("escalate"), () => ({ type: "escalate_referral", referral: r.id, to: null, reason: why.value }), t("done"), { class: "secondary", id: "escalate" }));
    move.append(field(t("reason"), why, "reason"), row, outcomeArea());
    panels.push(move);
  }
  return panels;
}

/** A panel with a reason and one button, for closing or cancelling a referral. */
function reasonPanel(ctx, r, { id, title, command, success }) {
  const why = input({ autocomplete: "off" });
  const p = h("section", { class: "panel", "aria-labelledby": `${id}-h`, id }, h("h2", { id: `${id}-h` }, title), field(t("reason"), why, "reason"));
  p.append(act(ctx, p, title, () => ({ type: command, referral: r.id, reason: why.value }), success, { class: "secondary", id: `${id}-button` }), outcomeArea());
  return p;
}

async function scheduleCalendar(ctx, r) {
  const panel = h("section", { class: "panel", "aria-labelledby": "sch-h", id: "schedule" }, h("h2", { id: "sch-h" }, t("schedule_calendar")), outcomeArea());
  const from = ctx.now();
  const out = await ctx.query({
    type: "free_slots",
    service: r.service,
    facilities: [r.destination],
    from: new Date(from).toISOString(),
    to: new Date(plusDays(from, 14)).toISOString(),
    limit: 500,
    for_referral: true,
  });
  if (!showOutcome(panel, out, "")) return panel;
  panel.append(
    slotCalendar(out.answer.value, ctx.facilityZone, async (slot) => {
      const res = await ctx.exec({ type: "schedule_referral", referral: r.id, agenda: slot.agenda, start: slot.start });
      const ev = res.ok?.events.find((e) => e.type === "referral_scheduled");
      if (showOutcome(panel, res, t("scheduled", { id: ev?.appointment })) && res.ok) ctx.rerender();
    }, t("schedule_calendar")),
  );
  return panel;
}

/**
 * The referral's appointment, when and how it stands, with the visit steps
 * the engine allows on it now (arrival from a day before the start, no-show
 * after it, care recorded by a clinician once the patient arrived): none of
 * them is decided here. Cancelling or moving it is done from the patient's
 * page.
 */
async function visitPanel(ctx, r) {
  const out = await ctx.query({ type: "beneficiary_appointments", beneficiary: r.beneficiary });
  const a = out.answer?.value.find((x) => x.id === r.appointment);
  if (!a) return null;
  const panel = h("section", { class: "panel", "aria-labelledby": "vis-h", id: "visit", dataset: { appointment: a.id, status: a.status } }, h("h2", { id: "vis-h" }, `${t("appointments")} #${a.id}`));
  panel.append(h("p", null, `${formatInstant(a.start, ctx.facilityZone(a.facility))} — `, statusBadge(a.status)));
  const row = h("div", { class: "row-actions" });
  if (may(a, "mark_arrived")) row.append(act(ctx, panel, t("arrived"), { type: "mark_arrived", appointment: a.id }, t("done"), { id: "arrive" }));
  if (may(a, "mark_no_show")) row.append(act(ctx, panel, t("no_show"), { type: "mark_no_show", appointment: a.id }, t("done"), { class: "secondary", id: "no-show" }));
  if (may(a, "mark_fulfilled")) row.append(act(ctx, panel, t("fulfil"), { type: "mark_fulfilled", appointment: a.id }, t("done"), { class: "secondary", id: "fulfil" }));
  panel.append(row, outcomeArea());
  return panel;
}

function counterForm(ctx, r) {
  const f = {
    diagnoses: input({ value: r.reason.icd10.join(", "), autocomplete: "off" }),
    procedures: input({ autocomplete: "off" }),
    outcome: select(CARE_OUTCOMES.map((o) => [o, t(`co_${o}`)]), { value: "improved" }),
    text: h("textarea", { rows: 3 }),
    instructions: h("textarea", { rows: 2 }),
    service: select([["", "—"], ...[...ctx.services.values()].filter((s) => ctx.facilities.get(r.origin)?.services.includes(s.code)).map((s) => [s.code, ctx.serviceName(s.code)])]),
    days: input({ type: "number", min: 1, value: 7 }),
  };
  const form = h(
    "form",
    { class: "panel", "aria-labelledby": "cf-h", id: "counter-form" },
    h("h2", { id: "cf-h" }, t("write_counter")),
    field(t("f_diagnoses"), f.diagnoses, "summary.diagnoses"),
    field(t("f_procedures"), f.procedures, "summary.procedures"),
    field(t("outcome"), f.outcome, "summary.outcome"),
    field(t("f_summary"), f.text, "summary.text"),
    field(t("f_instructions"), f.instructions, "instructions"),
    field(t("f_follow_service"), f.service, "follow_up.service follow_up"),
    field(t("f_follow_days"), f.days, "follow_up.within_days"),
    h("button", { type: "submit" }, t("send_counter")),
    outcomeArea(),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const counter_referral = {
      summary: { diagnoses: list(f.diagnoses.value), procedures: list(f.procedures.value), outcome: f.outcome.value, text: f.text.value },
      instructions: f.instructions.value,
      follow_up: f.service.value ? { service: f.service.value, within_days: Number(f.days.value), note: "" } : null,
    };
    const out = await ctx.exec({ type: "send_counter_referral", referral: r.id, counter_referral });
    if (showOutcome(form, out, t("counter_sent")) && out.ok) ctx.rerender();
  });
  return form;
}

/** The origin's side: acknowledge the counter-referral, book the follow-up it asks for. */
async function originActions(ctx, r) {
  const panels = [];
  if (may(r, "acknowledge")) {
    const p = h("section", { class: "panel", "aria-labelledby": "ack-h" }, h("h2", { id: "ack-h" }, t("acknowledge")));
    p.append(act(ctx, p, t("acknowledge"), { type: "acknowledge_counter_referral", referral: r.id }, t("acknowledged"), { id: "acknowledge" }), outcomeArea());
    panels.push(p);
  }
  // The follow-up is booked in the origin's agendas, which the engine
  // checks (the service asked for, not yet booked, staff of the origin).
  const follow = r.counter_referral?.follow_up;
  if (follow && r.follow_up_appointment === null && ctx.actor.facility === r.origin) {
    const p = h("section", { class: "panel", "aria-labelledby": "fu-h", id: "follow-up-booking" }, h("h2", { id: "fu-h" }, t("book_follow_up")), outcomeArea());
    const from = ctx.now();
    const out = await ctx.query({
      type: "free_slots",
      service: follow.service,
      facilities: [r.origin],
      from: new Date(from).toISOString(),
      to: new Date(plusDays(from, follow.within_days)).toISOString(),
      limit: 200,
    });
    if (showOutcome(p, out, "")) {
      p.append(
        slotCalendar(out.answer.value, ctx.facilityZone, async (slot) => {
          const res = await ctx.exec({ type: "book_appointment", agenda: slot.agenda, start: slot.start, beneficiary: r.beneficiary, follow_up_of: r.id });
          const ev = res.ok?.events.find((e) => e.type === "appointment_booked");
          if (showOutcome(p, res, t("follow_up_booked", { id: ev?.appointment })) && res.ok) ctx.rerender();
        }, t("book_follow_up")),
      );
    }
    panels.push(p);
  }
  if (r.follow_up_appointment !== null) panels.push(h("p", { class: "outcome ok", id: "follow-up-done" }, t("follow_up_booked", { id: r.follow_up_appointment })));
  if (may(r, "cancel")) panels.push(reasonPanel(ctx, r, { id: "cancel-referral", title: t("cancel_referral"), command: "cancel_referral", success: t("referral_cancelled") }));
  return panels;
}

/** One referral: what it is, its timeline, and what the actor can do next. */
export async function referral(ctx, id) {
  const root = h("div");
  const out = await ctx.query({ type: "referral", referral: Number(id) });
  if (!out.answer) {
    root.append(h("h1", null, t("referral", { id })), h("p", { class: "outcome error", role: "alert", dataset: { code: out.error.code } }, errorText(out.error)));
    return root;
  }
  const r = out.answer.value;
  root.dataset.referral = r.id;
  root.dataset.status = r.status;
  root.append(h("h1", null, t("referral", { id: r.id })), summaryList(ctx, r));
  if (out.stale) root.append(h("p", { class: "banner" }, t("offline_cached")));
  // Every panel below is there because the answer lists its action.
  root.append(...destinationActions(ctx, r));
  if (may(r, "schedule")) root.append(await scheduleCalendar(ctx, r));
  if (r.appointment) {
    const visit = await visitPanel(ctx, r);
    if (visit) root.append(visit);
  }
  if (may(r, "send_counter_referral")) root.append(counterForm(ctx, r));
  if (may(r, "close")) root.append(reasonPanel(ctx, r, { id: "close-referral", title: t("close_referral"), command: "close_referral", success: t("referral_closed") }));
  if (r.counter_referral) root.append(counterReferral(ctx, r.counter_referral));
  root.append(...(await originActions(ctx, r)));
  root.append(h("h2", null, t("timeline")), timeline(ctx, r));
  return root;
}
