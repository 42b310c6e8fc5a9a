// The clinic's views: beneficiaries and bookings in the clinic's own
// agendas, a new referral with the engine's suggested destinations, and the
// referrals the clinic sent. Which steps an appointment offers is the
// engine's answer (`actions`); the lists of values are the engine's own
// (./generated/enums.js).

import { t, formatInstant, formatDate } from "./i18n.js";
import { errorText } from "./refusals.js";
import { h, field, input, select, button, outcomeArea, showOutcome, list, plusDays, nextId, missingRequired } from "./ui.js";
import { slotCalendar } from "./calendar.js";
import { PRIORITIES, SEXES } from "./generated/enums.js";

// What the clerk was doing, kept across re-renders of the view.
const state = { search: "", agenda: null, rescheduling: null, days: 7 };

function statusBadge(s) {
  return h("span", { class: "status", dataset: { status: s } }, t(`st_${s}`));
}

/** Beneficiary search results, each with a Select button. */
function beneficiaryResults(ctx, found, onPick) {
  if (found.length === 0) return h("p", null, t("none"));
  const body = h("tbody");
  for (const b of found) {
    body.append(
      h(
        "tr",
        { dataset: { beneficiary: b.id } },
        h("td", null, b.name),
        h("td", { class: "mono" }, b.id),
        h("td", null, formatDate(b.birth_date)),
        h("td", null, (b.coverage || []).map((c) => c.programme).join(", ")),
        h("td", null, button(t("select"), () => onPick(b), { "aria-label": `${t("select")} ${b.name}` })),
      ),
    );
  }
  return h(
    "table",
    null,
    h("caption", { class: "muted" }, t("results")),
    h("thead", null, h("tr", null, ...["f_name", "f_id", "f_birth_date", "coverage", "actions"].map((k) => h("th", { scope: "col" }, t(k))))),
    body,
  );
}

/** A search form for beneficiaries; `onPick(beneficiary)`. */
export function beneficiaryFinder(ctx, onPick, initial = "") {
  const text = input({ name: "text", value: initial, autocomplete: "off" });
  const results = h("div");
  const form = h("form", { class: "row-search", role: "search" });
  const run = async () => {
    const out = await ctx.query({ type: "find_beneficiaries", text: text.value });
    if (showOutcome(form, out)) {
      form.querySelector(".outcome").textContent = out.stale ? t("offline_cached") : "";
      results.replaceChildren(beneficiaryResults(ctx, out.answer.value, onPick));
    } else results.replaceChildren();
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    state.search = text.value;
    run();
  });
  form.append(field(t("search_beneficiary"), text, "text"), h("button", { type: "submit" }, t("search")), outcomeArea());
  if (initial) queueMicrotask(run);
  return h("div", null, form, results);
}

function registerForm(ctx) {
  const today = new Date(ctx.now()).toISOString().slice(0, 10);
  const f = {
    id: input({ name: "id", autocomplete: "off" }),
    name: input({ name: "name", autocomplete: "off" }),
    birth: input({ type: "date", name: "birth_date", "data-required": true }),
    sex: select(SEXES.map((s) => [s, t(`sex_${s}`)])),
    contact: input({ name: "contact", autocomplete: "off" }),
    programme: input({ name: "programme", value: "bienestar-salud" }),
    agency: input({ name: "agency", value: ctx.actor.agency }),
    from: input({ type: "date", value: today, "data-required": true }),
    to: input({ type: "date" }),
  };
  const form = h(
    "form",
    { "aria-labelledby": "reg-h" },
    h("h2", { id: "reg-h" }, t("register_beneficiary")),
    field(t("f_id"), f.id, "beneficiary.id id"),
    field(t("f_name"), f.name, "beneficiary.name"),
    field(t("f_birth_date"), f.birth, "beneficiary.birth_date"),
    field(t("f_sex"), f.sex, "beneficiary.sex"),
    field(t("f_contact"), f.contact, "beneficiary.contact"),
    field(t("f_programme"), f.programme, "beneficiary.coverage coverage"),
    field(t("f_coverage_agency"), f.agency, "beneficiary.coverage.agency"),
    field(t("f_valid_from"), f.from, "beneficiary.coverage.valid_from"),
    field(t("f_valid_to"), f.to, "beneficiary.coverage.valid_to"),
    h("button", { type: "submit" }, t("register")),
    outcomeArea(),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (missingRequired(form)) return;
    const beneficiary = {
      id: f.id.value.trim(),
      name: f.name.value.trim(),
      birth_date: f.birth.value,
      sex: f.sex.value,
      contact: f.contact.value.trim() || null,
      coverage: f.programme.value.trim()
        ? [{ programme: f.programme.value.trim(), agency: f.agency.value.trim(), valid_from: f.from.value, valid_to: f.to.value || null }]
        : [],
    };
    const out = await ctx.exec({ type: "register_beneficiary", beneficiary });
    if (showOutcome(form, out, t("registered", { id: beneficiary.id })) && out.ok) {
      state.search = beneficiary.id;
    }
  });
  return form;
}

