#!/usr/bin/env bash
# Validates Enlace's FHIR R4 and iCalendar output with libraries nobody on
# the team wrote, and imports the official HL7 R4 examples:
#
#   bash tests/interop/validate.sh [OUTDIR]      (default target/interop-out)
#
# 1. a Python venv (.venv at the repository root) with the pinned PyPI
#    validators of requirements.txt: fhir.resources (R4), icalendar, vobject;
# 2. `npm ci` here: the HL7 JSON schema validator, Medplum, the HL7 examples;
# 3. the Rust exporter writes every resource kind and calendars to OUTDIR;
# 4. the validators read them; the HL7 examples go through the importer.
# Installs are skipped when already done. Works as root with no stdin.
# The last line is `N passed, M failed`, one per file and validator.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
out="${1:-$root/target/interop-out}"
venv="$root/.venv"

apt_install() {
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "validate.sh: need $*; install it (apt-get install $*)" >&2
    return 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" </dev/null >/dev/null
}

# --- Python validators --------------------------------------------------------
command -v python3 >/dev/null || apt_install python3
if [ ! -x "$venv/bin/python" ]; then
  rm -rf "$venv"
  if ! python3 -m venv "$venv" 2>/dev/null; then
    # Debian keeps ensurepip in a separate package.
    rm -rf "$venv"
    apt_install python3-venv
    python3 -m venv "$venv"
  fi
fi
stamp="$venv/.interop-requirements"
if ! cmp -s "$here/requirements.txt" "$stamp"; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$here/requirements.txt" </dev/null
  cp "$here/requirements.txt" "$stamp"
fi

# --- Node validators and the HL7 examples ---------------------------------------
command -v node >/dev/null || apt_install nodejs npm
if [ ! -d "$here/node_modules" ] || [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error </dev/null)
fi

# --- export, validate, import ------------------------------------------------------
cargo run --quiet -p enlace-core --example interop_export -- "$out"

total_passed=0
total_failed=0
# Runs a step, shows its output, and adds its `N passed, M failed` line.
step() {
  local name="$1"
  shift
  local log status line
  log="$(mktemp)"
  set +e
  "$@" >"$log" 2>&1
  status=$?
  set -e
  cat "$log"
  line="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1 || true)"
  rm -f "$log"
  if [ -z "$line" ]; then
    echo "validate.sh: step $name ended ($status) without a result line" >&2
    total_failed=$((total_failed + 1))
    return
  fi
  local p f
  p="${line%% passed*}"
  f="${line#*, }"
  f="${f%% failed}"
  total_passed=$((total_passed + p))
  total_failed=$((total_failed + f))
  if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "validate.sh: step $name exited $status" >&2
    total_failed=$((total_failed + 1))
  fi
}

step python "$venv/bin/python" "$here/validate.py" "$out"
step node node "$here/validate.cjs" "$out"

examples="$here/node_modules/hl7.fhir.r4.examples"
mapfile -t hl7 < <(ls "$examples"/{Organization,Location,HealthcareService,Schedule}-*.json 2>/dev/null || true)
if [ "${#hl7[@]}" -lt 4 ]; then
  echo "validate.sh: the HL7 R4 examples are missing from $examples" >&2
  total_failed=$((total_failed + 1))
else
  step hl7-import cargo run --quiet -p enlace-core --example interop_import -- "${hl7[@]}"
fi

echo "interop: ${total_passed} checks passed, ${total_failed} failed (FHIR: fhir.resources, HL7 JSON schema, Medplum; iCalendar: icalendar, vobject; HL7 examples imported)"
echo "${total_passed} passed, ${total_failed} failed"
[ "$total_failed" -eq 0 ]
