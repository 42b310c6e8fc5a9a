"""Validates Enlace's FHIR and iCalendar output with libraries nobody on the team wrote.

    python validate.py OUTDIR

- every OUTDIR/fhir/*.json with fhir.resources 6.4.0 (pydantic models of FHIR R4 4.0.1);
- every OUTDIR/ics/*.ics with icalendar and with vobject (validate=True), and
  checks that each event's DTSTART/DTEND read through the file's own
  VTIMEZONE name the same instant as the IANA database (zoneinfo) gives.

Prints one line per failure and a last line `N passed, M failed` (one per
file and validator); exits 1 when anything failed.
"""

import datetime as dt
import glob
import json
import os
import sys
import zoneinfo

import icalendar
import vobject
from fhir.resources import construct_fhir_element

passed = 0
failed = 0


def fail(what, why):
    global failed
    failed += 1
    print(f"FAIL {what}: {why}")


def ok():
    global passed
    passed += 1


def check_fhir(path):
    name = os.path.basename(path)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        rt = data.get("resourceType")
        model = construct_fhir_element(rt, data)
        # The model must keep what it was given (nothing silently dropped).
        back = json.loads(model.json())
        if back.get("id") != data.get("id") or back.get("resourceType") != rt:
            raise ValueError("id or resourceType not kept")
        ok()
    except Exception as e:  # noqa: BLE001 — any failure is a finding
        fail(f"fhir.resources {name}", str(e).replace("\n", " | ")[:2000])


def expected_instant(tzid, local):
    """The instant a local time in a zone names (first occurrence, as RFC 5545 says)."""
    naive = dt.datetime.strptime(local, "%Y%m%dT%H%M%S")
    return naive.replace(tzinfo=zoneinfo.ZoneInfo(tzid), fold=0).astimezone(dt.timezone.utc)


def raw_times(text):
    """(name, params, value) of DTSTART/DTEND lines, unfolded."""
    unfolded = text.replace("\r\n ", "")
    out = []
    in_event = False
    for line in unfolded.split("\r\n"):
        if line in ("BEGIN:VEVENT", "END:VEVENT"):
            in_event = line == "BEGIN:VEVENT"
        if not in_event:
            continue
        for prop in ("DTSTART", "DTEND"):
            if line.startswith(prop + ";") or line.startswith(prop + ":"):
                head, value = line.split(":", 1)
                out.append((prop, head[len(prop):], value))
    return out


def check_ics(path):
    name = os.path.basename(path)
    with open(path, "rb") as f:
        data = f.read()
    text = data.decode("utf-8")
    # icalendar
    try:
        cal = icalendar.Calendar.from_ical(data)
        events = list(cal.walk("VEVENT"))
        if not events:
            raise ValueError("no VEVENT")
        for ev in events:
            for key in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SEQUENCE", "STATUS", "SUMMARY"):
                if key not in ev:
                    raise ValueError(f"VEVENT without {key}")
            start, end = ev.decoded("DTSTART"), ev.decoded("DTEND")
            if start.tzinfo is None or end.tzinfo is None:
                raise ValueError("floating DTSTART/DTEND")
            if ev.get("STATUS") not in ("CONFIRMED", "CANCELLED"):
                raise ValueError(f"STATUS {ev.get('STATUS')}")
        ok()
    except Exception as e:  # noqa: BLE001
        fail(f"icalendar {name}", e)
    # vobject, strict. vobject keeps the first VTIMEZONE it parses for a
    # TZID for the rest of the process; each file must be read with its own.
    vobject.icalendar.__dict__["__tzidMap"].clear()
    vobject.icalendar.registerTzid("UTC", vobject.icalendar.utc)
    try:
        comp = vobject.readOne(text, validate=True)
        events = comp.contents.get("vevent", [])
        if not events:
            raise ValueError("no VEVENT")
        utc = dt.timezone.utc
        got = []
        for ev in events:
            start = ev.dtstart.value
            end = ev.dtend.value
            if start.tzinfo is None:
                raise ValueError("floating DTSTART")
            got.append(start.astimezone(utc))
            got.append(end.astimezone(utc))
        # Read through our VTIMEZONE, the times must be the IANA database's.
        want = []
        for _, params, value in raw_times(text):
            if params.startswith(";TZID="):
                want.append(expected_instant(params[len(";TZID="):], value))
            else:
                want.append(dt.datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=utc))
        if got != want:
            raise ValueError(f"times differ from the IANA database: {got} != {want}")
        ok()
    except Exception as e:  # noqa: BLE001
        fail(f"vobject {name}", e)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "target/interop-out"
    fhir_files = sorted(glob.glob(os.path.join(out, "fhir", "*.json")))
    ics_files = sorted(glob.glob(os.path.join(out, "ics", "*.ics")))
    if not fhir_files or not ics_files:
        fail("input", f"no files in {out}/fhir or {out}/ics")
    for p in fhir_files:
        check_fhir(p)
    for p in ics_files:
        check_ics(p)
    print(f"python: {len(fhir_files)} FHIR files (fhir.resources), {len(ics_files)} iCalendar files (icalendar, vobject)")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
