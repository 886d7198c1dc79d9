// relay dashboard (/ui): live status from GET /api/v1/events (Server-Sent Events, one status
// snapshot about every second), changes through POST / DELETE / PATCH /api/v1/streams.
// Plain DOM code: no framework, no build step, nothing loaded from elsewhere.
// The JSON shapes are those of docs/control.md.
"use strict";

const API = new URL("../api/v1/", window.location.href);
const TOKEN_KEY = "relay.control.token";
const HISTORY_POINTS = 300; // sparkline samples kept per stream: one per snapshot, ~5 minutes
const RETRY_MS = 2000; // wait before reopening a feed that failed
const DEFAULT_DATA_TYPES = ["trade", "ticker", "l2_orderbook", "candle"];
const STREAM_FIELDS = [
  "venue", "instrument", "data_type", "state", "events_per_s", "sparkline", "events_total",
  "last_event_age_s", "resyncs", "book", "actions",
];
const VENUE_FIELDS = ["id", "state", "circuit", "reconnects", "connections", "last_message_age_s"];

const $ = (selector) => document.querySelector(selector);
const rates = new Map(); // stream key -> recent events_per_s, oldest first
const streams = new Map(); // stream key -> the stream as last shown
let capabilities = null; // GET /api/v1/capabilities, or null until read
let venueChosen = false; // the user picked a venue in the add form

// ---- formatting ---------------------------------------------------------------------------

function streamKey(stream) {
  return `${stream.venue}/${stream.instrument}/${stream.data_type}`;
}

function age(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  return `${Math.floor(seconds / 3600)} h`;
}

function millis(seconds) {
  return `${(seconds * 1000).toFixed(seconds < 0.01 ? 2 : 1)} ms`;
}

function level(pair) {
  return pair ? `${pair[0]} × ${pair[1]}` : "—";
}

function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

function setState(element, state) {
  setText(element, state);
  element.className = `state state-${state}`;
}

// ---- messages and problems ----------------------------------------------------------------

const STATUS_WORDS = {
  401: "token missing or refused; it will be asked again",
  403: "this token may only read",
  404: "no such stream or venue",
  409: "already subscribed",
  413: "request too large",
  422: "not accepted",
  503: "the relay is not ready for changes yet; try again",
};

function showMessage(text, isError = false) {
  const message = $("#message");
  message.hidden = false;
  message.textContent = text;
  message.classList.toggle("error", isError);
  if (!isError) showProblems([]);
}

function showProblems(problems) {
  const list = $("#problems");
  list.replaceChildren(
    ...problems.map((problem) => {
      const item = document.createElement("li");
      item.textContent = problem.path ? `${problem.path}: ${problem.message}` : problem.message;
      return item;
    }),
  );
  list.hidden = problems.length === 0;
}

function showRefusal(what, response, body) {
  const detail = body && (body.error || body.detail || body.message);
  const words = [typeof detail === "string" ? detail : "", STATUS_WORDS[response.status] || ""]
    .filter(Boolean)
    .join("; ");
  showMessage(`${what}: ${response.status} ${response.statusText} ${words}`.trim(), true);
  showProblems(body && Array.isArray(body.problems) ? body.problems : []);
}

// ---- the bearer token ---------------------------------------------------------------------

function askToken() {
  const dialog = $("#token-dialog");
  const form = $("#token-form");
  form.reset();
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        const token = form.elements.token.value.trim();
        if (dialog.returnValue === "ok" && token) {
          sessionStorage.setItem(TOKEN_KEY, token);
          $("#forget-token").hidden = false;
          if (!capabilities) readCapabilities(); // refused without a token when reads need one
          resolve(token);
        } else {
          resolve(null);
        }
      },
      { once: true },
    );
    dialog.showModal();
  });
}

async function token() {
  return sessionStorage.getItem(TOKEN_KEY) || (await askToken());
}

// ---- changes ------------------------------------------------------------------------------

