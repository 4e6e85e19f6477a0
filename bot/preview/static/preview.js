// The preview page: shows the chats the bot has with the personas, like the Telegram app,
// and sends what a person would (texts, taps, a shared contact...). It keeps no state of
// its own worth saving: the server (bot/preview/server.py) answers GET /api/state with
// everything, waiting while nothing changes, so new messages appear as the bot sends them.
//
// Text is never put into the page as HTML: messages are built node by node from their
// plain text and Telegram's entities, so nothing a bot or a content author writes can run.
"use strict";

const $ = (id) => document.getElementById(id);

const view = {
  chatId: null, // the chat on screen
  tag: "", // the server's fingerprint of what we showed last
  chats: [],
  chat: null,
  clock: null,
  seen: new Map(), // chat id -> how many bot messages the operator has seen there
  rendered: new Map(), // message id -> {key, node}
  poll: null, // AbortController of the running long poll
  keyboardOpen: false,
  keyboardKey: "",
  // After the persona sends something, the chat follows the bottom (as Telegram does) until
  // the operator scrolls up: the bot's answer, and a photo that loads late, stay in view.
  follow: false,
};

// ---------------------------------------------------------------------------------------
// Talking to the server

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body || {}),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    toast(data.error || `The preview refused that (${response.status}).`);
    throw new Error(data.error || response.statusText);
  }
  return data;
}

// Ends the running long poll so the next one fetches at once (after an action, or on
// switching chats).
function refresh() {
  view.tag = "";
  if (view.poll) view.poll.abort();
}

