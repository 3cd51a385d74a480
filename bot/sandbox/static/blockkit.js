// Block Kit as DOM, for messages, modals and the Home tab. Interactive elements call
// ctx.act({block_index, action_id, value}); inputs are read back with readState().
// A block or element this file does not know is shown as a labelled raw block, never dropped.
import { decodeEntities, emojiText, renderMrkdwn, renderPlain } from "./mrkdwn.js";

export const BLOCKS = [
  "header", "section", "divider", "context", "image", "actions", "input", "rich_text", "table", "markdown",
];
export const ELEMENTS = [
  "button", "overflow", "static_select", "multi_static_select", "users_select", "channels_select",
  "conversations_select", "datepicker", "timepicker", "plain_text_input", "number_input",
  "email_text_input", "url_text_input", "checkboxes", "radio_buttons", "image",
];

function el(tag, className, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const child of children) if (child != null) node.append(child);
  return node;
}

export function blockId(block, index) {
  return block.block_id || `sandbox-block-${index}`;
}

/** A text object: mrkdwn or plain_text. */
export function text(object, ctx) {
  if (!object) return el("span");
  if (object.type === "mrkdwn") return renderMrkdwn(object.text, ctx);
  return el("span", "plain", [renderPlain(object)]);
}

function raw(kind, what, object) {
  const box = el("div", "bk-raw");
  box.dataset.rawType = String(object?.type ?? "");
  box.append(
    el("div", "bk-raw-label", [`${kind} "${String(object?.type ?? "?")}" ${what}`]),
    el("pre", null, [JSON.stringify(object, null, 2)]),
  );
  return box;
}

/** Blocks as a list of nodes (each tagged with its type and index). */
export function renderBlocks(blocks, ctx) {
  return (blocks || []).map((block, index) => {
    const render = RENDER[block?.type];
    const node = render ? render(block, { ...ctx, blockIndex: index }) : raw("Block", "is not rendered by the sandbox; as sent:", block);
    const wrap = el("div", `bk-block bk-${render ? block.type : "unknown"}`, [node]);
    wrap.dataset.blockType = String(block?.type ?? "");
    wrap.dataset.blockIndex = String(index);
    wrap.dataset.blockId = blockId(block || {}, index);
    return wrap;
  });
}

const RENDER = {
  header: (b) => el("div", "bk-header-text", [renderPlain(b.text)]),
  divider: () => el("hr"),
  section: (b, ctx) => {
    const body = el("div", "bk-section-body");
    if (b.text) body.append(text(b.text, ctx));
    if (b.fields) body.append(el("div", "bk-fields", b.fields.map((f) => text(f, ctx))));
    const row = el("div", "bk-section-row", [body]);
    if (b.accessory) row.append(el("div", "bk-accessory", [element(b.accessory, ctx)]));
    return row;
  },
  context: (b, ctx) =>
    el(
      "div",
      "bk-context-row",
      (b.elements || []).map((e) => (e.type === "image" ? image(e, "bk-context-image") : text(e, ctx))),
    ),
  image: (b, ctx) => el("figure", null, [b.title ? el("figcaption", null, [text(b.title, ctx)]) : null, image(b, "bk-image")]),
  actions: (b, ctx) => el("div", "bk-actions-row", (b.elements || []).map((e) => element(e, ctx))),
  input: (b, ctx) => {
    const id = blockId(b, ctx.blockIndex);
    const box = el("label", "bk-input-field");
    const label = el("span", "bk-label", [renderPlain(b.label)]);
    if (b.optional) label.append(el("span", "bk-optional", [" (optional)"]));
    box.append(label, element(b.element, { ...ctx, inInput: true, dispatch: !!b.dispatch_action }));
    if (b.hint) box.append(el("span", "bk-hint", [renderPlain(b.hint)]));
    const error = el("span", "bk-input-error", [ctx.errors?.[id] ? emojiText(ctx.errors[id]) : ""]);
    error.setAttribute("role", "alert");
    box.append(error);
    box.dataset.required = b.optional ? "" : "required";
    return box;
  },
  rich_text: (b, ctx) => el("div", "bk-rich", (b.elements || []).map((e) => richBlock(e, ctx))),
  table: (b, ctx) => {
    const align = (b.column_settings || []).map((c) => c?.align || "left");
    const rows = (b.rows || []).map((row, r) =>
      el(
        "tr",
        null,
        row.map((cell, c) => {
          const td = el(r === 0 ? "th" : "td", null, [
            cell.type === "raw_text" ? document.createTextNode(emojiText(String(cell.text ?? ""))) : richBlock(cell, ctx),
          ]);
          td.style.textAlign = align[c] || "left";
          return td;
        }),
      ),
    );
    return el("table", "bk-table", [el("tbody", null, rows)]);
  },
  // Standard markdown, drawn with the mrkdwn renderer after mapping its few differences.
  markdown: (b, ctx) =>
    renderMrkdwn(
      String(b.text ?? "")
        .replace(/\*\*(.+?)\*\*/g, "*$1*")
        .replace(/^#{1,6}\s+(.+)$/gm, "*$1*")
        .replace(/\[([^\]]+)\]\((https?:[^)\s]+)\)/g, "<$2|$1>"),
      ctx,
    ),
};

