// Static checks of the page's sources: the page must not re-decide what the
// engine or the host already say (issue 14, "one rule, one place").
//
// - no route table: the host's routes come from its /openapi.json, so no
//   string of web-demo/*.js names a `/v1` path;
// - no hand-written list of the engine's names (statuses, actions, reasons,
//   priorities, roles…): those come from ./generated/enums.js;
// - no status deciding an action: what an actor may do comes from the
//   `actions` of the engine's answers, so no code compares a `status` with a
//   literal, or looks one up in a list, and none filters by a tier number.
//
// `drift(source, names)` returns what it finds, each with its line.

/** The tokens of a JavaScript source, comments left out (good enough for the page's modules). */
export function tokens(src) {
  const out = [];
  let i = 0;
  let line = 1;
  // Each open template literal's brace depth inside its current `${`.
  const templates = [];
  let depth = 0;
  const push = (type, value, at) => out.push({ type, value, line: at });
  const regexAllowed = () => {
    const prev = out[out.length - 1];
    if (!prev) return true;
    if (prev.type === "word") return /^(return|typeof|case|of|in|do|else|yield|await|void|delete|new|throw)$/.test(prev.value);
    if (prev.type === "punct") return !/^[)\]}]$/.test(prev.value);
    return false;
  };
  /** Reads a template literal's text from `i` (after the backtick or the `}` of `${`). */
  const templateText = () => {
    const at = line;
    let text = "";
    while (i < src.length) {
      const c = src[i];
      if (c === "\\") {
        text += src.slice(i, i + 2);
        i += 2;
        continue;
      }
      if (c === "`") {
        i += 1;
        push("string", text, at);
        return;
      }
      if (c === "$" && src[i + 1] === "{") {
        i += 2;
        push("string", text, at);
        templates.push(depth);
        depth = 0;
        return;
      }
      if (c === "\n") line += 1;
      text += c;
      i += 1;
    }
  };
  while (i < src.length) {
    const c = src[i];
    if (c === "\n") {
      line += 1;
      i += 1;
    } else if (/\s/.test(c)) {
      i += 1;
    } else if (c === "/" && src[i + 1] === "/") {
      while (i < src.length && src[i] !== "\n") i += 1;
    } else if (c === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2);
      const stop = end < 0 ? src.length : end + 2;
      line += (src.slice(i, stop).match(/\n/g) ?? []).length;
      i = stop;
    } else if (c === '"' || c === "'") {
      const at = line;
      let text = "";
      i += 1;
      while (i < src.length && src[i] !== c) {
        if (src[i] === "\\") {
          text += src[i + 1];
          i += 2;
        } else {
          text += src[i];
          i += 1;
        }
      }
      i += 1;
      push("string", text, at);
    } else if (c === "`") {
      i += 1;
      templateText();
    } else if (c === "}" && templates.length > 0 && depth === 0) {
      depth = templates.pop();
      i += 1;
      templateText();
    } else if (c === "/" && regexAllowed()) {
      const at = line;
      let j = i + 1;
      let inClass = false;
      while (j < src.length && src[j] !== "\n") {
        if (src[j] === "\\") j += 1;
        else if (src[j] === "[") inClass = true;
        else if (src[j] === "]") inClass = false;
        else if (src[j] === "/" && !inClass) break;
        j += 1;
      }
      j += 1;
      while (/[a-z]/i.test(src[j] ?? "")) j += 1;
      push("regex", src.slice(i, j), at);
      i = j;
    } else if (/[A-Za-z_$0-9]/.test(c)) {
      let j = i;
      while (/[A-Za-z_$0-9.]/.test(src[j] ?? "") && !(src[j] === "." && src[j + 1] === ".")) j += 1;
      push("word", src.slice(i, j), line);
      i = j;
    } else {
      // Operators: the longest of these first.
      const op = ["===", "!==", "...", "=>", "==", "!=", "<=", ">=", "?.", "??", "&&", "||"].find((o) => src.startsWith(o, i)) ?? c;
      if (op === "{") depth += 1;
      if (op === "}") depth -= 1;
      push("punct", op, line);
      i += op.length;
    }
  }
  return out;
}

/**
 * What in `src` re-decides an engine rule or copies the host's routes.
 * `names`: every name of the engine's lists (./generated/enums.js).
 */
export function drift(src, names) {
  const found = [];
  const toks = tokens(src);
  const say = (kind, t, text) => found.push({ kind, line: t.line, text });
  const isStatus = (t) => t?.type === "word" && /(^|\.)status$/.test(t.value);
  const isLiteral = (t) => t?.type === "string";
  for (let k = 0; k < toks.length; k++) {
    const t = toks[k];
    // 1. A route of the host's API.
    if (t.type === "string" && /(^|\/)v1(\/|$|\?)/.test(t.value)) say("route", t, t.value);
    // 2. An array literal of strings, two or more of them the engine's names.
    if (t.type === "punct" && t.value === "[") {
      const items = [];
      let j = k + 1;
      while (isLiteral(toks[j])) {
        items.push(toks[j].value);
        if (toks[j + 1]?.value === ",") j += 2;
        else {
          j += 1;
          break;
        }
      }
      if (toks[j]?.value === "]" && items.length >= 2 && items.filter((x) => names.has(x)).length >= 2) {
        say("list", t, `[${items.map((x) => JSON.stringify(x)).join(", ")}]`);
      }
    }
    // 3. A status compared with a literal, or looked up in a list.
    if (t.type === "punct" && /^[!=]==?$/.test(t.value)) {
      const [a, b] = [toks[k - 1], toks[k + 1]];
      if ((isStatus(a) && isLiteral(b)) || (isLiteral(a) && isStatus(b))) say("status", t, `${a.value} ${t.value} ${b.value}`);
      // 4. A facility's tier compared with a number (a routing rule).
      if ([a, b].some((x) => x?.type === "word" && /\.tier$/.test(x.value)) && [a, b].some((x) => /^\d+$/.test(x?.value ?? ""))) say("tier", t, `${a.value} ${t.value} ${b.value}`);
    }
    if (t.type === "punct" && /^[<>]=?$/.test(t.value) && toks[k - 1]?.type === "word" && /\.tier$/.test(toks[k - 1].value)) say("tier", t, `${toks[k - 1].value} ${t.value} ${toks[k + 1]?.value}`);
    if (t.type === "word" && /(^|\.)includes$/.test(t.value) && toks[k + 1]?.value === "(" && isStatus(toks[k + 2]) && toks[k + 3]?.value === ")") say("status", t, `${t.value}(${toks[k + 2].value})`);
    if (t.type === "word" && t.value === "switch" && toks[k + 1]?.value === "(" && isStatus(toks[k + 2])) say("status", t, `switch (${toks[k + 2].value})`);
  }
  return found;
}