// Send one change; returns the parsed answer, or null when it was refused (shown on the page).
async function change(method, path, body, what) {
  const bearer = await token();
  if (!bearer) {
    showMessage(`${what}: no token given, nothing changed`, true);
    return null;
  }
  const headers = { Authorization: `Bearer ${bearer}`, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(new URL(path, API), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    showMessage(`${what}: the relay did not answer (${error.message})`, true);
    return null;
  }
  const answer = await response.json().catch(() => null);
  if (response.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    $("#forget-token").hidden = true;
  }
  if (!response.ok) {
    showRefusal(what, response, answer);
    return null;
  }
  return answer ?? {};
}

function streamPath(stream) {
  const parts = [stream.venue, stream.instrument, stream.data_type].map(encodeURIComponent);
  return `streams/${parts.join("/")}`;
}

async function togglePause(stream) {
  const paused = !stream.paused;
  const what = `${paused ? "pause" : "resume"} ${streamKey(stream)}`;
  const answer = await change("PATCH", streamPath(stream), { paused }, what);
  if (answer) {
    showMessage(`${what}: done`);
    if (answer.venue) updateStreamRow(streamRow(answer), answer);
  }
}

async function removeStream(stream) {
  const what = `remove ${streamKey(stream)}`;
  const path =
    `streams/${encodeURIComponent(stream.venue)}/${encodeURIComponent(stream.instrument)}` +
    `?data_type=${encodeURIComponent(stream.data_type)}`;
  if (await change("DELETE", path, undefined, what)) {
    showMessage(`${what}: done`);
    forgetStream(streamKey(stream));
  }
}

async function addStreams(event) {
  event.preventDefault();
  const form = event.target;
  const request = {
    venue: form.elements.venue.value,
    instrument: form.elements.instrument.value.trim(),
    canonical_symbol: form.elements.canonical_symbol.value.trim(),
    data_types: [...form.querySelectorAll("input[name=data_type]:checked")].map((b) => b.value),
  };
  if (form.elements.depth.value !== "") request.depth = Number(form.elements.depth.value);
  const what = `add ${request.venue}/${request.instrument}`;
  const answer = await change("POST", "streams", request, what);
  if (answer) {
    const added = answer.streams || [];
    added.forEach((stream) => updateStreamRow(streamRow(stream), stream));
    showMessage(`added ${added.map(streamKey).join(", ")}`);
  }
}

// ---- tables -------------------------------------------------------------------------------

function newRow(tbody, key, fields) {
  const row = document.createElement("tr");
  row.dataset.key = key;
  for (const field of fields) {
    const cell = document.createElement("td");
    cell.dataset.field = field;
    row.append(cell);
  }
  tbody.append(row);
  return row;
}

function cell(row, field) {
  return row.querySelector(`[data-field="${field}"]`);
}

// Keep one row per key, in the order given; rows of keys no longer given are removed.
function syncRows(tbody, keys, fields) {
  const rows = new Map([...tbody.rows].map((row) => [row.dataset.key, row]));
  keys.forEach((key, index) => {
    const row = rows.get(key) || newRow(tbody, key, fields);
    rows.delete(key);
    if (tbody.rows[index] !== row) tbody.insertBefore(row, tbody.rows[index] || null);
  });
  rows.forEach((row) => row.remove());
}

function streamRow(stream) {
  const tbody = $("#streams tbody");
  const key = streamKey(stream);
  return [...tbody.rows].find((row) => row.dataset.key === key) || newRow(tbody, key, STREAM_FIELDS);
}

function forgetStream(key) {
  streams.delete(key);
  rates.delete(key);
  const row = [...$("#streams tbody").rows].find((r) => r.dataset.key === key);
  if (row) row.remove();
}

function updateStreamRow(row, stream) {
  streams.set(streamKey(stream), stream);
  row.classList.toggle("paused", stream.paused);
  setText(cell(row, "venue"), stream.venue);
  setText(cell(row, "instrument"), stream.instrument);
  cell(row, "instrument").title = stream.canonical_symbol;
  setText(cell(row, "data_type"), stream.data_type);
  setState(cell(row, "state"), stream.state);
  setText(cell(row, "events_per_s"), stream.events_per_s.toFixed(1));
  drawSparkline(cell(row, "sparkline"), rates.get(streamKey(stream)) || []);
  setText(cell(row, "events_total"), String(stream.events_total));
  setText(cell(row, "last_event_age_s"), age(stream.last_event_age_s));
  setText(cell(row, "resyncs"), String(stream.resyncs));
  drawBook(cell(row, "book"), stream.book);
  drawActions(cell(row, "actions"), stream);
}

function drawBook(element, book) {
  if (!book) {
    setText(element, "");
    return;
  }
  const text = `${level(book.best_bid)} | ${level(book.best_ask)}`;
  setText(element, text);
  element.title = `levels held: ${book.depth[0]} bids, ${book.depth[1]} asks`;
}

function drawActions(element, stream) {
  if (!element.firstChild) {
    for (const action of ["pause", "remove"]) {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.action = action;
      element.append(button, " ");
    }
    setText(element.querySelector("[data-action=remove]"), "remove");
  }
  setText(element.querySelector("[data-action=pause]"), stream.paused ? "resume" : "pause");
}

const SVG = "http://www.w3.org/2000/svg";
const SPARK_WIDTH = 120;
const SPARK_HEIGHT = 24;
const SPARK_MIN_POINTS = 60; // the line spans the last minute at least, up to HISTORY_POINTS

// An inline SVG line of the stream's events/s, newest at the right edge, scaled to its maximum;
// the width spans max(samples, one minute).
function drawSparkline(element, values) {
  let svg = element.querySelector("svg");
  if (!svg) {
    svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", `0 0 ${SPARK_WIDTH} ${SPARK_HEIGHT}`);
    svg.setAttribute("width", SPARK_WIDTH);
    svg.setAttribute("height", SPARK_HEIGHT);
    svg.append(document.createElementNS(SVG, "polyline"), document.createElementNS(SVG, "title"));
    element.append(svg);
  }
  const top = Math.max(...values, 0);
  const step = SPARK_WIDTH / (Math.max(values.length, SPARK_MIN_POINTS) - 1);
  const points = values.map((value, index) => {
    const x = SPARK_WIDTH - (values.length - 1 - index) * step;
    const y = SPARK_HEIGHT - 1 - (top > 0 ? (value / top) * (SPARK_HEIGHT - 2) : 0);
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  });
  svg.querySelector("polyline").setAttribute("points", points.join(" "));
  svg.querySelector("title").textContent =
    `events/s over the last ${values.length} s: peak ${top.toFixed(1)}`;
}

function renderStreams(list) {
  const keys = list.map(streamKey);
  const tbody = $("#streams tbody");
  syncRows(tbody, keys, STREAM_FIELDS);
  for (const key of [...rates.keys()]) if (!keys.includes(key)) forgetStream(key);
  list.forEach((stream, index) => {
    const key = keys[index];
    const values = rates.get(key) || [];
    values.push(stream.events_per_s);
    if (values.length > HISTORY_POINTS) values.shift();
    rates.set(key, values);
    updateStreamRow(tbody.rows[index], stream);
  });
  setText($("#stream-count"), `(${list.length})`);
}

function renderVenues(list) {
  const tbody = $("#venues tbody");
  syncRows(tbody, list.map((venue) => venue.id), VENUE_FIELDS);
  list.forEach((venue, index) => {
    const row = tbody.rows[index];
    setText(cell(row, "id"), venue.id);
    setState(cell(row, "state"), venue.state);
    setState(cell(row, "circuit"), venue.circuit);
    setText(cell(row, "reconnects"), String(venue.reconnects));
    setText(cell(row, "connections"), String(venue.connections));
    setText(cell(row, "last_message_age_s"), age(venue.last_message_age_s));
  });
  fillVenueChoices(list.map((venue) => venue.id));
  const select = $("#add-stream select[name=venue]");
  if (!venueChosen && list.length && !list.some((venue) => venue.id === select.value)) {
    select.value = list[0].id; // until the user picks one: a venue this relay runs
    fillDataTypes();
  }
}

function renderSummary(status) {
  const nats = $("#nats");
  const { connected, server, reconnects } = status.nats;
  setText(nats, `${connected ? "connected" : "disconnected"} ${server || ""} · reconnects ${reconnects}`);
  nats.className = connected ? "ok" : "bad";
  setText($("#queue-depth"), String(status.queue_depth));
  const latency = status.publish_latency_s;
  setText($("#publish-latency"), latency ? `${millis(latency.p50)} / ${millis(latency.p99)}` : "—");
}

function render(status) {
  renderSummary(status);
  renderVenues(status.venues);
  renderStreams(status.streams);
}

// ---- the add form -------------------------------------------------------------------------

function fillVenueChoices(ids) {
  const select = $("#add-stream select[name=venue]");
  const known = new Set([...select.options].map((option) => option.value));
  const fresh = ids.filter((id) => !known.has(id));
  fresh.forEach((id) => select.add(new Option(id, id)));
  if (fresh.length && known.size === 0) fillDataTypes();
}

function fillDataTypes() {
  const venue = $("#add-stream select[name=venue]").value;
  const offered = capabilities?.venues?.[venue]?.data_types || DEFAULT_DATA_TYPES;
  const fieldset = $("#data-types");
  const checked = new Set(
    [...fieldset.querySelectorAll("input:checked")].map((box) => box.value),
  );
  fieldset.replaceChildren(
    fieldset.querySelector("legend"),
    ...offered.map((dataType) => {
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.name = "data_type";
      box.value = dataType;
      box.checked = checked.has(dataType);
      label.append(box, ` ${dataType}`);
      return label;
    }),
  );
}

async function readCapabilities() {
  const headers = {};
  const bearer = sessionStorage.getItem(TOKEN_KEY);
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  try {
    const response = await fetch(new URL("capabilities", API), { headers });
    if (!response.ok) return;
    capabilities = await response.json();
    fillVenueChoices(Object.keys(capabilities.venues || {}));
    fillDataTypes();
  } catch {
    // the venue list still comes from the feed; data types fall back to the usual four
  }
}

// ---- the live feed ------------------------------------------------------------------------

function onSnapshot(text) {
  render(JSON.parse(text));
  setText($("#feed"), `live · ${new Date().toLocaleTimeString()}`);
  $("#feed").className = "ok";
}

function feedDown(words) {
  setText($("#feed"), words);
  $("#feed").className = "bad";
}

// EventSource cannot send a header; when reads need a token (401), read the same feed with
// fetch and parse its "data:" lines here.
async function readFeedWithToken(bearer) {
  const response = await fetch(new URL("events", API), {
    headers: { Authorization: `Bearer ${bearer}`, Accept: "text/event-stream" },
  });
  if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer = (buffer + value).replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const data = buffer
        .slice(0, end)
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).trimStart())
        .join("\n");
      buffer = buffer.slice(end + 2);
      if (data) onSnapshot(data);
    }
  }
}

