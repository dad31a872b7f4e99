// printfarm dashboard: plain JavaScript, no build step, no dependency. It reads the API of the node that
// served it, follows GET /api/v1/events for live changes and re-reads /raft/status every few seconds.
// Fields a node does not serve are not shown, so the page fits older and newer nodes alike.
"use strict";

const TOKEN_KEY = "printfarm.token";
const STATUS_EVERY_MS = 2000;
const STATUSES = ["Queued", "Running", "Paused", "Done", "Cancelled", "Failed"];
const FAILURE_REASONS = ["other", "adhesion", "spaghetti", "clog", "runout", "layer_shift", "power_loss",
  "printer_error", "operator"];
// The transitions API.md allows, as the buttons a job in each status shows.
const ACTIONS = {
  Queued: [["start", "Running"], ["cancel", "Cancelled"]],
  Running: [["pause", "Paused"], ["done", "Done"], ["cancel", "Cancelled"], ["fail", "Failed"]],
  Paused: [["resume", "Running"], ["cancel", "Cancelled"], ["fail", "Failed"]],
};

const farm = {
  printers: new Map(),
  filaments: new Map(),
  jobs: new Map(),
  status: null,
  lastEventId: null,
};
const trouble = { noLeader: false, streamDown: false, unreachable: false, needToken: false };
let readOnly = false; // set once the node answers 403 to a write: the token's role may not change things
let streamController = null;

// --- talking to the node ------------------------------------------------------------------------------

class Problem extends Error {
  constructor(status, body) {
    const detail = (body && (body.detail || body.title)) || `HTTP ${status}`;
    super(detail);
    this.status = status;
    this.code = (body && body.code) || `http_${status}`;
    this.detail = detail;
  }
}

function authHeaders() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: `Bearer ${token}` } : {};
}

function newKey() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
}

async function api(method, path, { params, body } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const headers = { Accept: "application/json", ...authHeaders() };
  if (method !== "GET") headers["Idempotency-Key"] = newKey(); // a retried write applies once
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    trouble.unreachable = true;
    renderBanner();
    throw new Problem(0, { detail: "This node does not answer." });
  }
  trouble.unreachable = false;
  const text = await response.text();
  let parsed = null;
  if (text) {
    try { parsed = JSON.parse(text); } catch (error) { parsed = text; }
  }
  if (response.status === 401) askForToken();
  if (response.status === 503 && parsed && parsed.code === "no_leader") trouble.noLeader = true;
  if (!response.ok) {
    renderBanner();
    throw new Problem(response.status, parsed);
  }
  return parsed;
}

// Lists: linearizable when there is a leader; with none, this node's own copy is better than nothing.
async function readList(path) {
  try {
    return await api("GET", path);
  } catch (error) {
    if (error.status === 503) return api("GET", path, { params: { consistency: "stale" } });
    throw error;
  }
}

async function loadAll() {
  const status = await api("GET", "/raft/status");
  showStatus(status);
  if (farm.lastEventId === null) farm.lastEventId = status.applied_index;
  const [printers, filaments, jobs] = await Promise.all(
    ["/api/v1/printers", "/api/v1/filaments", "/api/v1/print_jobs"].map(readList));
  replaceAll(farm.printers, printers, "id");
  replaceAll(farm.filaments, filaments, "id");
  replaceAll(farm.jobs, jobs, "job_id");
  renderAll();
  loadStats();
}

// GET /api/v1/stats, on nodes that serve it (the section stays hidden on the others).
let statsServed = true;
let statsRefresh = null;

async function loadStats() {
  if (!statsServed) return;
  try {
    renderStats(await api("GET", "/api/v1/stats", { params: { consistency: "stale" } }));
  } catch (error) {
    if (error.status === 404 || error.status === 405) statsServed = false;
  }
}

function refreshStatsSoon() {
  clearTimeout(statsRefresh);
  statsRefresh = setTimeout(loadStats, 300);
}