function appointmentsTable(ctx, appts, beneficiary) {
  if (appts.length === 0) return h("p", null, t("none"));
  const body = h("tbody");
  for (const a of appts) {
    const cell = h("td", { class: "row-actions" });
    const row = h(
      "tr",
      { dataset: { appointment: a.id } },
      h("td", null, a.id),
      h("td", null, formatInstant(a.start, ctx.facilityZone(a.facility))),
      h("td", null, `${ctx.facilityName(a.facility)} · ${a.agenda}`),
      h("td", null, ctx.serviceName(a.service)),
      h("td", null, statusBadge(a.status)),
      cell,
    );
    const may = (action) => a.actions.includes(action);
    if (may("cancel")) {
      // The cancel reason is labelled for assistive technology and shows
      // the engine's errors about it right below.
      const reason = input({ "aria-label": `${t("cancel_reason")} (${a.id})`, id: nextId(), placeholder: t("cancel_reason") });
      reason.dataset.field = "reason";
      reason.setAttribute("aria-describedby", `${reason.id}-err`);
      cell.append(
        reason,
        h("p", { class: "field-error", id: `${reason.id}-err`, hidden: true }),
        button(t("cancel"), async () => {
          const out = await ctx.exec({ type: "cancel_appointment", appointment: a.id, reason: reason.value });
          if (showOutcome(row, out, t("cancelled", { id: a.id })) && out.ok) ctx.rerender();
        }, { class: "secondary", "data-action": "cancel" }),
      );
    }
    if (may("reschedule")) {
      cell.append(
        button(t("reschedule"), () => {
          state.rescheduling = a.id;
          state.agenda = a.agenda;
          ctx.rerender();
        }, { class: "secondary", "data-action": "reschedule" }),
      );
    }
    const step = (action, label, command) => {
      if (!may(action)) return;
      cell.append(
        button(label, async () => {
          const out = await ctx.exec({ type: command, appointment: a.id });
          if (showOutcome(row, out, t("done")) && out.ok) ctx.rerender();
        }, { class: "secondary", "data-action": action }),
      );
    };
    step("mark_arrived", t("arrived"), "mark_arrived");
    step("mark_no_show", t("no_show"), "mark_no_show");
    step("mark_fulfilled", t("fulfil"), "mark_fulfilled");
    if (cell.childNodes.length > 0) cell.append(outcomeArea());
    body.append(row);
  }
  return h(
    "table",
    null,
    h("caption", { class: "muted" }, `${t("appointments")} — ${beneficiary.name}`),
    h("thead", null, h("tr", null, ...["#", t("when"), t("where"), t("service"), t("status"), t("actions")].map((k) => h("th", { scope: "col" }, k)))),
    body,
  );
}

