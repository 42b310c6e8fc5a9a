// Slot calendars: free slots grouped by local day in the facility's zone,
// and an agenda's week with fill levels. Built with one fragment per render
// so that hundreds of slots cost one layout.

import { t, formatDay, formatTime, formatDate } from "./i18n.js";
import { h } from "./ui.js";

/**
 * Free slots (`FreeSlot[]`) as day columns of buttons; `onPick(slot, button)`
 * runs on a click. `label` names the calendar for assistive technology.
 */
export function slotCalendar(slots, zoneOf, onPick, label) {
  const days = new Map();
  for (const s of slots) {
    const tz = zoneOf(s.facility);
    const key = `${formatDay(s.start, tz)}`;
    let d = days.get(key);
    if (!d) {
      d = { tz, first: s.start, slots: [] };
      days.set(key, d);
    }
    d.slots.push(s);
  }
  const grid = h("div", { class: "calendar", role: "group", "aria-label": label });
  const frag = document.createDocumentFragment();
  for (const [name, d] of days) {
    const ul = h("ul");
    for (const s of d.slots) {
      const time = formatTime(s.start, d.tz);
      const text = `${time} · ${t("slot_free", { n: s.free })}`;
      const b = h(
        "button",
        {
          type: "button",
          class: "slot secondary",
          dataset: { start: s.start, agenda: s.agenda },
          "aria-label": `${name} ${text} (${s.agenda})`,
        },
        h("span", { class: "time" }, time),
        // The number of places left; the button's label says it in words.
        h("span", { class: "free", title: t("slot_free", { n: s.free }) }, String(s.free)),
      );
      b.addEventListener("click", () => onPick(s, b));
      ul.append(h("li", null, b));
    }
    frag.append(h("section", { class: "day" }, h("h3", null, name), ul));
  }
  grid.append(frag);
  if (slots.length === 0) grid.append(h("p", null, t("none")));
  return grid;
}

/** An agenda's days (`DayView[]`) with their fill level and slot loads. */
export function weekView(days, tz) {
  const grid = h("div", { class: "calendar", role: "group", "aria-label": t("week_view") });
  const frag = document.createDocumentFragment();
  for (const d of days) {
    const pct = d.places ? Math.round((100 * d.taken) / d.places) : 0;
    const ul = h("ul");
    for (const s of d.slots) {
      const full = s.taken >= s.capacity;
      ul.append(
        h(
          "li",
          { class: `slotfill ${full ? "full" : "free"}` },
          h("span", null, formatTime(s.start, tz)),
          h("span", null, `${s.taken}/${s.capacity}`),
        ),
      );
    }
    frag.append(
      h(
        "section",
        { class: "day", dataset: { date: d.date } },
        h("h3", null, formatDate(d.date)),
        h("p", { class: "muted" }, `${t("fill")}: ${pct} % — ${t("places", { taken: d.taken, places: d.places })}`),
        h(
          "div",
          { class: "fillbar", role: "meter", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": pct, "aria-label": `${t("fill")} ${formatDate(d.date)}` },
          h("span", { style: `width:${pct}%` }),
        ),
        ul,
      ),
    );
  }
  grid.append(frag);
  return grid;
}