function image(object, className) {
  const img = el("img", className);
  img.alt = String(object.alt_text ?? "");
  const url = object.image_url || object.slack_file?.url || "";
  if (/^(https?:|\/)/.test(url)) img.src = url;
  return img;
}

// -- rich_text --------------------------------------------------------------------------------

function richBlock(node, ctx) {
  switch (node?.type) {
    case "rich_text_section":
      return el("div", "bk-rich-section", (node.elements || []).map((e) => richInline(e, ctx)));
    case "rich_text_preformatted":
      return el("pre", null, (node.elements || []).map((e) => richInline(e, ctx)));
    case "rich_text_quote":
      return el("blockquote", null, (node.elements || []).map((e) => richInline(e, ctx)));
    case "rich_text_list": {
      const list = el(node.style === "ordered" ? "ol" : "ul", "bk-rich-list");
      list.style.marginLeft = `${(node.indent || 0) * 20}px`;
      if (node.offset) list.start = node.offset + 1;
      for (const item of node.elements || []) list.append(el("li", null, [richBlock(item, ctx)]));
      return list;
    }
    case "rich_text":
      return RENDER.rich_text(node, ctx);
    default:
      return raw("Rich text element", "is not rendered by the sandbox; as sent:", node);
  }
}

function richInline(node, ctx) {
  const style = node?.style || {};
  let out;
  switch (node?.type) {
    case "text":
      out = document.createTextNode(String(node.text ?? ""));
      break;
    case "link": {
      const label = String(node.text || node.url || "");
      out = /^(https?:|mailto:)/i.test(String(node.url)) ? el("a", null, [label]) : document.createTextNode(label);
      if (out.tagName) {
        out.href = node.url;
        out.target = "_blank";
        out.rel = "noopener noreferrer";
      }
      break;
    }
    case "user":
      out = el("span", "mention mention-user", [`@${ctx.users[node.user_id] || node.user_id}`]);
      break;
    case "channel":
      out = el("span", "mention mention-channel", [`#${ctx.channels[node.channel_id] || node.channel_id}`]);
      break;
    case "usergroup":
      out = el("span", "mention mention-group", [`@${node.usergroup_id}`]);
      break;
    case "broadcast":
      out = el("span", "mention mention-broadcast", [`@${node.range}`]);
      break;
    case "emoji":
      out = document.createTextNode(node.unicode ? String.fromCodePoint(...node.unicode.split("-").map((p) => parseInt(p, 16))) : emojiText(`:${node.name}:`));
      break;
    case "date":
      out = renderMrkdwn(`<!date^${node.timestamp}^${node.format}|${node.fallback || ""}>`, ctx);
      break;
    default:
      return raw("Rich text element", "is not rendered by the sandbox; as sent:", node);
  }
  for (const [flag, tag] of [["code", "code"], ["strike", "s"], ["italic", "i"], ["bold", "b"]]) {
    if (style[flag]) out = el(tag, null, [out]);
  }
  return out;
}

// -- elements ---------------------------------------------------------------------------------

function options(element) {
  const list = [...(element.options || [])];
  for (const group of element.option_groups || []) list.push(...(group.options || []));
  return list;
}

function act(ctx, element, value) {
  const run = () => ctx.act({ block_index: ctx.blockIndex, action_id: element.action_id, value });
  if (element.confirm) confirmThen(element.confirm, ctx, run);
  else run();
}

