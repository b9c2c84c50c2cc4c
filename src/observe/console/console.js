// The vmodem console: the overview of a process's modems and one modem's line, live over
// Server-Sent Events, steering them through the JSON API. No build step, no dependencies.
"use strict";

const token = new URLSearchParams(location.search).get("token");
const $ = (id) => document.getElementById(id);
const PAGE = 50;
let source = null;

function withToken(path) {
  if (!token) return path;
  return path + (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token);
}

async function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = "Bearer " + token;
  const answer = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = await answer.json().catch(() => ({}));
  if (!answer.ok) throw new Error(json.error || answer.statusText);
  return json;
}

function listen(path, handlers) {
  if (source) source.close();
  source = new EventSource(withToken(path));
  source.onopen = () => { $("link").textContent = "live"; };
  source.onerror = () => { $("link").textContent = "reconnecting…"; };
  for (const [name, handle] of Object.entries(handlers)) {
    source.addEventListener(name, (e) => handle(JSON.parse(e.data)));
  }
}

function text(el, value) { el.textContent = value; return el; }
function cell(row, value, cls) { const td = row.insertCell(); text(td, value); if (cls) td.className = cls; return td; }
function bytes(n) {
  if (n < 1024) return n + " B";
  if (n < 1048576) return (n / 1024).toFixed(1) + " KiB";
  return (n / 1048576).toFixed(2) + " MiB";
}

function showCounts(counts) {
  const el = $("counts");
  el.replaceChildren();
  for (const state of ["off", "frozen", "searching", "registered", "connected", "busy"]) {
    const span = document.createElement("span");
    span.className = "state-" + state;
    span.dataset.state = state;
    text(span, state + " " + (counts[state] || 0));
    el.append(span);
  }
}

// The overview: a page of modems, filtered and paged on the server.
let offset = 0;
function overview() {
  $("modem").hidden = true;
  $("overview").hidden = false;
  const query = new URLSearchParams({ offset, limit: PAGE });
  if ($("q").value.trim()) query.set("q", $("q").value.trim());
  if ($("state").value) query.set("state", $("state").value);
  listen("/api/stream?" + query, {
    page(page) {
      showCounts(page.counts);
      const last = Math.min(page.offset + page.modems.length, page.total);
      text($("shown"), page.total ? `${page.offset + 1}–${last} of ${page.total}` : "none");
      $("prev").disabled = page.offset === 0;
      $("next").disabled = last >= page.total;
      const body = $("modems").tBodies[0];
      body.replaceChildren();
      for (const m of page.modems) {
        const row = body.insertRow();
        row.dataset.index = m.index;
        row.onclick = () => { location.hash = "#/modem/" + m.index; };
        cell(row, m.index);
        cell(row, m.family);
        cell(row, m.imei);
        cell(row, m.number);
        cell(row, m.state, "state-" + m.state);
        cell(row, m.rssi);
        cell(row, m.ip || "");
        cell(row, m.profile.split(" ")[0]);
        cell(row, m.work.join(", "));
        cell(row, "↓" + bytes(m.network_bytes[0]) + " ↑" + bytes(m.network_bytes[1]));
        cell(row, m.counters.errors);
        cell(row, m.counters.faults);
      }
    },
  });
}
$("filter").onsubmit = (e) => { e.preventDefault(); offset = 0; overview(); };
$("q").oninput = () => { offset = 0; overview(); };
$("state").onchange = () => { offset = 0; overview(); };
$("prev").onclick = () => { offset = Math.max(0, offset - PAGE); overview(); };
$("next").onclick = () => { offset += PAGE; overview(); };

// One modem: its line, its state, its throughput and the controls.
const FINAL = /^(OK|ERROR|NO CARRIER|BUSY|NO ANSWER|NO DIALTONE|CONNECT\b|\+CME ERROR|\+CMS ERROR|SEND OK|SEND FAIL|DATA ACCEPT|SHUT OK|CLOSE OK|> ?$)/;
let index = null, paused = false, held = [], waiting = false, dataBlock = null;
let samples = [], work = null;

function unescapedLength(line) {
  return line.replace(/\\x[0-9a-fA-F]{2}|\\[rn\\t0{}]/g, "_").length;
}