async function pollForever() {
  for (;;) {
    const controller = new AbortController();
    view.poll = controller;
    const chat = view.chatId;
    const query = new URLSearchParams({ tag: view.tag });
    if (chat !== null) query.set("chat", chat);
    try {
      const response = await fetch(`/api/state?${query}`, { signal: controller.signal });
      if (!response.ok) throw new Error(`state ${response.status}`);
      const state = await response.json();
      $("offline").hidden = true;
      // An answer for a chat we have left since is dropped; the next poll asks anew.
      if (view.chatId === null || state.chat.id === view.chatId) apply(state);
    } catch (error) {
      if (controller.signal.aborted) continue;
      $("offline").hidden = false;
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
}

// ---------------------------------------------------------------------------------------
// Applying the server's state

function apply(state) {
  const switched = view.chatId !== state.chat.id;
  view.chatId = state.chat.id;
  view.tag = state.tag;
  view.chats = state.chats;
  view.chat = state.chat;
  view.clock = state.clock;
  document.title = `Preview – ${state.bot.name}`;
  view.seen.set(state.chat.id, chatSummary(state.chat.id).bot_messages);
  if (location.hash !== `#chat=${state.chat.id}`) history.replaceState(null, "", `#chat=${state.chat.id}`);
  renderChatList();
  renderHeader(state.bot);
  renderMessages(switched);
  renderKeyboard(switched);
  renderCommands();
  renderComposer();
  renderClock();
  renderContent(state.content);
}

function chatSummary(id) {
  return view.chats.find((chat) => chat.id === id) || { bot_messages: 0 };
}

function roleOf(chat) {
  if (chat.kind === "group") return "group";
  return chat.staff ? "staff" : "patient";
}

function renderChatList() {
  const list = $("chat-list");
  list.replaceChildren(
    ...view.chats.map((chat) => {
      const button = el("button", { type: "button", class: "chat-item", "data-chat": chat.id });
      if (chat.id === view.chatId) button.setAttribute("aria-current", "true");
      const unread = chat.bot_messages - (view.seen.get(chat.id) || 0);
      const name = el("span", { class: "chat-name" }, chat.title);
      const role = el("span", { class: `chat-role ${roleOf(chat)}` }, roleOf(chat));
      const last = el("span", { class: "chat-last" }, chat.last ? snippet(chat.last) : "No messages yet");
      button.append(name, role, last);
      if (unread > 0 && chat.id !== view.chatId) {
        button.append(el("span", { class: "badge", "aria-label": `${unread} new` }, String(unread)));
      }
      button.addEventListener("click", () => openChat(chat.id));
      return el("li", {}, button);
    }),
  );
}

const KIND_LABELS = {
  photo: "📷 Photo", document: "📎 File", contact: "👤 Contact", location: "📍 Location",
  sticker: "Sticker", voice: "🎤 Voice message", audio: "🎵 Audio", video: "🎬 Video",
  animation: "GIF", video_note: "Video message",
};

function snippet(last) {
  const text = last.text.replace(/\s+/g, " ").trim();
  if (last.kind === "text") return text;
  const label = KIND_LABELS[last.kind] || "Message";
  return text ? `${label}: ${text}` : label;
}

function renderHeader(bot) {
  const chat = view.chat;
  const title = chat.kind === "private" ? bot.name : chat.title;
  $("chat-title").textContent = title;
  $("chat-avatar").textContent = initials(title);
  const you = chat.user ? `you are ${chat.user.name} (${roleOf(chat) === "group" ? "staff" : roleOf(chat)})` : "read only";
  // Who you are first: on a phone the end of this line is cut off.
  $("chat-subtitle").textContent = chat.kind === "private" ? `${you} · bot @${bot.username}` : `${you} · group`;
}

function initials(name) {
  return name.split(/\s+/).filter(Boolean).slice(0, 2).map((word) => word[0]).join("").toUpperCase();
}

// Messages are re-built only when they change (an edit replaces one node), so focus and
// scroll stay where the operator is, and the log announces only what is new.
function renderMessages(switched) {
  const box = $("messages");
  const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  if (switched) {
    for (const { node } of view.rendered.values()) node.remove();
    view.rendered.clear();
  }
  const messages = view.chat.messages;
  const keep = new Set(messages.map((message) => message.id));
  for (const [id, { node }] of view.rendered) {
    if (!keep.has(id)) {
      node.remove();
      view.rendered.delete(id);
    }
  }
  let added = false;
  let previous = $("empty-chat");
  for (const message of messages) {
    const key = JSON.stringify(message);
    const old = view.rendered.get(message.id);
    let node = old && old.node;
    if (!old || old.key !== key) {
      const fresh = renderMessage(message);
      if (old) replaceKeepingFocus(old.node, fresh);
      else added = true;
      node = fresh;
      view.rendered.set(message.id, { key, node });
    }
    if (previous.nextSibling !== node) previous.after(node);
    previous = node;
  }
  const empty = messages.length === 0;
  $("empty-chat").hidden = !(empty && view.chat.kind === "private" && view.chat.user);
  $("bot-description").textContent = view.chat.description || "";
  if (switched || view.follow || (added && nearBottom) || (added && messages.at(-1).out)) {
    scrollToBottom();
  }
}

function scrollToBottom() {
  const box = $("messages");
  box.scrollTop = box.scrollHeight;
}

// The persona sent something: show the bottom now and keep it shown while answers arrive.
function followBottom() {
  view.follow = true;
  scrollToBottom();
}

function replaceKeepingFocus(oldNode, newNode) {
  const focused = document.activeElement;
  const inside = oldNode.contains(focused);
  const controls = [...oldNode.querySelectorAll("button, a")];
  const index = inside ? controls.indexOf(focused) : -1;
  oldNode.replaceWith(newNode);
  if (inside) {
    const again = [...newNode.querySelectorAll("button, a")];
    (again[index] || again[0] || $("composer-input")).focus();
  }
}

function renderMessage(message) {
  const article = el("article", { class: `message ${message.out ? "out" : "in"}`, "data-message-id": message.id });
  const bubble = el("div", { class: "bubble" });
  if (view.chat.kind === "group") bubble.append(el("p", { class: "sender" }, message.sender));
  bubble.append(...attachment(message));
  if (message.text) {
    const text = el("div", { class: "text" });
    text.append(renderEntities(message.text, message.entities));
    bubble.append(text);
  }
  const meta = el("span", { class: "meta" });
  if (message.edited) meta.append(el("span", { class: "edited" }, "edited "));
  if (message.date) meta.append(el("time", {}, clockTime(message.date)));
  bubble.append(meta);
  article.append(bubble);
  if (message.inline_keyboard.length) article.append(inlineKeyboard(message));
  return article;
}

// Real time, in the clinic's time zone like the bot clock above (which may be ahead).
function clockTime(unixSeconds) {
  const zone = view.clock ? view.clock.timezone : undefined;
  return new Date(unixSeconds * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", timeZone: zone });
}

function attachment(message) {
  const parts = [];
  const file = message.file;
  if (message.kind === "photo") {
    if (file && file.url) {
      const { width, height } = message.photo || {};
      const img = el("img", { src: file.url, alt: message.text ? "Photo" : "Photo from the bot", loading: "lazy" });
      // A chart arrives before its bytes: once it has its height, keep the bottom in view.
      img.addEventListener("load", () => { if (view.follow) scrollToBottom(); });
      if (width && height) {
        img.width = width;
        img.height = height;
      }
      parts.push(el("a", { class: "photo", href: file.url, target: "_blank", rel: "noopener" }, img));
    } else {
      parts.push(el("p", { class: "placeholder" }, "📷 Photo"));
    }
  } else if (message.kind === "contact") {
    const contact = message.contact;
    const name = [contact.first_name, contact.last_name].filter(Boolean).join(" ");
    parts.push(
      el("div", { class: "contact-card" },
        el("span", { class: "contact-avatar", "aria-hidden": "true" }, initials(name || "?")),
        el("span", { class: "contact-text" },
          el("strong", {}, name),
          el("a", { href: `tel:${contact.phone_number.replace(/[^\d+]/g, "")}` }, contact.phone_number))),
    );
  } else if (message.kind === "location") {
    const { latitude, longitude } = message.location;
    parts.push(el("p", { class: "placeholder" }, `📍 Location ${latitude}, ${longitude}`));
  } else if (message.kind === "sticker") {
    parts.push(el("p", { class: "sticker", role: "img", "aria-label": "Sticker" }, message.emoji || "🖼"));
  } else if (file || message.kind in KIND_LABELS) {
    const label = KIND_LABELS[message.kind] || "File";
    const name = (file && file.name) || message.file_name || label;
    if (file && file.url) {
      const size = file.size ? ` · ${formatSize(file.size)}` : "";
      parts.push(el("a", { class: "file", href: file.url, download: name }, `⬇ ${name}${size}`));
    } else {
      parts.push(el("p", { class: "placeholder" }, message.out ? label : `${label}: ${name} (not stored in the preview)`));
    }
  } else if (message.kind === "other") {
    parts.push(el("p", { class: "placeholder" }, "A kind of message the preview cannot show"));
  }
  return parts;
}

function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function inlineKeyboard(message) {
  const keyboard = el("div", { class: "inline-keyboard", role: "group", "aria-label": "Buttons" });
  for (const row of message.inline_keyboard) {
    const line = el("div", { class: "keyboard-row" });
    for (const button of row) line.append(inlineButton(message, button));
    keyboard.append(line);
  }
  return keyboard;
}

function inlineButton(message, button) {
  if (button.kind === "url") {
    return el("a", { class: "inline-button link", href: safeUrl(button.value), target: "_blank", rel: "noopener noreferrer" }, `${button.text} ↗`);
  }
  const node = el("button", { type: "button", class: "inline-button" }, button.text);
  if (button.kind === "callback_data") {
    node.addEventListener("click", () => tap(message.id, button.value, node));
  } else if (button.kind === "copy_text") {
    node.addEventListener("click", () => navigator.clipboard.writeText(button.value).then(() => toast("Copied.")));
  } else {
    node.disabled = true;
    node.title = `A ${button.value} button: not available in the preview`;
  }
  return node;
}

function safeUrl(url) {
  return /^(https?:|tg:)/i.test(url) ? url : "#";
}

// ---------------------------------------------------------------------------------------
// Telegram entities -> DOM. Entities are UTF-16 offsets, which is what JavaScript strings
// index by, so slicing is exact even with emoji.

function renderEntities(text, entities) {
  const fragment = document.createDocumentFragment();
  const sorted = [...(entities || [])].sort((a, b) => a.offset - b.offset || b.length - a.length);
  build(fragment, text, 0, text.length, sorted, true);
  return fragment;
}

// Telegram's entities nest (bold inside a link...). Each entity takes the ones that start
// inside it as children; one that crosses its end is cut there.
function build(parent, text, start, end, entities, detect) {
  let position = start;
  let index = 0;
  let afterBlock = false;
  // A block (quote, code block) already ends its line: the newline after it in the text
  // would show as an empty line, which Telegram does not show.
  const between = (from, to) => {
    const piece = text.slice(from, to);
    return afterBlock && piece.startsWith("\n") ? piece.slice(1) : piece;
  };
  while (index < entities.length) {
    const entity = entities[index];
    const from = Math.max(entity.offset, position);
    const to = Math.min(entity.offset + entity.length, end);
    let next = index + 1;
    while (next < entities.length && entities[next].offset < to) next += 1;
    if (to > from) {
      plain(parent, between(position, from), detect);
      const [outer, inner] = entityNodes(entity, text.slice(from, to));
      const detectInside = detect && !NO_DETECTION.has(entity.type);
      build(inner, text, from, to, entities.slice(index + 1, next), detectInside);
      parent.append(outer);
      position = to;
      afterBlock = BLOCKS.has(entity.type);
    }
    index = next;
  }
  plain(parent, between(position, end), detect);
}

const BLOCKS = new Set(["blockquote", "expandable_blockquote", "pre"]);

// Inside these, nothing more is made tappable.
const NO_DETECTION = new Set(["code", "pre", "text_link", "url", "email", "bot_command"]);

// [the node to put in the parent, the node its text goes into]
function entityNodes(entity, covered) {
  if (entity.type === "pre") {
    const code = el("code", entity.language ? { class: `language-${entity.language}` } : {});
    return [el("pre", {}, code), code];
  }
  const node = entityNode(entity, covered);
  return [node, node];
}

function entityNode(entity, covered) {
  switch (entity.type) {
    case "bold": return el("strong");
    case "italic": return el("em");
    case "underline": return el("u");
    case "strikethrough": return el("s");
    case "code": return el("code");
    case "blockquote": return el("blockquote");
    case "expandable_blockquote": return el("blockquote", { class: "expandable" });
    case "spoiler": return spoiler();
    case "text_link": return link(entity.url);
    case "url": return link(/^[a-z][a-z0-9+.-]*:/i.test(covered) ? covered : `http://${covered}`);
    case "email": return el("a", { href: `mailto:${covered}` });
    case "bot_command": return commandButton(covered);
    default: return el("span", { class: `entity-${entity.type}` });
  }
}

function spoiler() {
  const node = el("span", { class: "spoiler", tabindex: "0", role: "button", "aria-label": "Hidden text: press to show" });
  const reveal = () => {
    node.classList.add("revealed");
    node.removeAttribute("role");
    node.removeAttribute("aria-label");
    node.removeAttribute("tabindex");
  };
  node.addEventListener("click", reveal);
  node.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      reveal();
    }
  });
  return node;
}

