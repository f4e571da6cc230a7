/**
 * The page: the join form, the messages, the people and the topic. Every
 * string from the network goes into the page with `textContent`, never as
 * HTML.
 */
import { ChatRoom, checkName, describeProblem, checkRoom, checkServer, type ChatLine, type LinkState, type Person, type RoomView, type Topic } from "./chat-room.js";
import { linkAddress, ownServer } from "./link-address.js";

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`the page has no #${id}`);
  return el as T;
};

/** Most messages kept on the page; older ones are removed. */
const MAX_LINES = 500;

const nameInput = $<HTMLInputElement>("name");
const roomInput = $<HTMLInputElement>("room");
const serverInput = $<HTMLInputElement>("server");
const joinError = $("join-error");
const messages = $<HTMLOListElement>("messages");
const linkWarning = $("link-warning");

/** An address on another server that a link gave, until the user says to use it. */
let unconfirmed: string | undefined;

/**
 * Defaults: the URL (`?room=&ws=&name=`), then what this browser used last,
 * then the page's own host. A `?ws=` on another server than the page's is
 * put in the field but asked about before joining; a bad one is not used.
 */
function fillForm(): void {
  const params = new URLSearchParams(location.search);
  const saved = (key: string): string => localStorage.getItem(`xppg-web-chat/${key}`) ?? "";
  const fallback = ownServer(location) || saved("server");
  nameInput.value = params.get("name") ?? saved("name");
  roomInput.value = params.get("room") ?? (saved("room") || "xppg-chat");
  const link = linkAddress(params.get("ws"), location);
  serverInput.value = link.kind === "own" || link.kind === "foreign" ? link.url : fallback;
  if (link.kind === "bad") joinError.textContent = link.why;
  if (link.kind === "foreign") {
    unconfirmed = link.url;
    $("link-address").textContent = link.url;
    $("link-reject").textContent = ownServer(location) === "" ? "Do not use it" : "Use this page's server";
    linkWarning.hidden = false;
  }
}

function el(tag: string, className: string, text: string): HTMLElement {
  const e = document.createElement(tag);
  e.className = className;
  e.textContent = text;
  return e;
}

function time(): string {
  return new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

const view: RoomView = {
  line(line: ChatLine) {
    const li = document.createElement("li");
    li.className = `line ${line.kind}${line.own === true ? " own" : ""}`;
    li.append(el("span", "time", time()));
    if (line.from !== undefined) {
      const from = el("span", "from", line.from);
      if (line.peerId !== undefined) from.title = line.peerId;
      li.append(from);
    }
    li.append(el("span", "text", line.text));
    const atBottom = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 40;
    messages.append(li);
    while (messages.childElementCount > MAX_LINES) messages.firstElementChild?.remove();
    if (atBottom) messages.scrollTop = messages.scrollHeight;
  },
  people(people: Person[]) {
    const list = $("people");
    list.replaceChildren(
      ...people.map((p) => {
        const li = document.createElement("li");
        li.dataset.peerId = p.peerId;
        if (p.self) li.dataset.self = "";
        li.title = p.peerId;
        li.append(el("span", "who", p.name), el("span", "how", p.how));
        return li;
      }),
    );
    $("people-count").textContent = String(people.length);
  },
  topic(topic: Topic | undefined) {
    $("topic-text").textContent = topic === undefined || topic.text === "" ? "no topic yet" : topic.text;
    $("topic-by").textContent = topic === undefined ? "" : `set by ${topic.by}`;
  },
  link(state: LinkState, words: string) {
    const link = $("link");
    link.dataset.state = state;
    link.textContent = words;
  },
};

let room: ChatRoom | undefined;

async function join(event: Event): Promise<void> {
  event.preventDefault();
  joinError.textContent = "";
  const name = checkName(nameInput.value);
  const roomName = checkRoom(roomInput.value);
  const server = checkServer(serverInput.value);
  const problem = !name.ok ? name.why : !roomName.ok ? roomName.why : !server.ok ? server.why : undefined;
  if (problem !== undefined || !name.ok || !roomName.ok || !server.ok) {
    joinError.textContent = problem ?? "";
    return;
  }
  if (unconfirmed !== undefined && server.url === unconfirmed) {
    joinError.textContent = `The link points this tab at ${unconfirmed}, another server than this page's. Choose above whether to connect to it.`;
    linkWarning.hidden = false;
    return;
  }
  $<HTMLButtonElement>("join-button").disabled = true;
  localStorage.setItem("xppg-web-chat/name", name.name);
  localStorage.setItem("xppg-web-chat/room", roomName.room);
  localStorage.setItem("xppg-web-chat/server", server.url);
  try {
    room = await ChatRoom.open(name.name, roomName.room, server.url, view);
  } catch (error) {
    console.error(error);
    joinError.textContent = `Could not start: ${describeProblem(error, server.url)}`;
    $<HTMLButtonElement>("join-button").disabled = false;
    return;
  }
  $("join").hidden = true;
  $("chat").hidden = false;
  const label = $("room-label");
  label.textContent = `#${roomName.room}`;
  label.hidden = false;
  $("self-id").textContent = room.peerId;
  view.topic(room.topic);
  document.title = `${roomName.room} · xppg chat`;
  $<HTMLInputElement>("message").focus();
}

async function send(event: Event): Promise<void> {
  event.preventDefault();
  const input = $<HTMLInputElement>("message");
  const text = input.value;
  const error = $("send-error");
  error.textContent = "";
  if (room === undefined || text.trim() === "") return;
  try {
    await room.say(text);
    view.line({ kind: "message", from: room.name, peerId: room.peerId, text, own: true });
    input.value = "";
  } catch (e) {
    console.error(e);
    error.textContent = describeProblem(e, room.server);
  }
}

function setTopic(event: Event): void {
  event.preventDefault();
  const input = $<HTMLInputElement>("topic-input");
  try {
    room?.setTopic(input.value.trim());
    $("topic-form").hidden = true;
    $("topic-edit").hidden = false;
    $("send-error").textContent = "";
  } catch (e) {
    console.error(e);
    $("send-error").textContent = describeProblem(e, room?.server ?? "");
  }
}

fillForm();
$("link-accept").addEventListener("click", () => {
  unconfirmed = undefined;
  linkWarning.hidden = true;
  joinError.textContent = "";
  $<HTMLFormElement>("join-form").requestSubmit();
});
$("link-reject").addEventListener("click", () => {
  unconfirmed = undefined;
  linkWarning.hidden = true;
  joinError.textContent = "";
  serverInput.value = ownServer(location);
  serverInput.focus();
});
$("join-form").addEventListener("submit", (e) => void join(e));
$("send-form").addEventListener("submit", (e) => void send(e));
$("topic-form").addEventListener("submit", setTopic);
$("topic-edit").addEventListener("click", () => {
  $("topic-form").hidden = false;
  $("topic-edit").hidden = true;
  const input = $<HTMLInputElement>("topic-input");
  input.value = room?.topic?.text ?? "";
  input.focus();
});
$("leave").addEventListener("click", () => {
  void room?.leave().then(() => location.reload());
});
// Closing or reloading the tab: say goodbye, so the others see a leave, not a crash.
addEventListener("pagehide", () => void room?.leave());