function addLines(chunk, live) {
  const pane = $("lines");
  const atBottom = pane.scrollTop + pane.clientHeight >= pane.scrollHeight - 4;
  const stamp = live ? new Date().toLocaleTimeString([], { hour12: false }) : null;
  for (const line of chunk.split("\n")) {
    if (line === "") continue;
    let kind;
    if (line.startsWith(">>")) kind = "data host";
    else if (line.startsWith(">")) { kind = "host"; waiting = true; }
    else if (line.startsWith("<<")) kind = "data";
    else if (line.startsWith("<")) {
      const said = line.slice(1).trim();
      if (!waiting) kind = "urc";
      else { kind = "answer"; if (FINAL.test(said)) waiting = false; }
    } else kind = "note";
    if (kind.startsWith("data")) {
      if (!dataBlock) {
        dataBlock = document.createElement("details");
        dataBlock.className = kind;
        dataBlock.dataset.bytes = 0;
        dataBlock.append(document.createElement("summary"), document.createElement("div"));
        pane.append(dataBlock);
      }
      dataBlock.dataset.bytes = Number(dataBlock.dataset.bytes) + unescapedLength(line.slice(2).trim());
      text(dataBlock.firstChild, `data ${dataBlock.className.includes("host") ? "from the host" : "from the modem"}: about ${bytes(Number(dataBlock.dataset.bytes))} (open)`);
      const div = document.createElement("div");
      text(div, line);
      dataBlock.lastChild.append(div);
      continue;
    }
    dataBlock = null;
    const div = document.createElement("div");
    div.className = kind;
    if (stamp && line.startsWith("# +")) {
      const time = document.createElement("time");
      text(time, stamp);
      div.append(time);
    }
    div.append(line + (kind === "urc" ? "   ← URC" : ""));
    pane.append(div);
  }
  filterLines();
  if (atBottom) pane.scrollTop = pane.scrollHeight;
}

function filterLines() {
  const wanted = $("search").value.toLowerCase();
  for (const el of $("lines").children) {
    el.classList.toggle("hidden", wanted !== "" && !el.textContent.toLowerCase().includes(wanted));
  }
}
$("search").oninput = filterLines;
$("pause").onclick = () => {
  paused = !paused;
  text($("pause"), paused ? "resume" : "pause");
  if (!paused) { for (const chunk of held) addLines(chunk, true); held = []; }
};

function drawChart(capKbps) {
  const canvas = $("chart"), g = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height;
  g.clearRect(0, 0, w, h);
  const rates = [];
  for (let i = 1; i < samples.length; i++) {
    const dt = (samples[i].t - samples[i - 1].t) / 1000 || 1;
    rates.push([(samples[i].down - samples[i - 1].down) / dt, (samples[i].up - samples[i - 1].up) / dt]);
  }
  const cap = capKbps > 0 ? capKbps * 125 : 0;
  canvas.dataset.cap = cap;
  const top = Math.max(1, cap, ...rates.map((r) => Math.max(r[0], r[1]))) * 1.1;
  const x = (i) => (i / Math.max(1, rates.length - 1)) * (w - 40) + 36;
  const y = (v) => h - 14 - (v / top) * (h - 24);
  g.fillStyle = "#7a8596";
  g.font = "11px system-ui";
  g.fillText(bytes(Math.round(top)) + "/s", 2, 12);
  if (cap) {
    g.strokeStyle = "#9aa4b2"; g.setLineDash([4, 4]);
    g.beginPath(); g.moveTo(36, y(cap)); g.lineTo(w, y(cap)); g.stroke(); g.setLineDash([]);
  }
  for (const [k, colour] of [[0, "#1c6fd1"], [1, "#c05600"]]) {
    g.strokeStyle = colour; g.beginPath();
    rates.forEach((r, i) => (i ? g.lineTo(x(i), y(r[k])) : g.moveTo(x(i), y(r[k]))));
    g.stroke();
  }
}

