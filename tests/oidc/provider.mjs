// A real OpenID Connect provider for the tests: panva's certified
// `oidc-provider`, configured the way an agency's identity provider would be
// for Enlace, on 127.0.0.1.
//
//   node provider.mjs --keys FILE --accounts FILE [--port N] [--ttl SECONDS]
//                     [--redirect URL]... [--rotate]
//
// --keys      a JWKS file with private keys; made with one RS256 key when
//             missing. --rotate puts a new key first (it signs from now on)
//             and keeps the old ones published, as a provider rotating keys.
// --accounts  a JSON object: account id -> claims (enlace_agency,
//             enlace_facility, enlace_role, groups...). Anyone may sign in
//             as any of them on the provider's development login form.
// --redirect  a redirect URI of the public web client `enlace-web`
//             (authorization code with PKCE), repeatable.
//
// Machine clients (grant client_credentials, JWT access tokens for the
// resource `urn:enlace:api` or any other asked for):
//   bot-<account>, secret `secret`: a token with <account>'s claims (its
//   `sub` is the client id, as for every client-credentials token);
//   brief-<account>: the same, living 2 seconds (expiry tests).
// Prints `listening ISSUER` when ready; stops on SIGTERM/SIGINT.

import { generateKeyPairSync, randomUUID } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import Provider from "oidc-provider";

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const values = (name) => args.flatMap((a, i) => (a === name ? [args[i + 1]] : []));
const value = (name, fallback) => values(name)[0] ?? fallback;

const keysFile = value("--keys");
const accountsFile = value("--accounts");
if (!keysFile || !accountsFile) {
  console.error("usage: provider.mjs --keys FILE --accounts FILE [--port N] [--ttl S] [--redirect URL]... [--rotate]");
  process.exit(2);
}
const ttl = Number(value("--ttl", "600"));

function newKey() {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { ...privateKey.export({ format: "jwk" }), kid: randomUUID(), alg: "RS256", use: "sig" };
}
let keys = existsSync(keysFile) ? JSON.parse(readFileSync(keysFile, "utf8")).keys : [];
if (keys.length === 0 || flag("--rotate")) keys = [newKey(), ...keys];
writeFileSync(keysFile, JSON.stringify({ keys }, null, 2));

const accounts = JSON.parse(readFileSync(accountsFile, "utf8"));

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}
const port = Number(value("--port", "0")) || (await freePort());
const issuer = `http://127.0.0.1:${port}`;
const API = "urn:enlace:api";
const CLAIMS = ["enlace_agency", "enlace_facility", "enlace_role", "groups", "name"];

const clients = [
  {
    client_id: "enlace-web",
    token_endpoint_auth_method: "none",
    redirect_uris: values("--redirect").length ? values("--redirect") : ["http://127.0.0.1/"],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
  },
  ...Object.keys(accounts).flatMap((id) =>
    ["bot", "brief"].map((kind) => ({
      client_id: `${kind}-${id}`,
      client_secret: "secret",
      grant_types: ["client_credentials"],
      response_types: [],
      redirect_uris: [],
    })),
  ),
];

const claimsOf = (id) => ({ sub: id, ...accounts[id] });

const provider = new Provider(issuer, {
  clients,
  cookies: { keys: [randomUUID()] },
  jwks: { keys },
  claims: { openid: ["sub"], enlace: CLAIMS },
  scopes: ["openid", "enlace", "offline_access"],
  conformIdTokenClaims: false,
  clientBasedCORS: () => true,
  ttl: {
    AccessToken: ttl,
    IdToken: ttl,
    ClientCredentials: (_ctx, _token, client) => (client.clientId.startsWith("brief-") ? 2 : ttl),
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
  },
  async findAccount(_ctx, id) {
    if (!(id in accounts)) return undefined;
    return { accountId: id, claims: async () => claimsOf(id) };
  },
  async loadExistingGrant(ctx) {
    // Staff of the agency do not consent to their own employer's portal:
    // every client is first-party, as an agency configures it.
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope("openid enlace");
    grant.addResourceScope(API, "enlace");
    await grant.save();
    return grant;
  },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => API,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resource, client) => ({
        scope: "enlace",
        audience: resource,
        accessTokenFormat: "jwt",
        accessTokenTTL: client.clientId.startsWith("brief-") ? 2 : ttl,
      }),
    },
  },
  extraTokenClaims(_ctx, token) {
    // A machine client's token speaks for its account; a person's access
    // token carries the person's claims.
    const machine = token.kind === "ClientCredentials" && /^(bot|brief)-/.test(token.clientId ?? "");
    const id = machine ? token.clientId.replace(/^(bot|brief)-/, "") : token.accountId;
    if (!id || !(id in accounts)) return undefined;
    const { sub: _sub, ...claims } = claimsOf(id);
    return claims;
  },
});

const server = provider.listen(port, "127.0.0.1", () => console.log(`listening ${issuer}`));
const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