async function bookingPanel(ctx, beneficiary) {
  const panel = h("section", { class: "panel", "aria-labelledby": "book-h" });
  const agendas = await ctx.query({ type: "agendas", facility: ctx.actor.facility });
  if (!agendas.answer) {
    showOutcome(panel, agendas);
    return panel;
  }
  const own = agendas.answer.value;
  if (!state.agenda || !own.some((a) => a.id === state.agenda)) state.agenda = own[0]?.id ?? null;
  const sel = select(own.map((a) => [a.id, `${a.id} — ${ctx.serviceName(a.service)} — ${a.practitioner ?? ""}`]), { value: state.agenda });
  sel.addEventListener("change", () => {
    state.agenda = sel.value;
    ctx.rerender();
  });
  const agenda = own.find((a) => a.id === state.agenda);
  const outcome = outcomeArea();
  panel.append(
    h("h2", { id: "book-h" }, state.rescheduling ? t("rescheduling", { id: state.rescheduling }) : t("book_in")),
    field(t("agenda"), sel, "agenda"),
  );
  if (state.rescheduling) {
    panel.append(button(t("stop_reschedule"), () => {
      state.rescheduling = null;
      ctx.rerender();
    }, { class: "secondary" }));
  }
  panel.append(outcome);
  if (state.flash) {
    outcome.className = "outcome ok";
    outcome.textContent = state.flash;
    state.flash = null;
  }
  if (!agenda) return panel;
  const from = ctx.now();
  const slots = await ctx.query({
    type: "free_slots",
    service: agenda.service,
    facilities: [ctx.actor.facility],
    from: new Date(from).toISOString(),
    to: new Date(plusDays(from, state.days)).toISOString(),
    limit: 500,
  });
  if (!slots.answer) {
    showOutcome(panel, slots);
    return panel;
  }
  const mine = slots.answer.value.filter((s) => s.agenda === agenda.id);
  if (slots.stale) panel.append(h("p", { class: "banner" }, t("offline_cached")));
  panel.append(
    h("h3", null, t("free_slots")),
    slotCalendar(mine, ctx.facilityZone, async (slot) => {
      const command = state.rescheduling
        ? { type: "reschedule_appointment", appointment: state.rescheduling, agenda: slot.agenda, start: slot.start, reason: "" }
        : { type: "book_appointment", agenda: slot.agenda, start: slot.start, beneficiary: beneficiary.id };
      const out = await ctx.exec(command);
      const booked = out.ok?.events.find((e) => e.type === "appointment_booked");
      const msg = state.rescheduling ? t("rescheduled", { id: booked?.appointment }) : t("booked", { id: booked?.appointment });
      if (showOutcome(panel, out, msg) && out.ok) {
        // The view is drawn again with the new appointment; the message stays.
        state.rescheduling = null;
        state.flash = msg;
        ctx.rerender();
      }
    }, t("free_slots")),
  );
  return panel;
}

function waitlistForm(ctx, beneficiary) {
  const services = [...ctx.services.values()].filter((s) => ctx.facility?.services.includes(s.code));
  const service = select(services.map((s) => [s.code, ctx.serviceName(s.code)]));
  const priority = select(PRIORITIES.map((p) => [p, t(`pr_${p}`)]), { value: "routine" });
  const form = h(
    "form",
    { class: "panel", "aria-labelledby": "wl-h" },
    h("h2", { id: "wl-h" }, t("join_waitlist")),
    field(t("service"), service, "service"),
    field(t("priority"), priority, "priority"),
    h("button", { type: "submit" }, t("join_waitlist")),
    outcomeArea(),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const out = await ctx.exec({ type: "join_waitlist", beneficiary: beneficiary.id, service: service.value, facility: ctx.actor.facility, priority: priority.value });
    const ev = out.ok?.events.find((x) => x.type === "waitlist_joined");
    showOutcome(form, out, t("joined_waitlist", { id: ev?.entry }));
  });
  return form;
}

/** Adds a coverage to a beneficiary's (the engine replaces the whole list). */
function coverageForm(ctx, b) {
  const today = new Date(ctx.now()).toISOString().slice(0, 10);
  const f = {
    programme: input({ autocomplete: "off" }),
    agency: input({ value: ctx.actor.agency, autocomplete: "off" }),
    from: input({ type: "date", value: today, "data-required": true }),
    to: input({ type: "date" }),
  };
  const form = h(
    "form",
    { class: "panel", "aria-labelledby": "cov-h", id: "coverage-form" },
    h("h2", { id: "cov-h" }, t("add_coverage")),
    field(t("f_programme"), f.programme, "coverage.programme coverage"),
    field(t("f_coverage_agency"), f.agency, "coverage.agency"),
    field(t("f_valid_from"), f.from, "coverage.valid_from"),
    field(t("f_valid_to"), f.to, "coverage.valid_to valid_to"),
    h("button", { type: "submit" }, t("add_coverage")),
    outcomeArea(),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (missingRequired(form)) return;
    const coverage = [...(b.coverage || []), { programme: f.programme.value.trim(), agency: f.agency.value.trim(), valid_from: f.from.value, valid_to: f.to.value || null }];
    const out = await ctx.exec({ type: "set_coverage", beneficiary: b.id, coverage });
    if (showOutcome(form, out, t("done")) && out.ok) ctx.rerender();
  });
  return form;
}

