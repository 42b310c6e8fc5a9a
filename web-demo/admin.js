// The scheduler's agendas (rules, exceptions, holidays, week view with fill
// levels), the waitlist, the auditor's trail and chain verification, the
// queued work of connected mode, and the connection settings.

import { t, formatInstant } from "./i18n.js";
import { errorText } from "./refusals.js";
import { h, field, input, select, button, outcomeArea, showOutcome, localDate, missingRequired } from "./ui.js";
import { weekView } from "./calendar.js";

const sched = { agenda: null, weekStart: null, facility: null };

function rulesText(rules) {
  return rules.map((r) => `${r.day} ${r.start.slice(0, 5)}-${r.end.slice(0, 5)}`).join("\n");
}

/** "Mon 08:00-12:00" lines as weekly blocks; the engine judges the values. */
function parseRules(text) {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [day, span = ""] = l.split(/\s+/);
      const [start = "", end = ""] = span.split("-");
      const time = (x) => (/^\d{1,2}:\d{2}$/.test(x) ? `${x.padStart(5, "0")}:00` : x);
      return { day, start: time(start), end: time(end) };
    });
}

function agendaForm(ctx, facility, existing) {
  const a = existing ?? {
    id: "",
    facility,
    service: ctx.facilities.get(facility)?.services[0] ?? "",
    practitioner: "",
    rules: [{ day: "Mon", start: "08:00:00", end: "12:00:00" }],
    valid_from: localDate(ctx.now(), ctx.facilityZone(facility)),
    valid_to: null,
    slot_minutes: null,
    capacity: 1,
    overbooking: 0,
    horizon_days: 90,
    min_notice_minutes: 60,
    referral_share_percent: 0,
  };
  const services = ctx.facilities.get(facility)?.services ?? [];
  const f = {
    id: input({ value: a.id, autocomplete: "off" }),
    service: select(services.map((s) => [s, ctx.serviceName(s)]), { value: a.service }),
    practitioner: input({ value: a.practitioner ?? "", autocomplete: "off" }),
    rules: h("textarea", { rows: 6 }),
    from: input({ type: "date", value: a.valid_from, "data-required": true }),
    to: input({ type: "date", value: a.valid_to ?? "" }),
    slot: input({ type: "number", min: 1, value: a.slot_minutes ?? ctx.services.get(a.service)?.slot_minutes ?? 15 }),
    capacity: input({ type: "number", min: 0, value: a.capacity }),
    overbooking: input({ type: "number", min: 0, value: a.overbooking ?? 0 }),
    horizon: input({ type: "number", min: 1, value: a.horizon_days }),
    notice: input({ type: "number", min: 0, value: a.min_notice_minutes ?? 0 }),
    share: input({ type: "number", min: 0, max: 100, value: a.referral_share_percent ?? 0 }),
  };
  f.rules.value = rulesText(a.rules);
  const form = h(
    "form",
    { class: "panel", "aria-labelledby": "ag-h", id: "agenda-form" },
    h("h2", { id: "ag-h" }, t("configure_agenda")),
    field(t("f_agenda_id"), f.id, "agenda.id id"),
    field(t("service"), f.service, "agenda.service service"),
    field(t("f_practitioner"), f.practitioner, "agenda.practitioner"),
    field(t("f_rules"), f.rules, "agenda.rules rules"),
    field(t("f_valid_from"), f.from, "agenda.valid_from"),
    field(t("f_valid_to"), f.to, "agenda.valid_to valid_to"),
    field(t("f_slot_minutes"), f.slot, "agenda.slot_minutes slot_minutes"),
    field(t("f_capacity"), f.capacity, "agenda.capacity capacity"),
    field(t("f_overbooking"), f.overbooking, "agenda.overbooking overbooking"),
    field(t("f_horizon"), f.horizon, "agenda.horizon_days horizon_days"),
    field(t("f_notice"), f.notice, "agenda.min_notice_minutes min_notice_minutes"),
    field(t("f_referral_share"), f.share, "agenda.referral_share_percent referral_share_percent"),
    h("button", { type: "submit" }, t("save_agenda")),
    outcomeArea(),
  );
  const num = (el) => (el.value === "" ? null : Number(el.value));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (missingRequired(form)) return;
    const agenda = {
      id: f.id.value.trim(),
      facility,
      service: f.service.value,
      practitioner: f.practitioner.value.trim() || null,
      rules: parseRules(f.rules.value),
      valid_from: f.from.value,
      valid_to: f.to.value || null,
      slot_minutes: num(f.slot),
      capacity: num(f.capacity),
      overbooking: num(f.overbooking),
      horizon_days: num(f.horizon),
      min_notice_minutes: num(f.notice),
      referral_share_percent: num(f.share),
    };
    const out = await ctx.exec({ type: "define_agenda", agenda });
    if (showOutcome(form, out, t("agenda_saved", { id: agenda.id })) && out.ok) {
      sched.agenda = agenda.id;
      ctx.rerender();
    }
  });
  return form;
}