function renderStats(stats) {
  const groups = Object.entries(stats || {});
  $("#stats-section").hidden = groups.length === 0;
  $("#stats").replaceChildren(...groups.map(([name, value]) => {
    const title = name.replaceAll("_", " ");
    if (value === null || typeof value !== "object") {
      return el("div", { class: "stat", "data-stat": name }, el("span", { class: "muted", text: title }),
        el("strong", { text: `${value}${name.startsWith("grams") ? " g" : ""}` }));
    }
    const entries = Object.entries(value).filter(([, count]) => count !== 0); // the zeros say nothing
    return el("div", { class: "stat", "data-stat": name }, el("span", { class: "muted", text: title }),
      el("div", { class: "chips" }, entries.length ? entries.map(([key, count]) =>
        el("span", { class: `badge ${key}`, text: `${key} ${count}${name.startsWith("grams") ? " g" : ""}` })) : "–"));
  }));
}

function replaceAll(map, items, key) {
  map.clear();
  for (const item of items || []) map.set(item[key], item);
}

// --- live updates --------------------------------------------------------------------------------------

// fetch streaming rather than EventSource: EventSource cannot send an Authorization header, and a Bearer
// token is how this API authenticates. Resuming sends Last-Event-ID, as EventSource would.
async function follow() {
  let backoff = 250;
  for (;;) {
    try {
      await readStream();
      backoff = 250; // the node ended the stream (it drops slow readers): resume at once
    } catch (error) {
      if (error.status === 401) askForToken();
    }
    trouble.streamDown = true;
    renderBanner();
    await sleep(backoff);
    backoff = Math.min(backoff * 2, 4000);
  }
}

async function readStream() {
  streamController = new AbortController();
  const headers = { Accept: "text/event-stream", ...authHeaders() };
  if (farm.lastEventId !== null) headers["Last-Event-ID"] = String(farm.lastEventId);
  const response = await fetch("/api/v1/events", { headers, signal: streamController.signal });
  if (!response.ok) throw new Problem(response.status, await response.json().catch(() => null));
  if (trouble.streamDown) {
    trouble.streamDown = false;
    renderBanner();
    loadAll().catch(() => {}); // changes were not lost (Last-Event-ID), but derived fields may have moved
  }
  setLive(true);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        handleFrame(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
  } finally {
    setLive(false);
  }
}

function handleFrame(frame) {
  let data = "";
  let id = null;
  for (const line of frame.split("\n")) {
    if (line.startsWith(":")) continue; // keep-alive comment
    const colon = line.indexOf(":");
    const name = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (name === "data") data += (data ? "\n" : "") + value;
    else if (name === "id") id = value;
  }
  if (!data) return;
  applyEvent(JSON.parse(data));
  if (id !== null) farm.lastEventId = Number(id);
}

const COLLECTIONS = { printer: ["printers", "id"], filament: ["filaments", "id"], job: ["jobs", "job_id"] };
let printerRefresh = null;

function applyEvent(event) {
  const [kind, what] = event.type.split(".");
  const collection = COLLECTIONS[kind];
  if (!collection || !event.data || typeof event.data !== "object") return;
  const [name, key] = collection;
  const map = farm[name];
  const id = event.data[key];
  if (id === undefined) return;
  if (what === "deleted") map.delete(id);
  else map.set(id, { ...(map.get(id) || {}), ...event.data });
  if (kind === "job") refreshPrintersSoon();
  refreshStatsSoon();
  renderAll();
}

// A printer's derived fields (status, current job, queue) change with its jobs: re-read the printers, from
// this node's copy, which already holds the change that the event announced.
function refreshPrintersSoon() {
  if (![...farm.printers.values()].some((p) => "status" in p || "queue_length" in p)) return;
  clearTimeout(printerRefresh);
  printerRefresh = setTimeout(async () => {
    try {
      replaceAll(farm.printers, await api("GET", "/api/v1/printers", { params: { consistency: "stale" } }), "id");
      renderAll();
    } catch (error) { /* the banner says what is wrong */ }
  }, 200);
}

async function pollStatus() {
  for (;;) {
    try {
      showStatus(await api("GET", "/raft/status"));
    } catch (error) { /* unreachable or no token: the banner says so */ }
    await sleep(STATUS_EVERY_MS);
  }
}

function showStatus(status) {
  farm.status = status;
  if (status.leader_id) trouble.noLeader = false;
  else trouble.noLeader = true;
  renderCluster();
  renderBanner();
}

