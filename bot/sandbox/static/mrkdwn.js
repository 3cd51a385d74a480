// Slack's mrkdwn as DOM nodes: *bold*, _italic_, ~strike~, `code`, ```code blocks```, > quotes,
// <links|labels>, <@U…>/<#C…>/<!here>/<!subteam^…>/<!date^…> and :emoji:.
// Everything is built with createElement/createTextNode, never innerHTML: no text a person or a
// peer wrote can become markup, whatever it contains.
import { EMOJI } from "./emoji.js";

const ENTITIES = { "&amp;": "&", "&lt;": "<", "&gt;": ">" };
const STYLE = { "*": "b", _: "i", "~": "s" };
// Where a style may open or close: at an edge, a space or punctuation, never inside a word.
const OPEN_BEFORE = /[\s([{"'“‘\-/:.,!?;*_~]/;
const CLOSE_AFTER = /[\s)\]}"'”’\-/:.,!?;*_~]/;
const SAFE_URL = /^(https?:|mailto:|tel:)/i;
const ATOM = /\uE000(\d+)\uE001/g;

export function decodeEntities(text) {
  return text.replace(/&(amp|lt|gt);/g, (m) => ENTITIES[m]);
}

function el(tag, className, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const child of children) node.append(child);
  return node;
}

/** Text with :emoji: shortcodes as emoji; unknown shortcodes stay as typed, as in Slack. */
export function emojiText(text) {
  return text.replace(/:([a-z0-9_+'-]+):(?::(skin-tone-[2-6]):)?/gi, (match, name, tone) => {
    const code = EMOJI[name.toLowerCase()];
    if (!code) return match;
    const toneCode = tone ? EMOJI[tone.toLowerCase()] : null;
    const points = code.split("-").concat(toneCode ? [toneCode] : []);
    return String.fromCodePoint(...points.map((p) => parseInt(p, 16)));
  });
}

function pad(n) {
  return String(n).padStart(2, "0");
}

function ordinal(day) {
  if (day % 100 >= 11 && day % 100 <= 13) return `${day}th`;
  return `${day}${{ 1: "st", 2: "nd", 3: "rd" }[day % 10] || "th"}`;
}

/** Slack's <!date^…> tokens, in the reader's time zone. */
export function formatDate(seconds, format, timeZone) {
  const date = new Date(seconds * 1000);
  if (Number.isNaN(date.getTime())) return null;
  const part = (opts) => new Intl.DateTimeFormat("en-US", { timeZone, ...opts }).format(date);
  const dayOf = (d) => new Intl.DateTimeFormat("en-CA", { timeZone }).format(d);
  const today = new Date();
  const relative = { [dayOf(today)]: "today" };
  relative[dayOf(new Date(today.getTime() - 864e5))] = "yesterday";
  relative[dayOf(new Date(today.getTime() + 864e5))] = "tomorrow";
  const day = Number(part({ day: "numeric" }));
  const plain = {
    date_num: dayOf(date),
    date: `${part({ month: "long" })} ${ordinal(day)}, ${part({ year: "numeric" })}`,
    date_short: `${part({ month: "short" })} ${day}, ${part({ year: "numeric" })}`,
    date_long: `${part({ weekday: "long" })}, ${part({ month: "long" })} ${ordinal(day)}, ${part({ year: "numeric" })}`,
    time: part({ hour: "numeric", minute: "2-digit" }),
    time_secs: part({ hour: "numeric", minute: "2-digit", second: "2-digit" }),
  };
  const rel = relative[dayOf(date)];
  plain.date_pretty = rel ? cap(rel) : plain.date;
  plain.date_short_pretty = rel ? cap(rel) : plain.date_short;
  plain.date_long_pretty = rel ? cap(rel) : plain.date_long;
  const minutes = Math.round((Date.now() - date.getTime()) / 60000);
  plain.ago = minutes < 60 ? `${minutes} minutes ago` : `${Math.round(minutes / 60)} hours ago`;
  let known = true;
  const out = format.replace(/\{(\w+)\}/g, (m, token) => {
    if (token in plain) return plain[token];
    known = false;
    return m;
  });
  return known ? out : null;
}

function cap(word) {
  return word[0].toUpperCase() + word.slice(1);
}

/** One <…> control sequence as a node. */
function control(inner, ctx) {
  const [target, ...rest] = inner.split("|");
  const label = rest.join("|");
  if (target.startsWith("@")) {
    const id = target.slice(1);
    const name = label || ctx.users[id] || id;
    const span = el("span", "mention mention-user", [`@${name}`]);
    span.dataset.userId = id;
    return span;
  }
  if (target.startsWith("#")) {
    const id = target.slice(1);
    return el("span", "mention mention-channel", [`#${label || ctx.channels[id] || id}`]);
  }
  if (target.startsWith("!")) {
    const command = target.slice(1);
    if (["here", "channel", "everyone"].includes(command)) {
      return el("span", "mention mention-broadcast", [`@${command}`]);
    }
    if (command.startsWith("subteam^")) {
      return el("span", "mention mention-group", [label || `@${command.slice(8)}`]);
    }
    if (command.startsWith("date^")) {
      const [, seconds, format, link] = command.split("^");
      const shown = formatDate(Number(seconds), format || "", ctx.timeZone) || decodeEntities(label);
      if (link && SAFE_URL.test(link)) return anchor(link, shown);
      return el("time", "date", [shown]);
    }
    return document.createTextNode(`<${decodeEntities(label || command)}>`);
  }
  const url = decodeEntities(target);
  const text = decodeEntities(label || target.replace(/^mailto:/i, ""));
  if (!SAFE_URL.test(url)) return document.createTextNode(text);
  return anchor(url, text);
}

function anchor(url, text) {
  const link = el("a", null, [text]);
  link.href = url;
  link.target = "_blank";
  link.rel = "noopener noreferrer";
  return link;
}

/** Index of the delimiter closing the style opened at `open`, or -1 (styles stay on one line). */
function closing(text, ch, open) {
  for (let k = open + 2; k < text.length; k += 1) {
    if (text[k] === "\n") return -1;
    if (text[k] !== ch || /\s/.test(text[k - 1])) continue;
    if (k + 1 === text.length || CLOSE_AFTER.test(text[k + 1])) return k;
  }
  return -1;
}

function styled(text, atoms, ctx) {
  const out = [];
  let buffer = "";
  const flush = () => {
    if (buffer) out.push(...plain(buffer, atoms));
    buffer = "";
  };
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i];
    const canOpen =
      STYLE[ch] &&
      (i === 0 || OPEN_BEFORE.test(text[i - 1])) &&
      i + 1 < text.length &&
      !/\s/.test(text[i + 1]) &&
      text[i + 1] !== ch;
    if (canOpen) {
      const end = closing(text, ch, i);
      if (end > 0) {
        flush();
        out.push(el(STYLE[ch], null, styled(text.slice(i + 1, end), atoms, ctx)));
        i = end;
        continue;
      }
    }
    buffer += ch;
  }
  flush();
  return out;
}