function closureForm(ctx, agenda) {
  const f = { date: input({ type: "date", "data-required": true }), from: input({ type: "time" }), to: input({ type: "time" }), reason: input({ autocomplete: "off" }) };
  const form = h(
    "form",
    { class: "panel", "aria-labelledby": "cl-h", id: "closure-form" },
    h("h2", { id: "cl-h" }, `${t("add_closure")} — ${agenda}`),
    field(t("f_date"), f.date, "closure.date date"),
    field(t("f_from_time"), f.from, "closure.from from"),
    field(t("f_to_time"), f.to, "closure.to to"),
    field(t("reason"), f.reason, "closure.reason reason"),
    h("button", { type: "submit" }, t("add_closure")),
    outcomeArea(),
  );
  const time = (el) => (el.value ? `${el.value}:00` : null);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (missingRequired(form)) return;
    const out = await ctx.exec({ type: "add_closure", agenda, closure: { date: f.date.value, from: time(f.from), to: time(f.to), reason: f.reason.value } });
    if (showOutcome(form, out, t("closure_added")) && out.ok) ctx.rerender();
  });
  return form;
}

function holidayForm(ctx) {
  const f = { date: input({ type: "date", "data-required": true }), name: input({ autocomplete: "off" }) };
  const form = h(
    "form",
    { class: "panel", "aria-labelledby": "ho-h" },
    h("h2", { id: "ho-h" }, t("declare_holiday")),
    field(t("f_date"), f.date, "date"),
    field(t("f_holiday_name"), f.name, "name"),
    h("button", { type: "submit" }, t("declare_holiday")),
    outcomeArea(),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (missingRequired(form)) return;
    const out = await ctx.exec({ type: "declare_holiday", date: f.date.value, name: f.name.value });
    if (showOutcome(form, out, t("holiday_declared")) && out.ok) ctx.rerender();
  });
  return form;
}

/** Agendas: configuration, exceptions, holidays and a week view with fill levels. */
export async function scheduler(ctx) {
  const root = h("div", null, h("h1", null, t("view_scheduler")));
  const facilities = ctx.actor.facility ? [ctx.actor.facility] : [...ctx.facilities.keys()];
  if (!sched.facility || !facilities.includes(sched.facility)) sched.facility = facilities[0];
  if (facilities.length > 1) {
    const fs = select(facilities.map((f) => [f, `${ctx.facilityName(f)} (${f})`]), { value: sched.facility });
    fs.addEventListener("change", () => {
      sched.facility = fs.value;
      sched.agenda = null;
      ctx.rerender();
    });
    root.append(field(t("where"), fs));
  }
  const tz = ctx.facilityZone(sched.facility);
  const out = await ctx.query({ type: "agendas", facility: sched.facility });
  if (!out.answer) {
    root.append(h("p", { class: "outcome error", role: "alert" }, errorText(out.error)));
    return root;
  }
  const agendas = out.answer.value;
  // `""` is the choice of a new agenda; null means none chosen yet.
  if (sched.agenda === null || (sched.agenda !== "" && !agendas.some((a) => a.id === sched.agenda))) sched.agenda = agendas[0]?.id ?? "";
  sched.weekStart ??= localDate(ctx.now(), tz);
  const sel = select([...agendas.map((a) => [a.id, `${a.id} — ${ctx.serviceName(a.service)}`]), ["", `+ ${t("configure_agenda")}`]], { value: sched.agenda ?? "" });
  sel.addEventListener("change", () => {
    sched.agenda = sel.value;
    ctx.rerender();
  });
  root.append(field(t("agenda"), sel));
  const current = agendas.find((a) => a.id === sched.agenda);
  if (current) {
    const shift = (days) => () => {
      const d = new Date(`${sched.weekStart}T12:00:00Z`);
      d.setUTCDate(d.getUTCDate() + days);
      sched.weekStart = d.toISOString().slice(0, 10);
      ctx.rerender();
    };
    const week = await ctx.query({ type: "agenda_view", agenda: current.id, from: sched.weekStart, days: 7 });
    const panel = h(
      "section",
      { class: "panel", "aria-labelledby": "wk-h" },
      h("h2", { id: "wk-h" }, `${t("week_view")} — ${current.id}`),
      h("div", { class: "row-actions" }, button(t("prev_week"), shift(-7), { class: "secondary" }), button(t("next_week"), shift(7), { class: "secondary" })),
    );
    if (week.answer) panel.append(weekView(week.answer.value, tz));
    else panel.append(h("p", { class: "outcome error", role: "alert" }, errorText(week.error)));
    root.append(panel);
  }
  root.append(h("div", { class: "grid2" }, agendaForm(ctx, sched.facility, current), h("div", null, current ? closureForm(ctx, current.id) : null, holidayForm(ctx))));
  return root;
}