// --- access tokens -------------------------------------------------------------------------------------

function askForToken() {
  trouble.needToken = true;
  $("#token-form").hidden = false;
  renderBanner();
}

function useToken(event) {
  event.preventDefault();
  const token = $("#token-input").value.trim();
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  $("#token-input").value = "";
  $("#token-form").hidden = true;
  $("#token-button").hidden = false;
  trouble.needToken = false;
  readOnly = false;
  renderBanner();
  if (streamController) streamController.abort(); // reconnect with the new token
  loadAll().catch(() => {});
}

// --- rendering -----------------------------------------------------------------------------------------

function $(selector, root = document) { return root.querySelector(selector); }

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "style") setStyle(node, value); // CSSOM: the CSP forbids inline style attributes
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  return node;
}

function setStyle(node, text) {
  for (const rule of text.split(";")) {
    const colon = rule.indexOf(":");
    if (colon > 0) node.style.setProperty(rule.slice(0, colon).trim(), rule.slice(colon + 1).trim());
  }
}

function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }
function has(object, field) { return object && Object.prototype.hasOwnProperty.call(object, field); }
function yesNo(value) { return value ? "yes" : "no"; }

function setLive(on) {
  const live = $("#live");
  live.classList.toggle("off", !on);
  live.textContent = on ? "live" : "offline";
}

function renderBanner() {
  const messages = [];
  if (trouble.unreachable) messages.push("This node does not answer; retrying…");
  else if (trouble.noLeader) messages.push("No leader: the cluster is electing one (or has lost its majority). Showing this node's own copy; it recovers by itself.");
  if (trouble.streamDown) messages.push("Live updates interrupted; reconnecting…");
  if (trouble.needToken) messages.push("Access control is on: enter a token to see the farm.");
  document.body.classList.toggle("unreachable", trouble.unreachable); // what is shown may be out of date
  const banner = $("#banner");
  banner.hidden = messages.length === 0;
  banner.replaceChildren(...messages.map((text) => el("p", { text })));
}

function renderAll() {
  renderPrinters();
  renderSpools();
  renderJobs();
  renderChoices();
  applyReadOnly();
}

function renderCluster() {
  const status = farm.status;
  if (!status) return;
  const leader = status.leader_id || "none";
  $("#node").textContent = `${status.node_id} · ${status.state}`;
  $("#node").className = `node ${String(status.state).toLowerCase()}`;
  const facts = [
    ["this node", status.node_id], ["role", status.state], ["leader", leader], ["term", status.term],
    ["commit index", status.commit_index], ["applied index", status.applied_index],
  ];
  if (Number.isInteger(status.commit_index) && Number.isInteger(status.applied_index)) {
    facts.push(["lag", status.commit_index - status.applied_index]);
  }
  for (const [field, value] of Object.entries(status)) {
    if (!["node_id", "state", "leader_id", "term", "commit_index", "applied_index", "members"].includes(field)
        && (typeof value !== "object" || value === null)) facts.push([field.replaceAll("_", " "), value]);
  }
  $("#cluster-facts").replaceChildren(...facts.flatMap(([name, value]) => [
    el("dt", { text: name }), el("dd", { text: value ?? "–", "data-fact": name }),
  ]));
  $("#cluster-facts").dataset.leader = leader;
  const members = [...(status.members || [])].sort((a, b) => String(a.node_id).localeCompare(String(b.node_id)));
  const extra = [...new Set(members.flatMap((m) => Object.keys(m)))]
    .filter((field) => !["node_id", "role", "addr"].includes(field));
  $("#members thead").replaceChildren(el("tr", {},
    ["member", "role", "address", ...extra.map((f) => f.replaceAll("_", " ")), ""].map((h) => el("th", { text: h }))));
  $("#members tbody").replaceChildren(...members.map((member) => el("tr", { "data-member": member.node_id },
    el("td", { text: member.node_id }),
    el("td", {}, el("span", { class: `badge ${member.role}`, text: member.role })),
    el("td", { class: "mono", text: member.addr }),
    extra.map((field) => el("td", { text: member[field] ?? "–" })),
    el("td", {}, member.node_id === status.leader_id ? el("span", { class: "badge leader", text: "leader" }) : ""),
  )));
}