/** Slack's confirm dialog before an action. */
function confirmThen(confirm, ctx, run) {
  const dialog = el("div", "bk-confirm", [
    el("div", "bk-confirm-box", [
      el("h3", null, [renderPlain(confirm.title)]),
      text(confirm.text, ctx),
      el("div", "bk-confirm-buttons"),
    ]),
  ]);
  const buttons = dialog.querySelector(".bk-confirm-buttons");
  const deny = el("button", "bk-button", [renderPlain(confirm.deny || { text: "Cancel" })]);
  const ok = el("button", `bk-button ${confirm.style === "danger" ? "danger" : "primary"}`, [renderPlain(confirm.confirm || { text: "Yes" })]);
  deny.onclick = () => dialog.remove();
  ok.onclick = () => {
    dialog.remove();
    run();
  };
  buttons.append(deny, ok);
  document.body.append(dialog);
}

function element(e, ctx) {
  const node = build(e, ctx);
  if (node && e?.action_id) node.dataset.actionId = e.action_id;
  if (node && e?.type) node.dataset.elementType = e.type;
  return node || raw("Element", "is not rendered by the sandbox; as sent:", e);
}

function build(e, ctx) {
  switch (e?.type) {
    case "button": {
      const button = el("button", `bk-button ${e.style || ""}`, [renderPlain(e.text)]);
      button.type = "button";
      button.onclick = () => {
        if (e.url && /^https?:/i.test(e.url)) window.open(e.url, "_blank", "noopener");
        act(ctx, e, e.value ?? null);
      };
      return button;
    }
    case "overflow": {
      const box = el("span", "bk-overflow");
      const toggle = el("button", "bk-button bk-overflow-toggle", ["⋮"]);
      toggle.type = "button";
      toggle.setAttribute("aria-label", "More actions");
      const menu = el("div", "bk-menu");
      menu.hidden = true;
      for (const option of options(e)) {
        const item = el("button", "bk-menu-item", [renderPlain(option.text)]);
        item.type = "button";
        item.onclick = () => {
          menu.hidden = true;
          if (option.url && /^https?:/i.test(option.url)) window.open(option.url, "_blank", "noopener");
          act(ctx, e, option.value);
        };
        menu.append(item);
      }
      toggle.onclick = () => (menu.hidden = !menu.hidden);
      box.append(toggle, menu);
      return box;
    }
    case "static_select":
    case "multi_static_select":
    case "users_select":
    case "channels_select":
    case "conversations_select": {
      const select = el("select", "bk-select");
      const multi = e.type.startsWith("multi_");
      select.multiple = multi;
      let choices = options(e).map((o) => [o.value, renderPlain(o.text).textContent]);
      if (e.type === "users_select") choices = Object.entries(ctx.users);
      if (e.type !== "static_select" && e.type !== "multi_static_select" && e.type !== "users_select") {
        choices = Object.entries(ctx.channels);
      }
      if (!multi) {
        const placeholder = el("option", null, [e.placeholder ? renderPlain(e.placeholder).textContent : "Select an item"]);
        placeholder.value = "";
        select.append(placeholder);
      }
      const initial = new Set(
        [e.initial_option?.value, ...(e.initial_options || []).map((o) => o.value), e.initial_user, e.initial_channel, e.initial_conversation].filter(Boolean),
      );
      for (const [value, label] of choices) {
        const option = el("option", null, [label]);
        option.value = value;
        option.selected = initial.has(value);
        select.append(option);
      }
      if (!ctx.inInput || ctx.dispatch) select.onchange = () => select.value && act(ctx, e, select.value);
      return select;
    }
    case "datepicker":
    case "timepicker": {
      const input = el("input", "bk-text");
      input.type = e.type === "datepicker" ? "date" : "time";
      input.value = e.initial_date || e.initial_time || "";
      if (!ctx.inInput || ctx.dispatch) input.onchange = () => act(ctx, e, input.value);
      return input;
    }
    case "plain_text_input":
    case "number_input":
    case "email_text_input":
    case "url_text_input": {
      const input = e.multiline ? el("textarea", "bk-text") : el("input", "bk-text");
      if (!e.multiline) input.type = { number_input: "text", email_text_input: "email", url_text_input: "url" }[e.type] || "text";
      if (e.type === "number_input") input.inputMode = e.is_decimal_allowed ? "decimal" : "numeric";
      input.value = e.initial_value ?? "";
      if (e.placeholder) input.placeholder = renderPlain(e.placeholder).textContent;
      if (e.max_length) input.maxLength = e.max_length;
      input.name = e.action_id || "";
      return input;
    }
    case "checkboxes":
    case "radio_buttons": {
      const box = el("div", "bk-choices");
      const initial = new Set([e.initial_option?.value, ...(e.initial_options || []).map((o) => o.value)].filter(Boolean));
      const group = `${e.action_id}-${Math.random().toString(36).slice(2)}`;
      for (const option of options(e)) {
        const input = el("input");
        input.type = e.type === "checkboxes" ? "checkbox" : "radio";
        input.name = group;
        input.value = option.value;
        input.checked = initial.has(option.value);
        if (!ctx.inInput || ctx.dispatch) input.onchange = () => act(ctx, e, option.value);
        box.append(el("label", "bk-choice", [input, text(option.text, ctx)]));
      }
      return box;
    }
    case "image":
      return image(e, "bk-accessory-image");
    default:
      return null;
  }
}