/** The facility's waitlist in priority order. */
export async function waitlist(ctx) {
  const root = h("div", null, h("h1", null, t("view_waitlist")));
  const out = await ctx.query({ type: "waitlist", facility: ctx.actor.facility });
  if (!out.answer) {
    root.append(h("p", { class: "outcome error", role: "alert" }, errorText(out.error)));
    return root;
  }
  if (out.answer.value.length === 0) {
    root.append(h("p", null, t("none")));
    return root;
  }
  const body = h("tbody");
  for (const w of out.answer.value) {
    const row = h(
      "tr",
      { dataset: { entry: w.id } },
      h("td", null, w.id),
      h("td", { class: "mono" }, w.beneficiary),
      h("td", null, ctx.serviceName(w.service)),
      h("td", null, t(`pr_${w.priority}`)),
      h("td", null, t(`st_${w.status}`)),
      h("td", null, formatInstant(w.joined_at, ctx.tz)),
    );
    const cell = h("td", { class: "row-actions" });
    cell.append(
      button(t("leave"), async () => {
        const res = await ctx.exec({ type: "leave_waitlist", entry: w.id, reason: "" });
        if (showOutcome(row, res) && res.ok) ctx.rerender();
      }, { class: "secondary" }),
      outcomeArea(),
    );
    row.append(cell);
    body.append(row);
  }
  root.append(
    h(
      "table",
      null,
      h("thead", null, h("tr", null, ...["#", t("beneficiary"), t("service"), t("priority"), t("status"), t("joined_at"), t("actions")].map((k) => h("th", { scope: "col" }, k)))),
      body,
    ),
  );
  return root;
}

// --- audit ----------------------------------------------------------------------------

const auditState = { referral: "", facility: "" };

/** The audit trail of a referral or a facility, and the chain verification. */
export async function audit(ctx) {
  const root = h("div", null, h("h1", null, t("audit_trail")));
  const ref = input({ type: "number", min: 1, value: auditState.referral });
  const fac = select([["", "—"], ...[...ctx.facilities.values()].map((f) => [f.id, `${f.name} (${f.id})`])], { value: auditState.facility });
  const form = h(
    "form",
    { class: "panel", "aria-labelledby": "au-h" },
    h("h2", { id: "au-h" }, t("audit_filter")),
    field(t("audit_of_referral"), ref, "referral"),
    field(t("audit_of_facility"), fac, "facility"),
    h("button", { type: "submit" }, t("show")),
    outcomeArea(),
  );
  const results = h("div", { id: "audit-results" });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    auditState.referral = ref.value;
    auditState.facility = fac.value;
    ctx.rerender();
  });
  const verify = h("section", { class: "panel", "aria-labelledby": "ve-h" }, h("h2", { id: "ve-h" }, t("verify")));
  const verdict = h("p", { id: "verdict", role: "status" });
  verify.append(
    button(t("verify"), async () => {
      const out = await ctx.query({ type: "verify_audit" });
      if (!showOutcome(verify, out, "")) return;
      const v = out.answer.value;
      verdict.className = v.broken ? "banner bad" : "outcome ok";
      verdict.dataset.broken = String(Boolean(v.broken));
      verdict.textContent = v.broken
        ? t("chain_broken", { seq: v.broken.seq, reason: v.broken.reason })
        : t("chain_ok", { entries: v.entries, events: v.events, head: v.head.slice(0, 16) });
    }, { id: "verify" }),
    verdict,
    outcomeArea(),
  );
  root.append(form, verify, results);
  const q = { type: "audit_trail", limit: 1000 };
  if (auditState.referral) q.referral = Number(auditState.referral);
  if (auditState.facility) q.facility = auditState.facility;
  const out = await ctx.query(q);
  if (!showOutcome(form, out, "")) return root;
  const body = h("tbody");
  const frag = document.createDocumentFragment();
  for (const e of out.answer.value) {
    frag.append(
      h(
        "tr",
        null,
        h("td", null, e.seq),
        h("td", null, formatInstant(e.at, ctx.facilityZone(e.actor.facility))),
        h("td", null, `${e.actor.user} (${t(`role_${e.actor.role}`)}${e.actor.facility ? `, ${e.actor.facility}` : ""})`),
        h("td", { class: "mono" }, e.command),
        h("td", { class: "mono" }, e.events.map((x) => x.type).join(", ")),
        h("td", { class: "mono" }, e.hash.slice(0, 12)),
      ),
    );
  }
  body.append(frag);
  results.append(
    h(
      "table",
      null,
      h("caption", { class: "muted" }, t("entries_n", { n: out.answer.value.length })),
      h("thead", null, h("tr", null, ...["#", t("when"), t("actor"), t("command"), t("events"), "hash"].map((k) => h("th", { scope: "col" }, k)))),
      body,
    ),
  );
  return root;
}