// Items are rebuilt only when what they show has changed, so an error shown next to an action (or grams typed
// into a fail control) survives events about other objects.
const rendered = new Map();

function memo(kind, id, shown, build) {
  const key = `${kind}:${id}`;
  const signature = JSON.stringify(shown);
  const cached = rendered.get(key);
  if (cached && cached.signature === signature) return cached.node;
  const node = build();
  rendered.set(key, { signature, node });
  return node;
}

function renderPrinters() {
  const printers = [...farm.printers.values()].sort((a, b) => a.id.localeCompare(b.id));
  $("#printers-count").textContent = printers.length;
  $("#printers").replaceChildren(...printers.map((printer) => memo("printer", printer.id,
    [printer, printer.current_job_id ? farm.jobs.get(printer.current_job_id) : null], () => {
    const current = printer.current_job_id ? farm.jobs.get(printer.current_job_id) : null;
    const facts = [];
    if (has(printer, "current_job_id")) {
      facts.push(["job", printer.current_job_id || "–"]);
      if (current && current.progress_percent !== undefined && current.progress_percent !== null) {
        facts.push(["progress", progressBar(current.progress_percent)]);
      }
    }
    if (has(printer, "queue_length")) facts.push(["queue", printer.queue_length]);
    if (has(printer, "maintenance")) facts.push(["maintenance", yesNo(printer.maintenance)]);
    if (has(printer, "bed_clear")) facts.push(["bed clear", yesNo(printer.bed_clear)]);
    if (has(printer, "connection_state") && printer.connection_state) facts.push(["connection", printer.connection_state]);
    const actions = [];
    if (has(printer, "bed_clear") && printer.bed_clear === false) {
      actions.push(actionButton("clear bed", () => api("POST", `/api/v1/printers/${enc(printer.id)}/clear-bed`)));
    }
    if (has(printer, "maintenance")) {
      actions.push(actionButton(printer.maintenance ? "end maintenance" : "maintenance",
        () => api("PATCH", `/api/v1/printers/${enc(printer.id)}`, { body: { maintenance: !printer.maintenance } })));
    }
    actions.push(actionButton("delete", () => api("DELETE", `/api/v1/printers/${enc(printer.id)}`), "danger"));
    return el("article", { class: `item printer ${printer.status || ""}`, "data-printer": printer.id },
      el("div", { class: "title" },
        el("strong", { text: printer.id }),
        el("span", { class: "muted", text: `${printer.company} ${printer.model}` }),
        has(printer, "status") ? el("span", { class: `badge ${printer.status}`, text: printer.status }) : null),
      facts.length ? el("dl", { class: "facts small" },
        facts.flatMap(([name, value]) => [el("dt", { text: name }), el("dd", {}, value)])) : null,
      el("div", { class: "actions" }, actions, el("span", { class: "error", role: "alert" })));
  })));
  if (!printers.length) $("#printers").append(el("p", { class: "empty", text: "No printers yet." }));
}

function progressBar(percent) {
  return el("span", { class: "progress", title: `${percent}%` },
    el("span", { class: "track" }, el("span", { class: "fill", style: `width:${Math.max(0, Math.min(100, percent))}%` })),
    el("span", { class: "label", text: `${percent}%` }));
}