async function feedWithToken() {
  const bearer = await token();
  if (!bearer) {
    feedDown("reading needs a token");
    return;
  }
  try {
    await readFeedWithToken(bearer);
    feedDown("closed; reopening");
  } catch (error) {
    feedDown(`failed (${error.message}); retrying`);
  }
  window.setTimeout(feedWithToken, RETRY_MS);
}

function openFeed() {
  const source = new EventSource(new URL("events", API));
  source.onmessage = (event) => onSnapshot(event.data);
  source.onerror = async () => {
    if (source.readyState !== EventSource.CLOSED) {
      feedDown("reconnecting"); // EventSource retries by itself
      return;
    }
    const probe = await fetch(new URL("status", API)).catch(() => null);
    if (probe && probe.status === 401) {
      feedDown("reading needs a token");
      feedWithToken();
    } else {
      feedDown("closed; reopening");
      window.setTimeout(openFeed, RETRY_MS);
    }
  };
}

// ---- start --------------------------------------------------------------------------------

function start() {
  $("#forget-token").hidden = !sessionStorage.getItem(TOKEN_KEY);
  $("#forget-token").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    $("#forget-token").hidden = true;
    showMessage("token forgotten");
  });
  $("#add-stream").addEventListener("submit", addStreams);
  $("#add-stream select[name=venue]").addEventListener("change", () => {
    venueChosen = true;
    fillDataTypes();
  });
  $("#streams tbody").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    const stream = button && streams.get(button.closest("tr").dataset.key);
    if (!stream) return;
    if (button.dataset.action === "pause") togglePause(stream);
    else removeStream(stream);
  });
  fillDataTypes();
  readCapabilities();
  openFeed();
}

start();