// --- connected mode: queued work and the connection ------------------------------------

function describe(ctx, c) {
  switch (c.type) {
    case "book_appointment":
      return `${t("book")}: ${c.beneficiary} — ${c.agenda} — ${formatInstant(c.start, ctx.tz)}`;
    case "reschedule_appointment":
      return `${t("reschedule")} #${c.appointment} → ${formatInstant(c.start, ctx.tz)}`;
    case "cancel_appointment":
      return `${t("cancel")} #${c.appointment}`;
    case "register_beneficiary":
      return `${t("register")}: ${c.beneficiary.name} (${c.beneficiary.id})`;
    case "create_referral":
      return `${t("view_new_referral")}: ${c.beneficiary} — ${ctx.serviceName(c.service)}`;
    default:
      return c.type;
  }
}

/** What was done offline, and what became of it. */
export async function outbox(ctx) {
  const root = h("div", null, h("h1", null, t("view_outbox")), h("p", null, t("outbox_intro")));
  const items = ctx.backend.outbox ?? [];
  if (items.length === 0) {
    root.append(h("p", null, t("none")));
    return root;
  }
  const body = h("tbody");
  for (const i of items) {
    const row = h(
      "tr",
      { class: `q-${i.state}`, dataset: { state: i.state } },
      h("td", null, formatInstant(i.queued_at, ctx.tz)),
      h("td", null, i.actor.user),
      h("td", null, describe(ctx, i.command)),
      h("td", null, h("span", { class: "status" }, t(`q_${i.state}`))),
      h("td", { class: i.error ? "outcome error" : "", dataset: i.error ? { code: i.error.code } : undefined }, i.error ? errorText(i.error) : ""),
      h("td", null, i.state === "queued" ? button(t("send_now"), () => ctx.backend.probe(), { class: "secondary" }) : button(t("dismiss"), () => ctx.backend.dismiss(i.id), { class: "secondary" })),
    );
    body.append(row);
  }
  root.append(
    h(
      "table",
      { id: "outbox" },
      h("thead", null, h("tr", null, ...[t("when"), t("actor"), t("command"), t("status"), t("reason"), t("actions")].map((k) => h("th", { scope: "col" }, k)))),
      body,
    ),
  );
  return root;
}

/** Standalone or connected: the host URL and the demo tokens. */
export async function connect(ctx) {
  const app = window.enlace;
  const root = h("div", null, h("h1", null, t("view_connect")));
  const host = input({ type: "url", value: app.settings.connection?.host ?? location.origin, id: "host-url" });
  const tokens = h("textarea", { rows: 6, id: "tokens", spellcheck: "false" });
  tokens.value = (app.settings.connection?.tokens ?? []).map((x) => `${x.label}\t${x.token}`).join("\n");
  const form = h(
    "form",
    { class: "panel", "aria-labelledby": "cn-h" },
    h("h2", { id: "cn-h" }, t("view_connect")),
    h("p", null, t("connect_intro")),
    field(t("f_host"), host, "host"),
    field(t("f_tokens"), tokens, "tokens"),
    h("button", { type: "submit", id: "connect" }, t("connect")),
    outcomeArea(),
  );
  if (app.connectError) queueMicrotask(() => showOutcome(form, { error: app.connectError }));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const list = tokens.value
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"))
      .map((l) => {
        const [label, token] = l.split(/\s+/);
        return { label, token };
      })
      .filter((x) => x.token);
    try {
      await app.connect(host.value, list);
    } catch (err) {
      // Which token failed, in the user's language; an unreachable host is said so.
      const field = err.code === "offline" || err.code === "incompatible_host" ? "host" : "tokens";
      showOutcome(form, { error: { code: err.code ?? "unauthenticated", message: String(err.message || err), details: { field } } });
    }
  });
  root.append(form);
  if (ctx.backend.mode === "connected") root.append(button(t("disconnect"), () => app.disconnect(), { class: "secondary", id: "disconnect" }));
  else root.append(h("section", { class: "panel" }, button(t("reset_demo"), () => confirm(t("reset_confirm")) && app.resetDemo(), { class: "secondary", id: "reset" })));
  return root;
}