function renderSpools() {
  const spools = [...farm.filaments.values()].sort((a, b) => a.id.localeCompare(b.id));
  $("#spools-count").textContent = spools.length;
  $("#spools").replaceChildren(...spools.map((spool) => memo("spool", spool.id, spool, () => {
    const total = spool.total_weight_in_grams || 0;
    const remaining = spool.remaining_weight_in_grams ?? 0;
    const reserved = spool.reserved_weight_in_grams ?? 0;
    const available = spool.available_weight_in_grams ?? remaining - reserved;
    const share = (grams) => (total > 0 ? (100 * grams) / total : 0);
    const low = spool.low_stock === true;
    return el("article", { class: `item spool${low ? " low" : ""}`, "data-spool": spool.id },
      el("div", { class: "title" },
        el("strong", { text: spool.id }),
        el("span", { class: "muted", text: `${spool.type} · ${spool.color}` }),
        low ? el("span", { class: "badge low", text: "low stock" }) : null),
      el("div", { class: "bar", title: `${available} g available, ${reserved} g reserved, ${total - remaining} g used of ${total} g` },
        el("span", { class: "available", style: `width:${share(available)}%` }),
        el("span", { class: "reserved", style: `width:${share(reserved)}%` })),
      el("div", { class: "grams" },
        el("span", {}, el("i", { class: "key available" }), `${available} g available`),
        el("span", {}, el("i", { class: "key reserved" }), `${reserved} g reserved`),
        el("span", { class: "muted", text: `${remaining} / ${total} g left` }),
        has(spool, "low_stock_threshold_in_grams") && spool.low_stock_threshold_in_grams !== null
          ? el("span", { class: "muted", text: `low below ${spool.low_stock_threshold_in_grams} g` }) : null),
      el("div", { class: "actions" },
        actionButton("delete", () => api("DELETE", `/api/v1/filaments/${enc(spool.id)}`), "danger"),
        el("span", { class: "error", role: "alert" })));
  })));
  if (!spools.length) $("#spools").append(el("p", { class: "empty", text: "No spools yet." }));
}

const JOB_COLUMNS = [
  ["job_id", "job"], ["printer_id", "printer"], ["filament_id", "spool"], ["print_weight_in_grams", "weight g"],
  ["status", "status"], ["priority", "priority"], ["progress_percent", "progress"],
  ["used_weight_in_grams", "used g"], ["failure_reason", "reason"], ["retry_of", "retry of"], ["details", "details"],
];

function renderJobs() {
  const filter = $("#job-filter").value;
  const all = [...farm.jobs.values()];
  const jobs = all.filter((job) => !filter || job.status === filter)
    .sort((a, b) => String(a.created_at || "").localeCompare(String(b.created_at || "")) || a.job_id.localeCompare(b.job_id));
  $("#jobs-count").textContent = filter ? `${jobs.length} of ${all.length}` : all.length;
  const columns = JOB_COLUMNS.filter(([field]) => all.some((job) => has(job, field)));
  $("#jobs thead").replaceChildren(el("tr", {}, columns.map(([, head]) => el("th", { text: head })), el("th", { text: "actions" })));
  $("#jobs tbody").replaceChildren(...jobs.map((job) => memo("job", job.job_id, [job, columns], () => el("tr",
    { "data-job": job.job_id, class: job.status },
    columns.map(([field]) => el("td", { class: field === "details" ? "wrap" : "" }, jobCell(job, field))),
    el("td", {}, el("div", { class: "actions" }, jobActions(job), el("span", { class: "error", role: "alert" })))))));
  if (!jobs.length) {
    $("#jobs tbody").append(el("tr", {}, el("td", { colspan: columns.length + 1, class: "empty", text: filter ? `No ${filter} jobs.` : "No print jobs yet." })));
  }
}

function jobCell(job, field) {
  const value = job[field];
  if (field === "status") return el("span", { class: `badge ${value}`, text: value });
  if (field === "progress_percent") return value === null || value === undefined ? "–" : progressBar(value);
  return value === null || value === undefined || value === "" ? "–" : String(value);
}

function jobActions(job) {
  const path = `/api/v1/print_jobs/${enc(job.job_id)}`;
  const buttons = (ACTIONS[job.status] || []).map(([label, status]) => {
    if (status === "Failed") return failControl(job, path);
    return actionButton(label, () => api("PUT", `${path}/status`, { params: { status } }));
  });
  if ((job.status === "Failed" || job.status === "Cancelled") && has(job, "retry_of")) {
    // A retry is a new job with the same printer, spool, weight and details: it needs its own id.
    const id = el("input", { class: "new-id", value: `${job.job_id}-retry`, title: "the new job's id", maxlength: "128" });
    buttons.push(el("span", { class: "retry" }, id,
      actionButton("retry", () => api("POST", `${path}/retry`, { body: { job_id: id.value.trim() } }))));
  }
  return buttons;
}