/** Patients and bookings: find or register, then book, cancel, reschedule. */
export async function patients(ctx, id) {
  const root = h("div", null, h("h1", null, t("view_patients")));
  root.append(beneficiaryFinder(ctx, (b) => ctx.go("patients", b.id), state.search));
  if (!id) {
    root.append(registerForm(ctx));
    return root;
  }
  const found = await ctx.query({ type: "find_beneficiaries", text: decodeURIComponent(id) });
  const b = found.answer?.value.find((x) => x.id === decodeURIComponent(id));
  if (!b) {
    root.append(h("p", { role: "alert", class: "banner bad" }, t("none")));
    return root;
  }
  const appts = await ctx.query({ type: "beneficiary_appointments", beneficiary: b.id });
  root.append(
    h(
      "section",
      { class: "panel", "aria-labelledby": "ben-h", dataset: { beneficiary: b.id } },
      h("h2", { id: "ben-h" }, `${b.name} (${b.id})`),
      h("p", null, `${t("f_birth_date")}: ${formatDate(b.birth_date)} · ${t("f_contact")}: ${b.contact ?? "—"}`),
      h("p", null, `${t("coverage")}: ${(b.coverage || []).map((c) => `${c.programme} (${c.agency}) ${c.valid_from}${c.valid_to ? ` → ${c.valid_to}` : ""}`).join("; ") || "—"}`),
      appts.answer ? appointmentsTable(ctx, appts.answer.value, b) : h("p", { class: "outcome error", role: "alert", dataset: { code: appts.error?.code } }, errorText(appts.error)),
    ),
  );
  root.append(await bookingPanel(ctx, b));
  root.append(h("div", { class: "grid2" }, waitlistForm(ctx, b), coverageForm(ctx, b)));
  return root;
}

// --- a new referral --------------------------------------------------------------

const draft = { beneficiary: null, service: "obs-hr", tier: "2", priority: "urgent", icd10: "", text: "", attachments: "" };

/** The tiers the network's facilities have, lowest first. */
function tiers(ctx) {
  return [...new Set([...ctx.facilities.values()].map((f) => f.tier))].sort((a, b) => a - b);
}

