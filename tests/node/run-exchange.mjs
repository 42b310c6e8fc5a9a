// Signed exchange in Node (issue 12), two checks of tests/vectors/exchange.json:
//
// 1. The browser's seal package (dist/web/seal) gives the same canonical
//    bytes, the same seals and the same refusal codes as native core and
//    the component (tests/src/exchange.rs runs those).
// 2. Libraries nobody here wrote agree with the file: `canonicalize`
//    (RFC 8785, by one of its authors) writes the same bytes for every
//    record, and `jose` (panva) verifies every seal as a flattened JWS with
//    an unencoded payload (RFC 7797), signs the same bytes to the same
//    seal, and refuses the tampered ones.
//
// Run by `cargo xtask test` after `cargo xtask build`.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import canonicalize from "canonicalize";
import * as jose from "jose";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const vectors = JSON.parse(readFileSync(join(root, "tests/vectors/exchange.json"), "utf8"));
const seal = await import(join(root, "dist/web/seal/enlace_seal.js"));
seal.initSync({ module: readFileSync(join(root, "dist/web/seal/enlace_seal_bg.wasm")) });

const failures = [];
const fail = (m) => failures.push(m);
const utf8 = (s) => new TextEncoder().encode(s);
const b64url = (s) => Buffer.from(s, "base64url");
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
let checks = 0;

// 1. The seal package.
for (const v of vectors.sealed) {
  const payload = utf8(v.payload);
  const bytes = seal.canonicalRecord(v.record);
  if (Buffer.compare(Buffer.from(bytes), Buffer.from(payload)) !== 0) fail(`${v.name}: canonical bytes differ`);
  const sealed = seal.sealRecord(b64url(vectors.keys[v.key].d), payload);
  if (sealed !== v.seal) fail(`${v.name}: seal differs: ${sealed}`);
  const out = seal.verifyRecord(vectors.trust, v.seal, payload, v.at);
  if (!("ok" in out)) fail(`${v.name}: refused with ${out.error.code}: ${out.error.message}`);
  else {
    if (!same(out.ok.signer, v.signer)) fail(`${v.name}: signer ${JSON.stringify(out.ok.signer)}`);
    if (canonicalize(out.ok.record) !== canonicalize(v.record)) fail(`${v.name}: record read back differs`);
  }
  if (seal.recordDigest(payload) !== Buffer.from(await crypto.subtle.digest("SHA-256", payload)).toString("base64url"))
    fail(`${v.name}: digest differs from WebCrypto's SHA-256`);
  checks += 4;
}
for (const v of vectors.refused) {
  const out = seal.verifyRecord(vectors.trust, v.seal, utf8(v.payload), v.at);
  if ("ok" in out) fail(`${v.name}: accepted, expected ${v.code}`);
  else if (out.error.code !== v.code) fail(`${v.name}: ${out.error.code} (${out.error.message}), expected ${v.code}`);
  checks += 1;
}
try {
  seal.sealRecord(new Uint8Array(31), utf8("{}"));
  fail("31-byte seed: sealed");
} catch (e) {
  if (e.code !== "key_invalid") fail(`31-byte seed: ${e.code} ${e.message}`);
}
try {
  seal.canonicalRecord({ type: "message", id: "x" });
  fail("a record without its fields: canonical bytes given");
} catch (e) {
  if (e.code !== "payload_malformed") fail(`a record without its fields: ${e.code} ${e.message}`);
}
checks += 2;

// 2. Independent implementations.
const keyOf = (kid) => {
  for (const peer of vectors.trust.peers) for (const k of peer.keys) if (k.kid === kid) return k;
  return null;
};
const flattened = (jws, payload) => {
  const [protectedHeader, attached, signature] = jws.split(".");
  return { protected: protectedHeader, payload, signature, attached };
};
for (const v of vectors.sealed) {
  if (canonicalize(v.record) !== v.payload) fail(`${v.name}: canonicalize writes other bytes`);
  if (canonicalize(JSON.parse(v.payload)) !== v.payload) fail(`${v.name}: payload is not canonical to canonicalize`);
  const key = keyOf(v.signer.kid);
  const publicKey = await jose.importJWK({ kty: "OKP", crv: "Ed25519", x: key.x }, "EdDSA");
  const { protected: p, signature } = flattened(v.seal, v.payload);
  try {
    const out = await jose.flattenedVerify({ protected: p, payload: utf8(v.payload), signature }, publicKey, { algorithms: ["EdDSA"] });
    if (out.protectedHeader.b64 !== false || out.protectedHeader.kid !== v.signer.kid) fail(`${v.name}: jose read another header`);
    if (Buffer.compare(Buffer.from(out.payload), Buffer.from(utf8(v.payload))) !== 0) fail(`${v.name}: jose verified other bytes`);
  } catch (e) {
    fail(`${v.name}: jose refuses the seal: ${e.code ?? ""} ${e.message}`);
  }
  // jose signs the same bytes to the same seal (Ed25519 is deterministic).
  const signer = vectors.keys[v.key];
  const privateKey = await jose.importJWK({ kty: "OKP", crv: "Ed25519", x: signer.x, d: signer.d }, "EdDSA");
  const jws = await new jose.FlattenedSign(utf8(v.payload))
    .setProtectedHeader({ alg: "EdDSA", b64: false, crit: ["b64"], kid: signer.kid })
    .sign(privateKey);
  if (`${jws.protected}..${jws.signature}` !== v.seal) fail(`${v.name}: jose seals it differently`);
  checks += 4;
}
// The refusals that are about the signature itself: jose refuses them too.
for (const name of ["tampered-payload", "seal-of-another-record", "malleated-signature"]) {
  const v = vectors.refused.find((r) => r.name === name);
  const { protected: p, signature } = flattened(v.seal, v.payload);
  const header = JSON.parse(Buffer.from(p, "base64url"));
  const publicKey = await jose.importJWK({ kty: "OKP", crv: "Ed25519", x: keyOf(header.kid).x }, "EdDSA");
  try {
    await jose.flattenedVerify({ protected: p, payload: utf8(v.payload), signature }, publicKey, { algorithms: ["EdDSA"] });
    fail(`${name}: jose accepts what core refuses`);
  } catch (e) {
    if (e.code !== "ERR_JWS_SIGNATURE_VERIFICATION_FAILED") fail(`${name}: jose: ${e.code} ${e.message}`);
  }
  checks += 1;
}

if (failures.length) {
  console.error(failures.join("\n"));
  console.error(`exchange vectors: ${failures.length} of ${checks} checks failed`);
  process.exit(1);
}
console.log(`exchange vectors: ${checks} checks passed (seal package, canonicalize, jose)`);