// Failing a job asks why: the reason (when the node knows reasons) and the grams used so far.
function failControl(job, path) {
  const reasons = el("select", { class: "reason", title: "why it failed" },
    FAILURE_REASONS.map((reason) => el("option", { value: reason, text: reason })));
  const used = el("input", { class: "used", type: "number", min: "0", step: "1", placeholder: "used g", title: "grams used" });
  return el("span", { class: "fail" }, reasons, used, actionButton("fail", () => api("PUT", `${path}/status`, {
    params: { status: "Failed", reason: reasons.value, used_grams: used.value },
  }), "danger"));
}

function enc(id) { return encodeURIComponent(id); }

// A button whose action's error (the problem's detail) shows next to it, in its row's .error element.
function actionButton(label, action, kind = "") {
  return el("button", {
    type: "button", class: `action ${kind}`, "data-action": label, "data-writes": true,
    onclick: async (event) => {
      const button = event.currentTarget;
      const error = button.closest(".actions, .item, tr").querySelector(".error");
      button.disabled = true;
      if (error) error.textContent = "";
      try {
        await action();
      } catch (problem) {
        showProblem(error, problem);
      } finally {
        button.disabled = readOnly;
      }
    },
  }, label);
}

function showProblem(target, problem) {
  if (problem.status === 403) {
    readOnly = true;
    applyReadOnly();
  }
  if (target) target.textContent = problem.detail || String(problem);
}

function applyReadOnly() {
  for (const node of document.querySelectorAll("[data-writes] button, button[data-writes], [data-writes] input, [data-writes] select")) {
    node.disabled = readOnly;
    node.title = readOnly ? "your token's role may not change the farm" : node.title;
  }
}

function renderChoices() {
  // Priority is asked for only where jobs have one (nodes with the farm's workflow).
  $("#job-form [name=priority]").hidden = ![...farm.jobs.values()].some((job) => has(job, "priority"));
  for (const [name, map] of [["printer_id", farm.printers], ["filament_id", farm.filaments]]) {
    const select = $(`#job-form select[name=${name}]`);
    const chosen = select.value;
    const label = name === "printer_id" ? "printer" : "spool";
    select.replaceChildren(el("option", { value: "", text: `${label}…` }),
      ...[...map.keys()].sort().map((id) => el("option", { value: id, text: id })));
    select.value = map.has(chosen) ? chosen : "";
  }
}

// --- forms ---------------------------------------------------------------------------------------------

function onSubmit(selector, build) {
  const form = $(selector);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $(".error", form);
    error.textContent = "";
    const values = Object.fromEntries(new FormData(form).entries());
    const [path, body] = build(values);
    const button = $("button[type=submit]", form);
    button.disabled = true;
    try {
      await api("POST", path, { body });
      form.reset();
    } catch (problem) {
      showProblem(error, problem);
    } finally {
      button.disabled = readOnly;
    }
  });
}

function grams(text) { return text === "" || text === undefined ? undefined : Number(text); }

function start() {
  onSubmit("#printer-form", (v) => ["/api/v1/printers", { id: v.id, company: v.company, model: v.model }]);
  onSubmit("#spool-form", (v) => ["/api/v1/filaments", {
    id: v.id, type: v.type, color: v.color, total_weight_in_grams: grams(v.total),
    remaining_weight_in_grams: grams(v.remaining) ?? grams(v.total),
  }]);
  onSubmit("#job-form", (v) => {
    const body = { job_id: v.job_id, printer_id: v.printer_id, filament_id: v.filament_id,
      print_weight_in_grams: grams(v.weight) };
    if (v.details) body.details = v.details;
    if (v.priority) body.priority = Number(v.priority);
    return ["/api/v1/print_jobs", body];
  });
  $("#job-filter").addEventListener("change", renderJobs);
  $("#token-form").addEventListener("submit", useToken);
  $("#token-button").hidden = !sessionStorage.getItem(TOKEN_KEY);
  $("#token-button").addEventListener("click", () => { $("#token-form").hidden = !$("#token-form").hidden; });
  renderAll();
  retryLoad();
}

// The first load waits for the node (and a token, if one is needed); after that events keep the page current.
async function retryLoad() {
  for (;;) {
    try {
      await loadAll();
      break;
    } catch (error) {
      await sleep(1000);
    }
  }
  follow();
  pollStatus();
}

document.addEventListener("DOMContentLoaded", start);
