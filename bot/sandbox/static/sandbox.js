// The sandbox page: a Slack-like client over /sandbox/state (long-polled). Every action goes to
// the sandbox server, which turns it into a signed Slack request to the app; what the app posts
// comes back through the state. All text is put in the page as text nodes, never as HTML.
import { clientErrors, readState, renderBlocks, text } from "./blockkit.js";
import { emojiText, renderMrkdwn } from "./mrkdwn.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const view = {
  user: params.get("user") || localStorage.getItem("sandbox-user") || "",
  channel: params.get("channel") || "",
  tab: "messages", // in the app's DM: "home" or "messages"
  thread: null, // ts of the open thread
  state: null,
  renderedMessages: "",
  renderedThread: "",
  renderedHome: "",
  modalKey: "",
  seen: JSON.parse(localStorage.getItem("sandbox-seen") || "{}"),
};

function el(tag, className, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const child of children) if (child != null) node.append(child);
  return node;
}

function toast(message, kind = "info") {
  const note = el("div", `toast ${kind}`, [message]);
  $("toasts").append(note);
  setTimeout(() => note.remove(), kind === "error" ? 9000 : 6000);
}

async function post(path, body) {
  const response = await fetch(`/sandbox/${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user: view.user, ...body }),
  });
  let answer = {};
  try {
    answer = await response.json();
  } catch {
    answer = { ok: false, error: `HTTP ${response.status}` };
  }
  if (!response.ok && !answer.error) answer.error = JSON.stringify(answer.detail ?? answer);
  if (answer.error) toast(answer.error, "error");
  return answer;
}

function names() {
  const s = view.state;
  const users = { [s.bot.id]: s.bot.name };
  for (const p of s.people) users[p.id] = p.name.toLowerCase();
  const channels = Object.fromEntries(s.channels.map((c) => [c.id, c.name]));
  return { users, channels, timeZone: s.time_zone || undefined };
}

function personName(id) {
  const s = view.state;
  if (id === s.bot.id) return "switchboard";
  if (id === "USLACKBOT") return "Slackbot";
  return s.people.find((p) => p.id === id)?.name || id || "someone";
}

function avatar(id, fromApp) {
  const name = fromApp ? "switchboard" : personName(id);
  const box = el("div", `avatar ${fromApp ? "app" : ""}`, [fromApp ? "⚡" : name.slice(0, 1).toUpperCase()]);
  let hue = 0;
  for (const ch of name) hue = (hue * 31 + ch.charCodeAt(0)) % 360;
  if (!fromApp) box.style.background = `hsl(${hue} 45% 45%)`;
  return box;
}

function time(ts) {
  const date = new Date(Number(ts) * 1000);
  return new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: view.state.time_zone || undefined }).format(date);
}

// -- messages ---------------------------------------------------------------------------------

function renderMessage(m, channel, { inThread = false } = {}) {
  const ctx = {
    ...names(),
    act: (action) => click({ channel, message_ts: m.ts, action, container: null }),
  };
  const box = el("article", `message ${m.ephemeral ? "ephemeral" : ""}`);
  box.dataset.ts = m.ts;
  box.dataset.channel = channel;
  const fromApp = m.from_app;
  if (fromApp) box.dataset.fromApp = "true";
  const head = el("div", "message-head", [
    el("span", "sender", [fromApp ? "switchboard" : personName(m.user)]),
    fromApp ? el("span", "app-badge", ["APP"]) : null,
    el("span", "time", [time(m.ts)]),
    m.edited ? el("span", "edited", ["(edited)"]) : null,
  ]);
  const body = el("div", "message-body", [head]);
  if (m.ephemeral) {
    const note = el("div", "only-you", ["👁 Only visible to you"]);
    const dismiss = el("button", "link-button", ["Dismiss"]);
    dismiss.type = "button";
    dismiss.onclick = () => box.remove();
    note.append(" · ", dismiss);
    body.prepend(note);
  }
  if (m.blocks.length) {
    const blocks = el("div", "blocks", renderBlocks(m.blocks, ctx));
    body.append(blocks);
  } else if (m.text) {
    body.append(renderMrkdwn(m.text, names()));
  }
  for (const attachment of m.attachments) body.append(renderAttachment(attachment, ctx));
  for (const file of m.files) body.append(renderFile(file));
  if (!inThread && m.reply_count && m.thread_ts === m.ts) {
    const replies = el("button", "replies link-button", [`${m.reply_count} ${m.reply_count === 1 ? "reply" : "replies"}`]);
    replies.type = "button";
    replies.onclick = () => openThread(m.ts);
    body.append(replies);
  }
  box.append(avatar(m.user, fromApp), body);
  return box;
}

function renderAttachment(a, ctx) {
  const box = el("div", "attachment");
  box.style.borderLeftColor = /^#?[0-9a-f]{3,8}$/i.test(a.color || "") ? (a.color.startsWith("#") ? a.color : `#${a.color}`) : "#ddd";
  if (a.blocks) box.append(...renderBlocks(a.blocks, ctx));
  if (a.title) box.append(el("div", "attachment-title", [emojiText(a.title)]));
  if (a.text) box.append(renderMrkdwn(a.text, names()));
  for (const f of a.fields || []) box.append(el("div", "attachment-field", [el("b", null, [f.title || ""]), " ", f.value || ""]));
  return box;
}

function renderFile(file) {
  if (file.image) {
    const figure = el("figure", "file-image");
    const img = el("img");
    img.src = file.url;
    img.alt = file.title;
    figure.append(img, el("figcaption", null, [file.title]));
    return figure;
  }
  const link = el("a", "file-chip", [`📎 ${file.title}`]);
  link.href = file.url;
  return link;
}

function topLevel(messages) {
  return messages.filter((m) => !m.thread_ts || m.thread_ts === m.ts);
}

function renderMessages() {
  const s = view.state;
  const list = s.messages[view.channel] || [];
  const key = JSON.stringify([view.channel, view.user, list]);
  if (key === view.renderedMessages) return;
  view.renderedMessages = key;
  const pane = $("messages");
  const atBottom = pane.scrollHeight - pane.scrollTop - pane.clientHeight < 40;
  pane.replaceChildren(...topLevel(list).map((m) => renderMessage(m, view.channel)));
  if (!list.length) pane.append(el("div", "empty", [emptyHint()]));
  if (atBottom || !pane.dataset.scrolled) pane.scrollTop = pane.scrollHeight;
  pane.dataset.scrolled = "1";
}

function emptyHint() {
  return view.channel === view.state.dm
    ? "This is your DM with switchboard. Ask it anything: “is churn healthy?”"
    : "Nothing here yet. Try /ops help, or @switchboard with a question.";
}

function openThread(ts) {
  view.thread = ts;
  view.renderedThread = "";
  $("thread").hidden = false;
  renderThread();
}

function renderThread() {
  if (!view.thread) return;
  const list = view.state.messages[view.channel] || [];
  const shown = list.filter((m) => m.ts === view.thread || m.thread_ts === view.thread);
  const key = JSON.stringify([view.channel, shown]);
  if (key === view.renderedThread) return;
  view.renderedThread = key;
  const pane = $("thread-messages");
  pane.replaceChildren(...shown.map((m) => renderMessage(m, view.channel, { inThread: true })));
  pane.scrollTop = pane.scrollHeight; // the newest reply, as Slack opens a thread
  for (const img of pane.querySelectorAll("img")) img.addEventListener("load", () => (pane.scrollTop = pane.scrollHeight), { once: true });
}

// -- home and modals --------------------------------------------------------------------------

function renderHome() {
  const home = view.state.home;
  const key = JSON.stringify([view.user, home]);
  if (key === view.renderedHome) return;
  view.renderedHome = key;
  const pane = $("home");
  if (!home) {
    pane.replaceChildren(el("div", "empty", ["Opening the Home tab…"]));
    return;
  }
  const ctx = { ...names(), act: (action) => click({ view_id: home.id, action, container: pane }) };
  pane.replaceChildren(el("div", "blocks", renderBlocks(home.blocks, ctx)));
}

function renderModals() {
  const stack = view.state.modals;
  const top = stack[stack.length - 1];
  const key = top ? `${top.id}:${top.hash}` : "";
  const root = $("modals");
  if (key !== view.modalKey) {
    view.modalKey = key;
    root.replaceChildren();
    if (top) root.append(buildModal(top));
  }
  if (top) showErrors(root, top.errors || {});
}

function buildModal(modal) {
  const form = el("form", "modal");
  form.setAttribute("role", "dialog");
  form.setAttribute("aria-label", modal.title?.text || "Modal");
  const body = el("div", "modal-body");
  const ctx = {
    ...names(),
    errors: modal.errors || {},
    act: (action) => click({ view_id: modal.id, action, container: body }),
  };
  body.append(...renderBlocks(modal.blocks, ctx));
  const close = el("button", "bk-button", [modal.close?.text ? emojiText(modal.close.text) : "Cancel"]);
  close.type = "button";
  close.onclick = () => post("close", { view_id: modal.id });
  const footer = el("footer", null, [close]);
  if (modal.submit) {
    const submit = el("button", "bk-button primary", [emojiText(modal.submit.text)]);
    submit.type = "submit";
    footer.append(submit);
  }
  const banner = el("div", "modal-banner");
  banner.hidden = true;
  form.append(el("header", null, [el("h2", null, [emojiText(modal.title?.text || "")])]), banner, body, footer);
  form.onsubmit = async (event) => {
    event.preventDefault();
    const local = clientErrors(body, modal.blocks);
    if (Object.keys(local).length) {
      showErrors(form, local);
      return;
    }
    showErrors(form, {});
    const answer = await post("submit", { view_id: modal.id, values: readState(body, modal.blocks) });
    banner.hidden = !answer.error;
    banner.textContent = answer.error || "";
  };
  return el("div", "modal-backdrop", [form]);
}

function showErrors(root, errors) {
  root.querySelectorAll(".bk-block").forEach((wrap) => {
    const slot = wrap.querySelector(".bk-input-error");
    if (!slot) return;
    const message = errors[wrap.dataset.blockId] || "";
    slot.textContent = message ? emojiText(message) : "";
    wrap.classList.toggle("has-error", !!message);
  });
}

async function click({ channel, message_ts, view_id, action, container }) {
  const s = view.state;
  let state = {};
  if (container) {
    const blocks = view_id === s.home?.id ? s.home.blocks : s.modals.find((m) => m.id === view_id)?.blocks || [];
    state = readState(container, blocks);
  }
  await post("click", { channel, message_ts, view_id, action, state });
}

// -- sidebar, switcher, controls ----------------------------------------------------------------

function renderSidebar() {
  const s = view.state;
  $("team-name").textContent = s.team;
  const switcher = $("user-switcher");
  const options = s.people.map((p) => {
    const option = el("option", null, [`${p.name} — ${p.role}`]);
    option.value = p.id;
    option.selected = p.id === view.user;
    return option;
  });
  if (switcher.options.length !== options.length) switcher.replaceChildren(...options);
  switcher.value = view.user;
  $("who-role").textContent = s.people.find((p) => p.id === view.user)?.role || "";
  const unread = (id) => {
    const latest = (s.messages[id] || []).at(-1)?.ts;
    return !!latest && id !== view.channel && latest > (view.seen[`${view.user}:${id}`] || "");
  };
  const homeActive = view.channel === s.dm && view.tab === "home";
  // Rebuilt only when what they show changes: a list replaced under a person's click (between
  // mouse down and up) would swallow the click.
  const key = JSON.stringify([view.user, view.channel, homeActive, s.channels, s.dm, [...s.channels.map((c) => c.id), s.dm].map(unread)]);
  if ($("sidebar").dataset.key !== key) {
    $("sidebar").dataset.key = key;
    const item = (id, label, extra = "") => {
      const here = id === view.channel && !(id === s.dm && homeActive);
      const li = el("li", `${here ? "active" : ""} ${unread(id) ? "unread" : ""} ${extra}`);
      const button = el("button", "nav-item", [label]);
      button.type = "button";
      button.dataset.channel = id;
      button.onclick = () => openChannel(id);
      li.append(button);
      return li;
    };
    $("channel-list").replaceChildren(...s.channels.map((c) => item(c.id, `# ${c.name}`)));
    $("dm-list").replaceChildren(item(s.dm, "⚡ switchboard", "app"));
    const home = el("li", homeActive ? "active" : "");
    const homeButton = el("button", "nav-item", ["⚡ switchboard · Home"]);
    homeButton.type = "button";
    homeButton.onclick = () => openChannel(s.dm, "home");
    home.append(homeButton);
    $("apps").replaceChildren(home);
  }
  $("clock").textContent = `Sandbox clock: ${s.clock.replace("T", " ")}`;
  renderControls();
}

function renderControls() {
  const box = $("controls");
  const key = JSON.stringify(view.state.controls);
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  box.replaceChildren(
    ...view.state.controls.map((control) => {
      const form = el("form", "control");
      form.dataset.control = control.name;
      form.title = control.help;
      const inputs = control.fields.map((field) => {
        const input = field.kind === "choice" ? el("select") : el("input");
        input.name = field.name;
        input.setAttribute("aria-label", field.label);
        if (field.kind === "choice") {
          for (const choice of field.choices) {
            const option = el("option", null, [choice]);
            option.value = choice;
            input.append(option);
          }
        } else {
          input.type = field.kind === "number" ? "number" : "text";
          input.step = "any";
        }
        input.value = field.default;
        return el("label", "control-field", [field.label, " ", input]);
      });
      const run = el("button", "control-run", [control.label]);
      run.type = "submit";
      form.append(run, ...inputs);
      form.onsubmit = async (event) => {
        event.preventDefault();
        const values = Object.fromEntries(new FormData(form).entries());
        run.disabled = true;
        try {
          const answer = await post(`controls/${control.name}`, { values });
          if (answer.said) toast(answer.said);
        } finally {
          run.disabled = false;
        }
      };
      return form;
    }),
  );
}

function openChannel(id, tab = "messages") {
  view.channel = id;
  view.tab = id === view.state.dm ? tab : "messages";
  view.thread = null;
  $("thread").hidden = true;
  view.renderedMessages = "";
  if (view.tab === "home") post("home", {}); // Slack sends app_home_opened on every visit
  render();
}

function renderMain() {
  const s = view.state;
  const isDm = view.channel === s.dm;
  const channel = s.channels.find((c) => c.id === view.channel);
  $("main-title").textContent = isDm ? "⚡ switchboard" : `# ${channel?.name || view.channel}`;
  const tabs = $("tabs");
  const tabsKey = JSON.stringify([isDm, view.tab]);
  if (tabs.dataset.key !== tabsKey) {
    tabs.dataset.key = tabsKey;
    tabs.replaceChildren();
  }
  if (isDm && !tabs.children.length) {
    for (const [tab, label] of [["home", "Home"], ["messages", "Messages"]]) {
      const button = el("button", `tab ${view.tab === tab ? "active" : ""}`, [label]);
      button.type = "button";
      button.setAttribute("role", "tab");
      button.setAttribute("aria-selected", String(view.tab === tab));
      button.onclick = () => openChannel(s.dm, tab);
      tabs.append(button);
    }
  }
  const home = isDm && view.tab === "home";
  $("home").hidden = !home;
  $("messages").hidden = home;
  $("composer").hidden = home;
  if (home) renderHome();
  else renderMessages();
  renderThread();
  const latest = (s.messages[view.channel] || []).at(-1)?.ts;
  if (latest) {
    view.seen[`${view.user}:${view.channel}`] = latest;
    localStorage.setItem("sandbox-seen", JSON.stringify(view.seen));
  }
}

function render() {
  if (!view.state) return;
  renderSidebar();
  renderMain();
  renderModals();
  document.body.dataset.version = String(view.state.version);
  document.body.dataset.user = view.user;
}

// -- composer ---------------------------------------------------------------------------------

async function sendFrom(textarea, threadTs) {
  const value = textarea.value;
  if (!value.trim()) return;
  textarea.value = "";
  const answer = await post("send", { channel: view.channel, text: value, thread_ts: threadTs });
  if (answer.error) textarea.value = value;
}

function wireComposer() {
  $("composer").onsubmit = (event) => {
    event.preventDefault();
    sendFrom($("composer-text"));
  };
  $("thread-composer").onsubmit = (event) => {
    event.preventDefault();
    sendFrom($("thread-text"), view.thread);
  };
  for (const id of ["composer-text", "thread-text"]) {
    $(id).addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        event.target.form.requestSubmit();
      }
    });
  }
  $("thread-close").onclick = () => {
    view.thread = null;
    $("thread").hidden = true;
  };
  $("user-switcher").onchange = (event) => {
    view.user = event.target.value;
    localStorage.setItem("sandbox-user", view.user);
    view.renderedMessages = view.renderedHome = view.modalKey = "";
    refresh(-1);
  };
  $("shortcuts-button").onclick = () => {
    const menu = $("shortcuts-menu");
    menu.replaceChildren(
      ...view.state.shortcuts.map((s) => {
        const item = el("button", "bk-menu-item", [s.name]);
        item.type = "button";
        item.onclick = () => {
          menu.hidden = true;
          post("shortcut", { callback_id: s.callback_id });
        };
        return item;
      }),
    );
    menu.hidden = !menu.hidden;
  };
}

// -- live updates -----------------------------------------------------------------------------

let polling = 0;

async function refresh(after) {
  const mine = ++polling;
  const response = await fetch(`/sandbox/state?user=${encodeURIComponent(view.user)}&after=${after}`);
  if (mine !== polling) return; // a newer poll (e.g. after switching user) took over
  if (!response.ok) throw new Error(`state: HTTP ${response.status}`);
  view.state = await response.json();
  if (!view.state.people.some((p) => p.id === view.user)) {
    view.user = view.state.me;
  }
  if (!view.channel || !(view.channel in view.state.messages)) view.channel = view.state.channels[0]?.id || view.state.dm;
  render();
}

async function poll() {
  for (;;) {
    try {
      await refresh(view.state ? view.state.version : -1);
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 1000)); // the server restarted or is busy
    }
  }
}

async function start() {
  wireComposer();
  const first = await fetch("/sandbox/state?user=" + encodeURIComponent(view.user || "-"));
  if (!first.ok || !view.user) {
    // No or unknown user yet: ask as the first person and let them switch.
    const any = await fetch("/sandbox/people").then((r) => r.json());
    view.user = any.default;
  }
  poll();
}

start();
