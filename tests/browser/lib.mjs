// Helpers of the web-demo tests: a static server for web-demo/, the real
// enlace-host on a free loopback port, the tests' OpenID Connect provider
// (tests/oidc/provider.mjs), Debian's Chromium through playwright-core, and
// axe-core.

import { createServer } from "node:http";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, extname, normalize, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = process.env.ENLACE_ROOT ?? join(here, "..", "..");
export const WEB = join(ROOT, "web-demo");
export const ARTIFACTS = join(ROOT, "artifacts");
const CHROMIUM = "/usr/bin/chromium";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".ts": "text/plain",
  ".md": "text/plain",
};

/** Serves web-demo/ on 127.0.0.1 (a free port); resolves to {url, close}. */
export function staticServer() {
  if (!existsSync(join(WEB, "engine", "enlace.js"))) {
    throw new Error("web-demo/engine/ is missing: run `cargo xtask test-web` (it copies dist/web there)");
  }
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    const file = normalize(join(WEB, path.endsWith("/") ? `${path}index.html` : path));
    if (!file.startsWith(WEB) || !existsSync(file)) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
    res.end(readFileSync(file));
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      resolve({ url: `http://127.0.0.1:${port}/`, close: () => new Promise((r) => server.close(r)) });
    });
  });
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/**
 * Starts target/debug/enlace-host serve with a temp data dir, seeded, serving
 * web-demo/ at `/`; resolves when /healthz answers, with the demo tokens.
 * `config`: the text of a TOML configuration file (`serve --config`), e.g.
 * an `[oidc]` section; `port`: the port to listen on (known beforehand when
 * the identity provider must know the page's redirect URI).
 */
export async function startHost({ config, port } = {}) {
  const bin = join(ROOT, "target", "debug", "enlace-host");
  if (!existsSync(bin)) throw new Error(`${bin} is missing: cargo build -p enlace-host`);
  const data = mkdtempSync(join(tmpdir(), "enlace-web-"));
  port ??= await freePort();
  const listen = `127.0.0.1:${port}`;
  const log = [];
  const args = ["serve", "--listen", listen, "--data", data, "--seed", "--web-root", WEB];
  let configDir;
  if (config !== undefined) {
    configDir = mkdtempSync(join(tmpdir(), "enlace-web-config-"));
    writeFileSync(join(configDir, "host.toml"), config);
    args.push("--config", join(configDir, "host.toml"));
  }
  const child = spawn(bin, args, {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout.on("data", (d) => log.push(String(d)));
  child.stderr.on("data", (d) => log.push(String(d)));
  const url = `http://${listen}`;
  const deadline = Date.now() + 60000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`enlace-host exited ${child.exitCode}:\n${log.join("")}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) break;
    } catch {}
    if (Date.now() > deadline) {
      child.kill();
      throw new Error(`enlace-host did not answer on ${url}:\n${log.join("")}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const tokens = {};
  for (const line of readFileSync(join(data, "demo-tokens.txt"), "utf8").split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const [label, token] = line.split("\t");
    tokens[label] = token;
  }
  return {
    url,
    tokens,
    log,
    /** Calls the host's HTTP API as `label`. */
    async api(label, method, path, body) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${tokens[label]}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => (child.exitCode !== null ? r() : child.once("exit", r)));
      rmSync(data, { recursive: true, force: true });
      if (configDir) rmSync(configDir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts the tests' OpenID Connect provider (tests/oidc/provider.mjs, panva's
 * oidc-provider) on a free loopback port with `accounts` (account id ->
 * claims) and the web client's `redirect` URI; `ttl`: the tokens' lifetime
 * in seconds (600 unless told). Resolves with its issuer when it listens.
 * Anyone may sign in as any account on its development login form (any
 * password).
 */
export async function startProvider({ accounts, redirect, ttl }) {
  const oidc = join(ROOT, "tests", "oidc");
  if (!existsSync(join(oidc, "node_modules", "oidc-provider"))) throw new Error(`${oidc}/node_modules is missing: npm ci --prefix tests/oidc`);
  const dir = mkdtempSync(join(tmpdir(), "enlace-oidc-"));
  writeFileSync(join(dir, "accounts.json"), JSON.stringify(accounts));
  const args = [join(oidc, "provider.mjs"), "--keys", join(dir, "keys.json"), "--accounts", join(dir, "accounts.json"), "--port", "0"];
  for (const r of [redirect].flat()) args.push("--redirect", r);
  if (ttl !== undefined) args.push("--ttl", String(ttl));
  const child = spawn(process.execPath, args, { cwd: oidc, stdio: ["ignore", "pipe", "pipe"] });
  const log = [];
  child.stderr.on("data", (d) => log.push(String(d)));
  const issuer = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the OIDC provider did not start:\n${log.join("")}`)), 30000);
    child.stdout.on("data", (d) => {
      log.push(String(d));
      const m = /listening (\S+)/.exec(log.join(""));
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the OIDC provider exited ${code}:\n${log.join("")}`));
    });
  });
  return {
    issuer,
    log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await new Promise((r) => child.once("exit", r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Debian's Chromium, headless, with a fresh profile. */
export async function launch() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  const profile = mkdtempSync(join(tmpdir(), "enlace-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1280, height: 900 },
    locale: "es-MX",
  });
  context.setDefaultTimeout(15000);
  const close = async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, close };
}

/** A page that fails the test on any uncaught error or console error. */
export async function openPage(context, url) {
  const page = await context.newPage();
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !/Failed to load resource|ERR_INTERNET_DISCONNECTED|net::ERR/.test(m.text())) page.errors.push(`console: ${m.text()}`);
  });
  await page.goto(url);
  await page.waitForSelector("body[data-ready=true]");
  return page;
}

/** axe-core in the page: the serious and critical violations. */
export async function axe(page) {
  const source = readFileSync(join(here, "node_modules", "axe-core", "axe.min.js"), "utf8");
  await page.evaluate(source);
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  });
  return result.filter((v) => v.impact === "serious" || v.impact === "critical");
}

export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Appends a measured figure to artifacts/web-demo-figures.json. */
export function record(name, value) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, "web-demo-figures.json");
  const all = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : {};
  all[name] = value;
  writeFileSync(file, `${JSON.stringify(all, null, 2)}\n`);
  console.log(`figure: ${name} = ${JSON.stringify(value)}`);
}