function showModem(at, m) {
  const id = $("identity");
  id.replaceChildren();
  const h2 = document.createElement("h2");
  text(h2, `Modem ${m.index}: ${m.family}`);
  id.append(h2);
  const rows = [
    ["IMEI", m.imei], ["number", m.number], ["state", m.state], ["registered", m.registered ? "yes" : "no"],
    ["signal", m.rssi === 99 ? "99 (unknown)" : m.rssi],
    ["bearer", m.ip || "none"], ["profile", m.profile], ["host", m.host ? "connected" : "none"],
    ["commands", m.counters.commands], ["errors", m.counters.errors], ["URCs", m.counters.urcs],
    ["faults", m.counters.faults],
    ["jobs", m.counters.jobs], ["host bytes", `in ${bytes(m.bytes_in)}, out ${bytes(m.bytes_out)}`],
  ];
  const dl = document.createElement("dl");
  for (const [k, v] of rows) {
    const dt = document.createElement("dt"), dd = document.createElement("dd");
    text(dt, k); text(dd, v); dd.dataset.field = k;
    dl.append(dt, dd);
  }
  id.append(dl);
  samples.push({ t: at, down: m.network_bytes[0], up: m.network_bytes[1] });
  if (samples.length > 121) samples.shift();
  // A transfer's progress: the bytes moved since the sample before the work began.
  const last = samples.length > 1 ? samples[samples.length - 2] : null;
  if (m.work.length && (!work || work.done)) {
    const base = last || samples[samples.length - 1];
    work = { down: base.down, up: base.up, services: m.work, done: false };
  }
  const rate = last ? (m.network_bytes[0] - last.down) / Math.max(0.001, (at - last.t) / 1000) : 0;
  if (work) {
    if (!work.done) {
      work.received = m.network_bytes[0] - work.down;
      work.sent = m.network_bytes[1] - work.up;
      work.done = m.work.length === 0;
      if (work.done) listFiles();
    }
    text($("work"), (work.done ? "done: " : "running: ") + work.services.join(", "));
    // The total is not known while it runs: the bar moves as an indeterminate one, and fills
    // when the work is done.
    const moved = Math.max(work.received, work.sent);
    if (work.done) { $("progress").max = moved || 1; $("progress").value = moved || 1; }
    else $("progress").removeAttribute("value");
    text($("bytes"), `${work.received} bytes received, ${work.sent} bytes sent, now ${bytes(Math.round(rate))}/s`);
    $("bytes").dataset.received = work.received;
  } else {
    text($("work"), "idle");
  }
  if (document.activeElement !== $("profile")) $("profile").value = m.profile.split(" ")[0];
  $("typed").disabled = m.host;
  text($("terminal-note"), m.host
    ? "A host is connected: the console only watches its line (a module has one UART)."
    : "No host is connected: what you type here goes to the modem.");
  drawChart(m.profile_kbps[0]);
}

async function listFiles() {
  const body = $("files").tBodies[0];
  try {
    const files = await api("GET", `/api/modems/${index}/files`);
    body.replaceChildren();
    for (const f of files) {
      const row = body.insertRow();
      const a = document.createElement("a");
      a.href = withToken(`/api/modems/${index}/files/${f.area}/${encodeURIComponent(f.name)}`);
      a.download = f.name;
      text(a, `/${f.area}/${f.name}`);
      row.insertCell().append(a);
      cell(row, bytes(f.size));
    }
    text($("no-files"), files.length ? "" : "no files");
  } catch (e) {
    body.replaceChildren();
    text($("no-files"), e.message);
  }
}
$("refresh-files").onclick = listFiles;

function modem(i) {
  index = i; paused = false; held = []; waiting = false; dataBlock = null; samples = []; work = null;
  $("overview").hidden = true;
  $("modem").hidden = false;
  $("lines").replaceChildren();
  $("download").href = withToken(`/api/modems/${i}/transcript`);
  listFiles();
  listen(`/api/modems/${i}/stream`, {
    transcript(t) { addLines(t, false); },
    lines(t) { if (paused) held.push(t); else addLines(t, true); },
    missed(n) { addLines(`# the console missed ${n} pieces of the exchange`, true); },
    status(s) { showModem(s.at_ms, s.modem); },
  });
}

async function act(what, path, body) {
  try {
    await api("POST", path, body);
    text($("said"), what + ": done");
  } catch (e) {
    text($("said"), what + ": " + e.message);
  }
}
$("set-profile").onclick = async () => {
  try {
    await api("PUT", `/api/modems/${index}/profile`, { profile: $("profile").value });
    text($("said"), "profile: " + $("profile").value);
  } catch (e) { text($("said"), "profile: " + e.message); }
};
$("set-signal").onclick = () =>
  act("signal " + $("rssi").value, `/api/modems/${index}/network`, { event: "signal", rssi: Number($("rssi").value) });
for (const button of document.querySelectorAll("[data-event]")) {
  button.onclick = () => act(button.dataset.event, `/api/modems/${index}/network`, { event: button.dataset.event });
}
$("add-fault").onclick = () => {
  let fields = {};
  try { fields = JSON.parse("{" + $("fault-fields").value + "}"); } catch (e) { text($("said"), "fields: " + e.message); return; }
  act("fault " + $("fault-kind").value, `/api/modems/${index}/faults`, { kind: $("fault-kind").value, ...fields });
};
$("clear-faults").onclick = async () => {
  try { await api("DELETE", `/api/modems/${index}/faults`); text($("said"), "faults cleared"); }
  catch (e) { text($("said"), e.message); }
};
$("send-sms").onclick = () => act("SMS", `/api/modems/${index}/sms`, { from: $("sms-from").value, text: $("sms-text").value });
$("terminal").onsubmit = async (e) => {
  e.preventDefault();
  try { await api("POST", `/api/modems/${index}/type`, { text: $("typed").value + "\r" }); $("typed").value = ""; }
  catch (err) { text($("terminal-note"), err.message); }
};

function route() {
  const m = location.hash.match(/^#\/modem\/(\d+)$/);
  if (m) modem(Number(m[1])); else overview();
}
window.onhashchange = route;
route();