/** The referral form with the engine's suggested (and not suggested) destinations. */
export async function newReferral(ctx) {
  const root = h("div", null, h("h1", null, t("view_new_referral")));
  const chosen = h("p", { id: "chosen-beneficiary" }, draft.beneficiary ? `${t("selected")}: ${draft.beneficiary.name} (${draft.beneficiary.id})` : "");
  root.append(
    beneficiaryFinder(ctx, (b) => {
      draft.beneficiary = b;
      ctx.rerender();
    }, state.search),
    chosen,
  );
  // Referrals go for what this facility does not offer itself.
  const referable = [...ctx.services.values()].filter((s) => !ctx.facility?.services.includes(s.code));
  const f = {
    service: select(referable.map((s) => [s.code, ctx.serviceName(s.code)]), { value: draft.service }),
    // The tiers of the network's facilities: where a referral may go is the engine's to say.
    tier: select(tiers(ctx).map((n) => [String(n), t("tier_n", { n })]), { value: draft.tier }),
    priority: select(PRIORITIES.map((p) => [p, t(`pr_${p}`)]), { value: draft.priority }),
    icd10: input({ value: draft.icd10, autocomplete: "off" }),
    text: h("textarea", { rows: 3 }),
    attachments: h("textarea", { rows: 2 }),
  };
  f.text.value = draft.text;
  f.attachments.value = draft.attachments;
  const keep = () => {
    Object.assign(draft, { service: f.service.value, tier: f.tier.value, priority: f.priority.value, icd10: f.icd10.value, text: f.text.value, attachments: f.attachments.value });
  };
  for (const c of Object.values(f)) c.addEventListener("change", keep);
  const destinations = h("fieldset", { id: "destinations" }, h("legend", null, t("destination")));
  const form = h(
    "form",
    { class: "panel", "aria-labelledby": "ref-h" },
    h("h2", { id: "ref-h" }, t("view_new_referral")),
    field(t("beneficiary"), input({ readonly: true, value: draft.beneficiary ? `${draft.beneficiary.name} (${draft.beneficiary.id})` : "", id: "referral-beneficiary" }), "beneficiary"),
    field(t("service"), f.service, "service"),
    field(t("tier"), f.tier, "tier"),
    field(t("priority"), f.priority, "priority"),
    field(t("f_icd10"), f.icd10, "reason.icd10"),
    field(t("f_reason_text"), f.text, "reason.text"),
    field(t("f_attachments"), f.attachments, "attachments"),
    button(t("suggest"), () => suggest(), { class: "secondary", id: "suggest" }),
    destinations,
    h("button", { type: "submit" }, t("create_referral")),
    outcomeArea(),
  );
  destinations.dataset.field = "destination";
  destinations.id = "destinations";
  const anyTier = () =>
    h("div", { class: "choice" }, h("input", { type: "radio", name: "dest", value: "tier", id: "dest-tier", checked: true }), h("label", { for: "dest-tier" }, t("any_of_tier")));
  destinations.append(anyTier());
  async function suggest() {
    keep();
    if (!draft.beneficiary) return showOutcome(form, { error: { code: "required", message: "", details: { field: "beneficiary" } } });
    const out = await ctx.query({ type: "suggest_destinations", beneficiary: draft.beneficiary.id, service: f.service.value, tier: Number(f.tier.value), priority: f.priority.value });
    if (!showOutcome(form, out, "")) return;
    const r = out.answer.value;
    destinations.replaceChildren(h("legend", null, t("suggested")), anyTier());
    for (const s of r.suggested) {
      const id = `dest-${s.facility}`;
      destinations.append(
        h(
          "div",
          { class: "choice" },
          h("input", { type: "radio", name: "dest", value: s.facility, id }),
          h("label", { for: id }, `${s.name} (${s.facility}, ${t("tier_n", { n: s.tier })}, ${s.region}) — ${t("earliest", { t: formatInstant(s.earliest, ctx.facilityZone(s.facility)) })}`),
        ),
      );
    }
    if (r.not_suggested.length) {
      destinations.append(
        h("p", { class: "muted" }, t("not_suggested")),
        h("ul", { id: "not-suggested" }, ...r.not_suggested.map((n) => h("li", null, `${n.name} (${n.facility}): ${t(`ex_${n.reason}`)}`))),
      );
    }
  }
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    keep();
    if (!draft.beneficiary) return showOutcome(form, { error: { code: "required", message: "", details: { field: "beneficiary" } } });
    const dest = form.querySelector("input[name=dest]:checked")?.value ?? "tier";
    const attachments = f.attachments.value
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean)
      .map((l) => {
        const [id, media_type, title] = l.split("|").map((x) => (x ?? "").trim());
        return { id, media_type: media_type ?? "", title: title ?? "" };
      });
    const command = {
      type: "create_referral",
      beneficiary: draft.beneficiary.id,
      service: f.service.value,
      destination: dest === "tier" ? { tier: Number(f.tier.value) } : { facility: dest },
      priority: f.priority.value,
      reason: { icd10: list(f.icd10.value), text: f.text.value },
      attachments,
    };
    const out = await ctx.exec(command);
    const ev = out.ok?.events.find((x) => x.type === "referral_created");
    if (showOutcome(form, out, ev ? t("referral_created", { id: ev.referral, to: ctx.facilityName(ev.destination) }) : undefined) && out.ok) {
      Object.assign(draft, { icd10: "", text: "", attachments: "" });
      ctx.go("referral", ev.referral);
    }
  });
  root.append(form);
  return root;
}

// --- referrals sent -----------------------------------------------------------------

/** The referrals this facility sent, newest first, with their status. */
export async function referrals(ctx) {
  const root = h("div", null, h("h1", null, t("view_referrals")));
  const out = await ctx.query({ type: "outgoing_referrals", facility: ctx.actor.facility });
  if (!out.answer) {
    root.append(h("p", { class: "outcome error", role: "alert", dataset: { code: out.error.code } }, errorText(out.error)));
    return root;
  }
  if (out.stale) root.append(h("p", { class: "banner" }, t("offline_cached")));
  const rows = [...out.answer.value].sort((a, b) => b.id - a.id);
  if (rows.length === 0) {
    root.append(h("p", null, t("none")));
    return root;
  }
  const body = h("tbody");
  for (const r of rows) {
    body.append(
      h(
        "tr",
        { dataset: { referral: r.id } },
        h("td", null, r.id),
        h("td", { class: "mono" }, r.beneficiary),
        h("td", null, ctx.serviceName(r.service)),
        h("td", null, t(`pr_${r.priority}`)),
        h("td", null, ctx.facilityName(r.destination)),
        h("td", null, statusBadge(r.status)),
        h("td", null, h("a", { href: `#referral/${r.id}` }, `${t("open")} ${r.id}`)),
      ),
    );
  }
  root.append(
    h(
      "table",
      null,
      h("thead", null, h("tr", null, ...["#", t("beneficiary"), t("service"), t("priority"), t("destination"), t("status"), t("actions")].map((k) => h("th", { scope: "col" }, k)))),
      body,
    ),
  );
  return root;
}