/** A view's state.values from its rendered inputs, as Slack sends it on submit. */
export function readState(container, blocks) {
  const values = {};
  container.querySelectorAll(".bk-block").forEach((wrap) => {
    const block = blocks[Number(wrap.dataset.blockIndex)];
    const e = block?.element || block?.accessory;
    const elements = block?.type === "actions" ? block.elements || [] : e ? [e] : [];
    for (const element of elements) {
      if (!element?.action_id) continue;
      const node = wrap.querySelector(`[data-action-id="${CSS.escape(element.action_id)}"]`);
      if (!node) continue;
      const value = stateOf(element, node);
      if (value === undefined) continue;
      (values[wrap.dataset.blockId] ||= {})[element.action_id] = value;
    }
  });
  return values;
}

function stateOf(e, node) {
  const chosen = (value) => {
    const option = options(e).find((o) => o.value === value);
    return option ? { text: option.text, value: option.value } : null;
  };
  switch (e.type) {
    case "plain_text_input":
    case "email_text_input":
    case "url_text_input":
    case "number_input":
      return { type: e.type, value: node.value === "" ? null : node.value };
    case "static_select":
      return { type: e.type, selected_option: node.value ? chosen(node.value) : null };
    case "multi_static_select":
      return { type: e.type, selected_options: [...node.selectedOptions].map((o) => chosen(o.value)).filter(Boolean) };
    case "users_select":
      return { type: e.type, selected_user: node.value || null };
    case "channels_select":
      return { type: e.type, selected_channel: node.value || null };
    case "conversations_select":
      return { type: e.type, selected_conversation: node.value || null };
    case "datepicker":
      return { type: e.type, selected_date: node.value || null };
    case "timepicker":
      return { type: e.type, selected_time: node.value || null };
    case "checkboxes":
      return { type: e.type, selected_options: [...node.querySelectorAll("input:checked")].map((i) => chosen(i.value)).filter(Boolean) };
    case "radio_buttons": {
      const picked = node.querySelector("input:checked");
      return { type: e.type, selected_option: picked ? chosen(picked.value) : null };
    }
    default:
      return undefined;
  }
}

/** Slack's own checks before a submit reaches the app: required fields and lengths. */
export function clientErrors(container, blocks) {
  const errors = {};
  blocks.forEach((block, index) => {
    if (block?.type !== "input" || !block.element) return;
    const id = blockId(block, index);
    const node = container.querySelector(`.bk-block[data-block-index="${index}"] [data-action-id]`);
    if (!node) return;
    const value = "value" in node && node.tagName !== "DIV" ? node.value : node.querySelector("input:checked") ? "x" : "";
    const e = block.element;
    if (!block.optional && !value) errors[id] = "Please fill out this field.";
    else if (value && e.min_length && value.length < e.min_length) errors[id] = `Must be at least ${e.min_length} characters.`;
    else if (value && e.type === "number_input" && Number.isNaN(Number(value))) errors[id] = "Enter a number.";
  });
  return errors;
}

export { decodeEntities };