function plain(text, atoms) {
  const out = [];
  let last = 0;
  for (const match of text.matchAll(ATOM)) {
    if (match.index > last) out.push(document.createTextNode(emojiText(decodeEntities(text.slice(last, match.index)))));
    out.push(atoms[Number(match[1])]);
    last = match.index + match[0].length;
  }
  if (last < text.length) out.push(document.createTextNode(emojiText(decodeEntities(text.slice(last)))));
  return out;
}

/** Inline mrkdwn (no code blocks or quotes) as nodes. */
function inline(text, ctx) {
  const atoms = [];
  const keep = (node) => {
    atoms.push(node);
    return `\uE000${atoms.length - 1}\uE001`;
  };
  // Private-use characters a message could carry are dropped, so they cannot forge an atom.
  let marked = text.replace(/[\uE000\uE001]/g, "");
  marked = marked.replace(/`([^`\n]+)`/g, (m, code) => keep(el("code", null, [decodeEntities(code)])));
  marked = marked.replace(/<([^<>\n]+)>/g, (m, inner) => keep(control(inner, ctx)));
  return styled(marked, atoms, ctx);
}

function lines(text, ctx) {
  const out = [];
  const rows = text.split("\n");
  for (let i = 0; i < rows.length; i += 1) {
    const quoteAll = rows[i].match(/^(?:&gt;|>){3}\s?(.*)$/);
    if (quoteAll) {
      const rest = [quoteAll[1], ...rows.slice(i + 1)].join("\n");
      out.push(el("blockquote", null, inline(rest, ctx)));
      break;
    }
    const quoted = [];
    while (i < rows.length && /^(?:&gt;|>)/.test(rows[i]) && !/^(?:&gt;|>){3}/.test(rows[i])) {
      quoted.push(rows[i].replace(/^(?:&gt;|>)\s?/, ""));
      i += 1;
    }
    if (quoted.length) {
      out.push(el("blockquote", null, inline(quoted.join("\n"), ctx)));
      i -= 1;
      continue;
    }
    out.push(...inline(rows[i], ctx));
    if (i < rows.length - 1) out.push(document.createTextNode("\n"));
  }
  return out;
}

/**
 * mrkdwn `text` as a <div class="mrkdwn"> (white-space kept, as Slack shows it).
 * ctx: {users: {id: name}, channels: {id: name}, timeZone}.
 */
export function renderMrkdwn(text, ctx) {
  const box = el("div", "mrkdwn");
  const parts = String(text ?? "").split("```");
  parts.forEach((part, index) => {
    const isCode = index % 2 === 1 && index < parts.length - 1;
    if (isCode) {
      box.append(el("pre", null, [decodeEntities(part.replace(/^\n/, "").replace(/\n$/, ""))]));
    } else {
      const text = index % 2 === 1 ? "```" + part : part; // an unclosed ``` stays as typed
      // Slack drops the line break right after a closing ```.
      box.append(...lines(index ? text.replace(/^\n/, "") : text, ctx));
    }
  });
  return box;
}

/** A plain_text object's text: no formatting, emoji shortcodes when `emoji` is not false. */
export function renderPlain(textObject) {
  const text = decodeEntities(String(textObject?.text ?? ""));
  return document.createTextNode(textObject?.emoji === false ? text : emojiText(text));
}