function link(url) {
  // tg://user?id=N is how the bot names a person; in the preview it opens their chat.
  const user = /^tg:\/\/user\?id=(\d+)$/.exec(url || "");
  if (user) {
    const id = Number(user[1]);
    const known = view.chats.some((chat) => chat.id === id);
    const node = el("button", { type: "button", class: "text-link", title: known ? "Open this person's chat" : "Not a persona of this preview" });
    if (known) node.addEventListener("click", () => openChat(id));
    else node.disabled = true;
    return node;
  }
  return el("a", { href: safeUrl(url), target: "_blank", rel: "noopener noreferrer" });
}

function commandButton(command) {
  const node = el("button", { type: "button", class: "text-link command" });
  node.addEventListener("click", () => sendText(command));
  return node;
}

// Like the Telegram app, commands and web addresses in plain text can be tapped.
const DETECT = /(^|[\s(])(\/[A-Za-z0-9_]{1,32})(?![\w/])|(https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"])/g;

function plain(parent, text, detect) {
  if (!text) return;
  if (!detect) {
    parent.append(text);
    return;
  }
  let position = 0;
  for (const match of text.matchAll(DETECT)) {
    const lead = match[1] || "";
    const start = match.index + lead.length;
    parent.append(text.slice(position, start));
    if (match[2]) {
      const node = commandButton(match[2]);
      node.textContent = match[2];
      parent.append(node);
      position = start + match[2].length;
    } else {
      parent.append(el("a", { href: match[3], target: "_blank", rel: "noopener noreferrer" }, match[3]));
      position = start + match[3].length;
    }
  }
  parent.append(text.slice(position));
}

// ---------------------------------------------------------------------------------------
// Keyboards, command menu, composer

function renderKeyboard(switched) {
  const box = $("reply-keyboard");
  const toggle = $("keyboard-toggle");
  const keyboard = view.chat.keyboard;
  if (!keyboard) {
    box.hidden = true;
    toggle.hidden = true;
    box.replaceChildren();
    view.keyboardKey = "";
    return;
  }
  const key = JSON.stringify(keyboard);
  if (key !== view.keyboardKey || switched) {
    // A new keyboard from the bot opens, unless it is a one-time keyboard already used.
    view.keyboardOpen = !keyboard.folded;
    view.keyboardKey = key;
    box.replaceChildren(
      ...keyboard.rows.map((row) => {
        const line = el("div", { class: "keyboard-row" });
        for (const button of row) line.append(replyButton(button));
        return line;
      }),
    );
  }
  toggle.hidden = false;
  box.hidden = !view.keyboardOpen;
  toggle.setAttribute("aria-expanded", String(view.keyboardOpen));
  toggle.setAttribute("aria-label", view.keyboardOpen ? "Hide the bot's keyboard" : "Show the bot's keyboard");
}

function replyButton(button) {
  const node = el("button", { type: "button", class: "reply-button" }, button.text);
  if (button.kind === "text") node.addEventListener("click", () => sendText(button.text));
  else if (button.kind === "contact" || button.kind === "location") {
    node.addEventListener("click", () => share(button.kind));
  } else {
    node.disabled = true;
    node.title = "Not available in the preview";
  }
  return node;
}

function renderCommands() {
  const commands = view.chat.commands;
  $("menu-button").hidden = commands.length === 0;
  $("command-list").replaceChildren(
    ...commands.map((command) => {
      const button = el("button", { type: "button", class: "command-item" },
        el("span", { class: "command-name" }, `/${command.command}`),
        el("span", { class: "command-description" }, command.description));
      button.addEventListener("click", () => {
        closePopups();
        sendText(`/${command.command}`);
      });
      return el("li", {}, button);
    }),
  );
}

function renderComposer() {
  const chat = view.chat;
  const input = $("composer-input");
  const writable = canWrite();
  enableComposer(writable);
  $("attach-button").hidden = chat.kind !== "private";
  $("attach-persona").textContent = chat.user ? chat.user.name : "";
  input.placeholder = !writable
    ? "No persona can write here (add a staff persona to preview.yaml)"
    : (chat.keyboard && chat.keyboard.placeholder) || `Message as ${chat.user.name}`;
}

function togglePopup(id, buttonId) {
  const popup = $(id);
  const opening = popup.hidden;
  closePopups();
  if (opening) {
    popup.hidden = false;
    $(buttonId).setAttribute("aria-expanded", "true");
    const first = popup.querySelector("button");
    if (first) first.focus();
  }
}

function closePopups(returnFocusTo) {
  for (const [id, buttonId] of [["command-menu", "menu-button"], ["attach-menu", "attach-button"]]) {
    const wasOpen = !$(id).hidden;
    $(id).hidden = true;
    $(buttonId).setAttribute("aria-expanded", "false");
    if (wasOpen && returnFocusTo) $(buttonId).focus();
  }
}

// ---------------------------------------------------------------------------------------
// What the persona does

// The persona can write once the state of the chat on screen has arrived: until then the
// composer is disabled, and nothing typed is cleared without being sent.
function canWrite() {
  return Boolean(view.chat && view.chat.id === view.chatId && view.chat.user);
}

function enableComposer(enabled) {
  $("composer-input").disabled = !enabled;
  $("send-button").disabled = !enabled;
}

async function sendText(text) {
  if (!canWrite()) return;
  followBottom();
  await post("/api/send", { chat: view.chatId, text });
  refresh();
}

async function share(kind) {
  closePopups();
  followBottom();
  await post("/api/share", { chat: view.chatId, kind });
  refresh();
}

async function tap(messageId, data, button) {
  button.classList.add("pending");
  // A tap on the newest message follows its answer; a tap on an old one leaves the view be.
  const box = $("messages");
  if (box.scrollHeight - box.scrollTop - box.clientHeight < 80) view.follow = true;
  try {
    const answer = await post("/api/tap", { chat: view.chatId, message: messageId, data });
    if (!answer.answered) {
      toast("The bot did not answer this tap within 10 seconds: in Telegram the button would keep spinning.");
    } else if (answer.show_alert) {
      showAlert(answer.text);
    } else if (answer.text) {
      toast(answer.text);
    }
  } finally {
    button.classList.remove("pending");
    refresh();
  }
}

function openChat(id) {
  closePopups();
  document.body.classList.remove("tools-open");
  $("tools-toggle").setAttribute("aria-expanded", "false");
  view.chatId = id;
  // Until this chat's state arrives (apply, then renderComposer), the composer still shows
  // the chat just left: what was typed there would go to the wrong persona or be lost.
  enableComposer(false);
  refresh();
}

// ---------------------------------------------------------------------------------------
// Operator tools: the clock and the content

function renderClock() {
  const clock = view.clock;
  const zone = clock.timezone;
  const now = $("clock-now");
  now.dataset.now = clock.now;
  now.dateTime = clock.now;
  now.textContent = `${formatMoment(clock.now, zone)} (${zone})`;
  $("clock-offset").textContent = clock.offset_seconds > 0 ? `${formatSpan(clock.offset_seconds)} ahead of real time` : "Real time";
  const next = $("next-reminder");
  next.dataset.due = clock.next_reminder || "";
  next.textContent = clock.next_reminder ? `Next reminder: ${formatMoment(clock.next_reminder, zone)}` : "No reminder set";
  $("clock-next").disabled = !clock.next_reminder;
}

function formatMoment(iso, zone) {
  return new Date(iso).toLocaleString([], {
    timeZone: zone, weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
  });
}

function formatSpan(seconds) {
  const days = Math.floor(seconds / 86400);
  const hours = Math.floor((seconds % 86400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const parts = [];
  if (days) parts.push(`${days} d`);
  if (hours) parts.push(`${hours} h`);
  if (minutes || !parts.length) parts.push(`${minutes} min`);
  return parts.join(" ");
}

async function moveClock(body) {
  const result = await post("/api/clock", body);
  view.clock = result.clock;
  renderClock();
  toast(result.moved ? `Bot clock: ${formatMoment(result.clock.now, result.clock.timezone)}` : "The clock did not move: that reminder is already due.");
}

function renderContent(status) {
  // The bot's time zone, like every other time on the page.
  const checked = new Date(status.checked_at).toLocaleTimeString([], { timeZone: view.clock ? view.clock.timezone : undefined });
  const warnings = status.problems.filter((problem) => problem.warning).length;
  const errors = status.problems.length - warnings;
  $("content-status").textContent = status.ok
    ? `In use: checked at ${checked}${warnings ? `, ${warnings} warning(s)` : ", no problems"}.`
    : `Reload refused at ${checked}: the bot keeps the last good content.`;
  const report = $("content-report");
  report.hidden = status.problems.length === 0;
  report.classList.toggle("failed", !status.ok);
  $("content-summary").textContent = status.ok
    ? `${warnings} warning(s): the content is in use, but look at these.`
    : `${errors} problem(s) to fix, then reload:`;
  $("content-problems").replaceChildren(
    ...status.problems.map((problem) =>
      el("li", { class: problem.warning ? "warning" : "error" },
        el("code", { class: "where" }, problem.where), " ", problem.warning ? "warning: " : "", problem.message)),
  );
}

async function reloadContent() {
  const button = $("content-reload");
  button.disabled = true;
  $("content-status").textContent = "Checking the content…";
  try {
    renderContent(await post("/api/content/reload"));
    refresh();
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------------------------------
// Small helpers

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

let toastTimer = null;
function toast(text) {
  const node = $("toast");
  node.textContent = text;
  node.classList.add("shown");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => node.classList.remove("shown"), 4000);
}

function showAlert(text) {
  $("alert-text").textContent = text;
  $("alert-dialog").showModal();
  $("alert-ok").focus();
}

// ---------------------------------------------------------------------------------------
// Wiring

document.addEventListener("DOMContentLoaded", () => {
  const fromHash = /^#chat=(-?\d+)$/.exec(location.hash);
  if (fromHash) view.chatId = Number(fromHash[1]);

  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("composer-input");
    const text = input.value.trim();
    if (!text || !canWrite()) return;
    input.value = "";
    sendText(text);
  });
  $("start-button").addEventListener("click", () => sendText("/start"));
  // Scrolling up to read stops following the bottom; scrolling back down resumes it.
  $("messages").addEventListener("scroll", () => {
    const box = $("messages");
    view.follow = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  }, { passive: true });
  $("menu-button").addEventListener("click", () => togglePopup("command-menu", "menu-button"));
  $("attach-button").addEventListener("click", () => togglePopup("attach-menu", "attach-button"));
  for (const button of document.querySelectorAll("[data-share]")) {
    button.addEventListener("click", () => share(button.dataset.share));
  }
  $("keyboard-toggle").addEventListener("click", () => {
    view.keyboardOpen = !view.keyboardOpen;
    renderKeyboard(false);
  });
  $("tools-toggle").addEventListener("click", () => {
    const open = document.body.classList.toggle("tools-open");
    $("tools-toggle").setAttribute("aria-expanded", String(open));
  });
  $("clock-advance").addEventListener("click", () => moveClock({ advance: Number($("clock-step").value) }));
  $("clock-next").addEventListener("click", () => moveClock({ to: "next_reminder" }));
  $("content-reload").addEventListener("click", reloadContent);
  $("alert-ok").addEventListener("click", () => $("alert-dialog").close());
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") closePopups(true);
  });
  window.addEventListener("hashchange", () => {
    const match = /^#chat=(-?\d+)$/.exec(location.hash);
    if (match && Number(match[1]) !== view.chatId) openChat(Number(match[1]));
  });
  pollForever();
});
