// Ferrocket Console: a hash-routed single page over the broker's JSON API (/api/...).
"use strict";

const main = document.getElementById("main");
let refreshTimer = null;

function esc(v) {
  return String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}
function fmtTime(ms) {
  return ms > 0 ? new Date(ms).toLocaleString() : "-";
}
function fmtBytes(n) {
  if (n < 1024) return n + " B";
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let i = -1;
  do { n /= 1024; i++; } while (n >= 1024 && i < units.length - 1);
  return n.toFixed(1) + " " + units[i];
}
function qs(params) {
  return Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== "")
    .map(([k, v]) => encodeURIComponent(k) + "=" + encodeURIComponent(v)).join("&");
}
async function api(path, params, body) {
  const url = "/api/" + path + (params && Object.keys(params).length ? "?" + qs(params) : "");
  const init = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const res = await fetch(url, init);
  if (res.status === 401 && path !== "login") {
    showLogin();
    throw new LoginNeeded();
  }
  const data = await res.json().catch(() => ({ error: "invalid answer from " + url }));
  if (!res.ok) throw new Error(data.error || res.statusText);
  return data;
}
class LoginNeeded extends Error {
  constructor() { super("log in first"); }
}
function showLogin() {
  clearTimeout(refreshTimer);
  main.innerHTML = `<form id="login" class="login" data-testid="login-form">
    <h2>Log in</h2>
    <label>User <input name="user" autocomplete="username" data-testid="login-user" required></label>
    <label>Password <input name="password" type="password" autocomplete="current-password" data-testid="login-password" required></label>
    <button type="submit" data-testid="login-submit">Log in</button>
  </form>`;
  document.getElementById("login").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    try {
      await api("login", null, { user: f.user.value, password: f.password.value });
      await showSession();
      route();
    } catch (e) {
      main.querySelector("[data-testid=error]")?.remove();
      showError(e);
    }
  });
}
async function showSession() {
  const s = await fetch("/api/session").then((r) => r.json()).catch(() => ({}));
  const box = document.getElementById("session");
  if (!s.user) { box.innerHTML = ""; return; }
  box.innerHTML = `<span data-testid="session-user">${esc(s.user)}${s.readOnly ? " (read-only)" : ""}</span> <button type="button" data-testid="logout">Log out</button>`;
  box.querySelector("button").addEventListener("click", async () => {
    await api("logout", null, {});
    box.innerHTML = "";
    showLogin();
  });
}
function toast(text) {
  const t = document.getElementById("toast");
  t.textContent = text;
  t.style.display = "block";
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.style.display = "none"; }, 4000);
}
function showError(e) {
  main.insertAdjacentHTML("afterbegin", `<div class="error" data-testid="error">${esc(e.message || e)}</div>`);
}
function hashParams() {
  const [, query = ""] = location.hash.split("?");
  return Object.fromEntries(new URLSearchParams(query));
}
function table(columns, rows, testid) {
  const head = columns.map((c) => `<th class="${c.num ? "num" : ""}">${esc(c.title)}</th>`).join("");
  const body = rows.length
    ? rows.map((r) => "<tr>" + columns.map((c) => `<td class="${c.num ? "num" : ""} ${c.mono ? "mono" : ""}">${c.html ? c.html(r) : esc(c.value(r))}</td>`).join("") + "</tr>").join("")
    : `<tr><td colspan="${columns.length}" class="muted">nothing to show</td></tr>`;
  return `<table data-testid="${testid}"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}
function pager(page, size, total, onGo) {
  const pages = Math.max(1, Math.ceil(total / size));
  const id = "pg" + Math.random().toString(36).slice(2);
  setTimeout(() => {
    const el = document.getElementById(id);
    if (!el) return;
    el.querySelector(".prev").onclick = () => onGo(page - 1);
    el.querySelector(".next").onclick = () => onGo(page + 1);
  });
  return `<div class="pager" id="${id}" data-testid="pager"><button class="secondary prev" ${page <= 1 ? "disabled" : ""}>Previous</button>
    <span>page <b data-testid="page">${page}</b> of ${pages} (<span data-testid="total">${total}</span> in total)</span>
    <button class="secondary next" ${page >= pages ? "disabled" : ""}>Next</button></div>`;
}
function toLocalInput(ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 19);
}
function fromLocalInput(v) {
  return v ? new Date(v).getTime() : undefined;
}

// ---- Overview ----
function chart(points) {
  const w = 1000, h = 200, pad = 34;
  const max = Math.max(1, ...points.map((p) => Math.max(p.putTps, p.getTps)));
  const n = Math.max(points.length - 1, 1);
  const x = (i) => pad + (i / n) * (w - pad - 8);
  const y = (v) => h - 18 - (v / max) * (h - 34);
  const line = (key) => points.map((p, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(p[key]).toFixed(1)}`).join(" ");
  const grid = [0, 0.5, 1].map((f) => `<line class="grid" x1="${pad}" x2="${w - 8}" y1="${y(max * f)}" y2="${y(max * f)}"></line><text x="2" y="${y(max * f) + 4}">${(max * f).toFixed(max < 10 ? 1 : 0)}</text>`).join("");
  const span = points.length ? `<text x="${pad}" y="${h - 2}">${esc(new Date(points[0].time).toLocaleTimeString())}</text><text x="${w - 70}" y="${h - 2}">${esc(new Date(points[points.length - 1].time).toLocaleTimeString())}</text>` : "";
  return `<svg class="chart" data-testid="tps-chart" viewBox="0 0 ${w} ${h}" preserveAspectRatio="none">${grid}${span}
    <path class="put" d="${line("putTps")}"></path><path class="get" d="${line("getTps")}"></path></svg>
    <div class="legend"><span class="put">messages in / s</span><span class="get">messages out / s</span></div>`;
}
async function pageOverview() {
  const o = await api("overview");
  const cards = [
    ["Cluster", o.clusterName], ["Broker", `${o.brokerName} (id ${o.brokerId})`], ["Address", o.brokerAddr],
    ["Version", o.version], ["Started", fmtTime(o.bootTimestamp)], ["Topics", o.topicCount], ["Consumer groups", o.groupCount],
    ["Messages in (total)", o.putTotal], ["Messages out (total)", o.getTotal],
    ["In TPS (10s 60s 600s)", o.putTps], ["Out TPS (10s 60s 600s)", o.getTransferredTps],
    ["CommitLog", fmtBytes(o.disk.commitLogBytes)], ["ConsumeQueue", fmtBytes(o.disk.consumeQueueBytes)],
    ["Disk used", o.disk.filesystemUsedRatio >= 0 ? (o.disk.filesystemUsedRatio * 100).toFixed(1) + " %" : "-"],
  ];
  main.innerHTML = `<h1>Overview</h1>
    <div class="cards" data-testid="overview-cards">${cards.map(([l, v]) => `<div class="card"><div class="label">${esc(l)}</div><div class="value" data-testid="card-${esc(l.toLowerCase().replace(/[^a-z]+/g, "-"))}">${esc(v)}</div></div>`).join("")}</div>
    <h2>Throughput (last ${o.tps.length} s)</h2>${chart(o.tps)}`;
  refreshTimer = setTimeout(() => route(true), 2000);
}

// ---- Cluster & config ----
async function pageConfig() {
  const c = await api("config");
  const kv = (obj, id) => table([{ title: "key", value: (r) => r[0], mono: true }, { title: "value", value: (r) => typeof r[1] === "object" ? JSON.stringify(r[1]) : r[1], mono: true }], Object.entries(obj), id);
  main.innerHTML = `<h1>Cluster &amp; Config</h1>
    <h2>Cluster ${esc(c.cluster.clusterName)}</h2>
    ${table([{ title: "broker", value: (b) => b.brokerName }, { title: "id", value: (b) => b.brokerId }, { title: "address", value: (b) => b.addr }, { title: "role", value: (b) => b.role }, { title: "started", value: (b) => fmtTime(b.bootTimestamp) }], c.cluster.brokers, "cluster-table")}
    <div id="replication">${replicationSection(await api("replication").catch((e) => ({ error: e.message })))}</div>
    <h2>Broker config</h2>${kv(c.broker, "broker-config")}
    <h2>Store config</h2>${kv(c.store, "store-config")}`;
}

// The replica set of this broker name (master and slaves, as the name server lists them) with each
// slave's lag, and this broker's HA state: a master's slave connections or a slave's HA client.
function replicationSection(r) {
  if (r.error && !r.brokers) return `<h2>Replication</h2><p class="error">${esc(r.error)}</p>`;
  const num = (v) => (v === null || v === undefined ? "-" : v);
  const members = table([
    { title: "broker id", value: (m) => m.brokerId },
    { title: "address", value: (m) => m.addr, mono: true },
    { title: "role", value: (m) => m.role ?? "-" },
    { title: "CommitLog max offset", value: (m) => num(m.commitLogMaxOffset) },
    { title: "lag (bytes)", value: (m) => num(m.lagBytes) },
    { title: "in sync", value: (m) => (m.inSync === null || m.inSync === undefined ? "-" : m.inSync ? "yes" : "no") },
    { title: "error", value: (m) => m.error ?? "" },
  ], r.brokers, "replication-table");
  let ha = "";
  if (r.haClient) {
    const c = r.haClient;
    ha = `<h3>HA client (this slave)</h3>${table([{ title: "key", value: (e) => e[0] }, { title: "value", value: (e) => e[1], mono: true }], [
      ["master HA address", c.masterAddr ?? "-"], ["CommitLog max offset", c.maxOffset],
      ["received (bytes/s)", c.transferredByteInSecond], ["last read", fmtTime(c.lastReadTimestamp)],
      ["last report", fmtTime(c.lastWriteTimestamp)], ["master flush offset", c.masterFlushOffset]], "ha-client-table")}`;
  } else {
    ha = `<h3>Slave connections (HA port)</h3>${table([
      { title: "slave socket", value: (c) => c.addr, mono: true },
      { title: "acknowledged offset", value: (c) => c.slaveAckOffset },
      { title: "behind (bytes)", value: (c) => c.diff },
      { title: "status", value: (c) => (c.inSync ? "OK" : "Fall Behind") },
      { title: "sent (bytes/s)", value: (c) => c.transferredByteInSecond },
      { title: "next transfer from", value: (c) => c.transferFromWhere },
    ], r.haConnections, "ha-connections-table")}`;
  }
  const warn = r.namesrvError ? `<p class="error" data-testid="replication-namesrv-error">${esc(r.namesrvError)}</p>` : "";
  return `<h2>Replication: ${esc(r.brokerName)} (${esc(r.role)}, in sync below ${fmtBytes(r.haMaxGapNotInSync)} behind)</h2>${warn}${members}${ha}`;
}

// ---- Topics ----
const topicState = { page: 1, size: 50, q: "", kind: "all" };
async function pageTopics() {
  const s = topicState;
  const data = await api("topics", { page: s.page, size: s.size, q: s.q, kind: s.kind });
  main.innerHTML = `<h1>Topics</h1>
    <div class="panel"><form class="inline" id="topic-form" data-testid="topic-form">
      <label>Topic<input name="topic" required data-testid="topic-name"></label>
      <label>Read queues<input name="readQueueNums" type="number" min="1" value="8" data-testid="topic-read"></label>
      <label>Write queues<input name="writeQueueNums" type="number" min="1" value="8" data-testid="topic-write"></label>
      <label>Perm<select name="perm" data-testid="topic-perm"><option value="6">RW (6)</option><option value="4">R (4)</option><option value="2">W (2)</option></select></label>
      <label class="check"><input type="checkbox" name="order"> ordered</label>
      <button type="submit" data-testid="topic-save">Create / update</button>
    </form></div>
    <div class="toolbar"><label>Filter<input id="topic-q" value="${esc(s.q)}" placeholder="name contains" data-testid="topic-filter"></label>
      <label>Kind<select id="topic-kind" data-testid="topic-kind">${["all", "normal", "retry", "dlq", "system"].map((k) => `<option ${k === s.kind ? "selected" : ""}>${k}</option>`).join("")}</select></label>
      <button id="topic-search" class="secondary" data-testid="topic-search">Search</button></div>
    ${pager(data.page, data.size, data.total, (p) => { s.page = p; route(); })}
    ${table([
      { title: "topic", html: (t) => `<a href="#/topic?name=${encodeURIComponent(t.topic)}">${esc(t.topic)}</a>` },
      { title: "kind", value: (t) => t.kind }, { title: "read", value: (t) => t.readQueueNums, num: true },
      { title: "write", value: (t) => t.writeQueueNums, num: true }, { title: "perm", value: (t) => t.perm, num: true },
      { title: "order", value: (t) => t.order ? "yes" : "" }, { title: "messages", value: (t) => t.messages, num: true },
      { title: "", html: (t) => `<button class="danger" data-delete="${esc(t.topic)}">Delete</button>` },
    ], data.items, "topics-table")}`;
  document.getElementById("topic-form").onsubmit = async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    try {
      await api("topic", null, { topic: f.get("topic"), readQueueNums: +f.get("readQueueNums"), writeQueueNums: +f.get("writeQueueNums"), perm: +f.get("perm"), order: f.get("order") === "on" });
      toast("Topic " + f.get("topic") + " saved");
      s.q = f.get("topic"); s.page = 1; route();
    } catch (e) { showError(e); }
  };
  const search = () => { s.q = document.getElementById("topic-q").value.trim(); s.kind = document.getElementById("topic-kind").value; s.page = 1; route(); };
  document.getElementById("topic-search").onclick = search;
  document.getElementById("topic-q").onkeydown = (e) => { if (e.key === "Enter") search(); };
  main.querySelectorAll("[data-delete]").forEach((b) => b.onclick = async () => {
    if (!confirm("Delete topic " + b.dataset.delete + "?")) return;
    try { await api("topic/delete", { topic: b.dataset.delete }, {}); toast("Topic deleted"); route(); } catch (e) { showError(e); }
  });
}
async function pageTopic() {
  const name = hashParams().name;
  const [st, rt] = await Promise.all([api("topic/status", { topic: name }), api("topic/route", { topic: name })]);
  main.innerHTML = `<h1>Topic <span class="mono" data-testid="topic-title">${esc(name)}</span></h1>
    <div class="panel"><form class="inline" id="topic-edit" data-testid="topic-edit">
      <label>Read queues<input name="readQueueNums" type="number" min="1" value="${st.config.readQueueNums}"></label>
      <label>Write queues<input name="writeQueueNums" type="number" min="1" value="${st.config.writeQueueNums}"></label>
      <label>Perm<input name="perm" type="number" min="0" max="7" value="${st.config.perm}"></label>
      <button type="submit">Update</button>
      <a href="#/messages?topic=${encodeURIComponent(name)}">Messages of this topic</a></form></div>
    <h2>Status</h2>
    ${table([{ title: "queue", value: (q) => q.queueId, num: true }, { title: "min offset", value: (q) => q.minOffset, num: true }, { title: "max offset", value: (q) => q.maxOffset, num: true }, { title: "last stored", value: (q) => fmtTime(q.lastUpdateTimestamp) }], st.queues, "topic-status")}
    <h2>Consumer groups</h2><p data-testid="topic-groups">${st.groups.length ? st.groups.map((g) => `<a href="#/group?name=${encodeURIComponent(g)}">${esc(g)}</a>`).join(", ") : '<span class="muted">none</span>'}</p>
    <h2>Route</h2>
    ${table([{ title: "cluster", value: (b) => b.cluster }, { title: "broker", value: (b) => b.brokerName }, { title: "addresses", value: (b) => JSON.stringify(b.brokerAddrs), mono: true }], rt.brokerDatas, "topic-route-brokers")}
    ${table([{ title: "broker", value: (q) => q.brokerName }, { title: "read", value: (q) => q.readQueueNums, num: true }, { title: "write", value: (q) => q.writeQueueNums, num: true }, { title: "perm", value: (q) => q.perm, num: true }, { title: "sys flag", value: (q) => q.topicSysFlag, num: true }], rt.queueDatas, "topic-route-queues")}`;
  document.getElementById("topic-edit").onsubmit = async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    try { await api("topic", null, { topic: name, readQueueNums: +f.get("readQueueNums"), writeQueueNums: +f.get("writeQueueNums"), perm: +f.get("perm"), order: st.config.order }); toast("Topic updated"); route(); } catch (e) { showError(e); }
  };
}

// ---- Consumer groups ----
const groupState = { page: 1, size: 50, q: "" };
async function pageGroups() {
  const s = groupState;
  const data = await api("groups", { page: s.page, size: s.size, q: s.q });
  main.innerHTML = `<h1>Consumer Groups</h1>
    <div class="toolbar"><label>Filter<input id="group-q" value="${esc(s.q)}" placeholder="name contains" data-testid="group-filter"></label>
      <button id="group-search" class="secondary" data-testid="group-search">Search</button></div>
    ${pager(data.page, data.size, data.total, (p) => { s.page = p; route(); })}
    ${table([
      { title: "group", html: (g) => `<a href="#/group?name=${encodeURIComponent(g.group)}">${esc(g.group)}</a>` },
      { title: "online", html: (g) => g.online ? '<span class="ok">online</span>' : '<span class="muted">offline</span>' },
      { title: "clients", value: (g) => g.clientCount, num: true }, { title: "model", value: (g) => g.messageModel || "" },
      { title: "type", value: (g) => g.consumeType || "" }, { title: "topics", value: (g) => g.topics.join(", ") },
      { title: "lag", value: (g) => g.lag, num: true },
    ], data.items, "groups-table")}`;
  const search = () => { s.q = document.getElementById("group-q").value.trim(); s.page = 1; route(); };
  document.getElementById("group-search").onclick = search;
  document.getElementById("group-q").onkeydown = (e) => { if (e.key === "Enter") search(); };
}
const resetChoice = {};
async function pageGroup() {
  const name = hashParams().name;
  const g = await api("group", { group: name });
  const choice = resetChoice[name] || { topic: "", time: toLocalInput(Date.now() - 3600000) };
  const conn = (c) => [{ title: "client id", value: (x) => x.clientId, mono: true }, { title: "address", value: (x) => x.clientAddr }, { title: "language", value: (x) => x.language }, { title: "version", value: (x) => x.version, num: true }, { title: "last heartbeat", value: (x) => fmtTime(x.lastUpdateTimestamp) }];
  main.innerHTML = `<h1>Consumer group <span class="mono" data-testid="group-title">${esc(name)}</span></h1>
    <div class="cards"><div class="card"><div class="label">Status</div><div class="value">${g.online ? '<span class="ok">online</span>' : '<span class="muted">offline</span>'}</div></div>
      <div class="card"><div class="label">Total lag</div><div class="value" data-testid="group-lag">${esc(g.lag)}</div></div>
      <div class="card"><div class="label">Model / type</div><div class="value">${esc(g.messageModel || "-")} ${esc(g.consumeType || "")}</div></div>
      <div class="card"><div class="label">Retry max times</div><div class="value">${esc(g.config ? g.config.retryMaxTimes : "-")}</div></div></div>
    <h2>Reset offset</h2>
    <div class="panel"><form class="inline" id="reset-form" data-testid="reset-form">
      <label>Topic<select name="topic" data-testid="reset-topic"><option value="">every topic</option>${g.topics.map((t) => `<option ${t === choice.topic ? "selected" : ""}>${esc(t)}</option>`).join("")}</select></label>
      <label>Consume from (store time)<input type="datetime-local" step="1" name="time" value="${esc(choice.time)}" data-testid="reset-time"></label>
      <button type="submit" data-testid="reset-submit">Reset offset</button></form>
      <div id="reset-result"></div></div>
    <h2>Queues</h2>
    ${table([{ title: "topic", value: (q) => q.topic }, { title: "queue", value: (q) => q.queueId, num: true }, { title: "broker offset", value: (q) => q.brokerOffset, num: true }, { title: "consumer offset", value: (q) => q.consumerOffset, num: true }, { title: "lag", value: (q) => q.lag, num: true }, { title: "last consumed", value: (q) => fmtTime(q.lastTimestamp) }], g.queues, "group-queues")}
    <h2>Connections</h2>${table(conn(), g.connections, "group-connections")}
    <h2>Subscriptions</h2>${table([{ title: "topic", value: (s) => s.topic }, { title: "expression", value: (s) => s.subString, mono: true }, { title: "type", value: (s) => s.expressionType }], g.subscriptions, "group-subscriptions")}`;
  document.getElementById("reset-form").onsubmit = async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    resetChoice[name] = { topic: f.get("topic"), time: f.get("time") };
    try {
      const r = await api("group/reset-offset", null, { group: name, topic: f.get("topic") || null, timestamp: fromLocalInput(f.get("time")) });
      await route();
      document.getElementById("reset-result").innerHTML = `<div class="note" data-testid="reset-note">Reset ${r.queues.length} queue(s): ${esc(r.note)}</div>`;
    } catch (e) { showError(e); }
  };
}

// ---- Producers ----
async function pageProducers() {
  const data = await api("producers");
  main.innerHTML = `<h1>Producers</h1>` + (data.items.length ? data.items.map((p) => `<h2 class="mono">${esc(p.group)}</h2>` +
    table([{ title: "client id", value: (x) => x.clientId, mono: true }, { title: "address", value: (x) => x.clientAddr }, { title: "language", value: (x) => x.language }, { title: "version", value: (x) => x.version, num: true }, { title: "last heartbeat", value: (x) => fmtTime(x.lastUpdateTimestamp) }], p.connections, "producer-" + p.group)).join("")
    : `<p class="muted" data-testid="no-producers">No producer is connected.</p>`);
}

// ---- Messages ----
const msgState = { tab: "time", topic: "", key: "", id: "", begin: null, end: null };
function messageTable(items, testid) {
  return table([
    { title: "message id", html: (m) => `<a class="mono" href="#/message?offset=${m.commitLogOffset}">${esc(m.msgId)}</a>` },
    { title: "unique key", value: (m) => m.uniqKey || "", mono: true }, { title: "topic", value: (m) => m.topic },
    { title: "queue", value: (m) => m.queueId, num: true }, { title: "offset", value: (m) => m.queueOffset, num: true },
    { title: "tags", value: (m) => m.tags || "" }, { title: "keys", value: (m) => m.keys || "" },
    { title: "stored", value: (m) => fmtTime(m.storeTimestamp) }, { title: "size", value: (m) => m.bodySize, num: true },
  ], items, testid);
}
async function pageMessages() {
  const s = msgState;
  const p = hashParams();
  if (p.topic) s.topic = p.topic;
  if (s.begin === null) { s.begin = Date.now() - 3600000; s.end = Date.now() + 60000; }
  main.innerHTML = `<h1>Messages</h1>
    <div class="tabs">${[["time", "By topic and time"], ["key", "By key"], ["id", "By message id"], ["send", "Send a message"]].map(([k, t]) => `<button data-tab="${k}" class="${k === s.tab ? "active" : ""}" data-testid="tab-${k}">${t}</button>`).join("")}</div>
    <div class="panel" id="msg-form-panel"></div><div id="msg-result"></div>`;
  main.querySelectorAll("[data-tab]").forEach((b) => b.onclick = () => { s.tab = b.dataset.tab; route(); });
  const panel = document.getElementById("msg-form-panel");
  const out = document.getElementById("msg-result");
  const topicInput = `<label>Topic<input name="topic" value="${esc(s.topic)}" required data-testid="msg-topic"></label>`;
  if (s.tab === "time") {
    panel.innerHTML = `<form class="inline" id="msg-form">${topicInput}
      <label>From<input type="datetime-local" step="1" name="begin" value="${toLocalInput(s.begin)}" data-testid="msg-begin"></label>
      <label>To<input type="datetime-local" step="1" name="end" value="${toLocalInput(s.end)}" data-testid="msg-end"></label>
      <button type="submit" data-testid="msg-search">Search</button></form>`;
  } else if (s.tab === "key") {
    panel.innerHTML = `<form class="inline" id="msg-form">${topicInput}<label>Key<input name="key" value="${esc(s.key)}" required data-testid="msg-key"></label><button type="submit" data-testid="msg-search">Search</button></form>`;
  } else if (s.tab === "id") {
    panel.innerHTML = `<form class="inline" id="msg-form"><label>Message id (offset id or unique key)<input name="id" size="40" value="${esc(s.id)}" required data-testid="msg-id"></label>
      <label>Topic (for a unique key)<input name="topic" value="${esc(s.topic)}" data-testid="msg-topic"></label><button type="submit" data-testid="msg-search">Find</button></form>`;
  } else {
    panel.innerHTML = `<form class="inline" id="msg-form">${topicInput}<label>Tags<input name="tags" data-testid="send-tags"></label><label>Keys<input name="keys" data-testid="send-keys"></label>
      <label>Body<textarea name="body" data-testid="send-body"></textarea></label><button type="submit" data-testid="send-submit">Send</button></form>`;
  }
  document.getElementById("msg-form").onsubmit = async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    if (f.get("topic") !== null) s.topic = f.get("topic").trim();
    try {
      if (s.tab === "time") {
        s.begin = fromLocalInput(f.get("begin")); s.end = fromLocalInput(f.get("end"));
        const r = await api("messages/by-time", { topic: s.topic, begin: s.begin, end: s.end, limit: 200 });
        out.innerHTML = `<p data-testid="msg-total">${r.total} message(s) in the range${r.total > r.items.length ? `, newest ${r.items.length} shown` : ""}</p>` + messageTable(r.items, "msg-results");
      } else if (s.tab === "key") {
        s.key = f.get("key").trim();
        const r = await api("messages/by-key", { topic: s.topic, key: s.key });
        out.innerHTML = `<p data-testid="msg-total">${r.total} message(s)${r.scanLimitReached ? " (scan limit reached; narrow the time range)" : ""}</p>` + messageTable(r.items, "msg-results");
      } else if (s.tab === "id") {
        s.id = f.get("id").trim();
        const m = await api("message", { id: s.id, topic: s.topic });
        out.innerHTML = messageDetail(m);
      } else {
        const r = await api("message/send", null, { topic: s.topic, tags: f.get("tags"), keys: f.get("keys"), body: f.get("body") });
        out.innerHTML = `<div class="note" data-testid="send-result">Sent to queue ${r.queueId} at offset ${r.queueOffset}: message id <span class="mono">${esc(r.msgId)}</span>, unique key <span class="mono">${esc(r.uniqKey)}</span></div>`;
      }
    } catch (e) { out.innerHTML = `<div class="error" data-testid="error">${esc(e.message)}</div>`; }
  };
}
function messageDetail(m) {
  const s = m.summary;
  const rows = [["message id", s.msgId], ["unique key", s.uniqKey], ["topic", s.topic], ["queue", s.queueId], ["queue offset", s.queueOffset], ["CommitLog offset", s.commitLogOffset],
    ["tags", s.tags], ["keys", s.keys], ["born", fmtTime(s.bornTimestamp) + " from " + m.bornHost], ["stored", fmtTime(s.storeTimestamp) + " on " + m.storeHost], ["reconsume times", s.reconsumeTimes], ["body size", s.bodySize], ["sys flag", m.sysFlag], ["flag", m.flag]];
  return `<div class="panel" data-testid="msg-detail"><h2>Message</h2>
    ${table([{ title: "field", value: (r) => r[0] }, { title: "value", value: (r) => r[1] ?? "", mono: true }], rows, "msg-fields")}
    <h2>Properties</h2>${table([{ title: "name", value: (r) => r[0], mono: true }, { title: "value", value: (r) => r[1], mono: true }], Object.entries(m.properties), "msg-properties")}
    <h2>Body (${esc(m.bodyEncoding)})</h2><pre class="body" data-testid="msg-body">${esc(m.body)}</pre></div>`;
}
async function pageMessage() {
  const m = await api("message", { offset: hashParams().offset });
  main.innerHTML = `<h1>Message</h1>${messageDetail(m)}`;
}

// ---- Dead letters ----
async function pageDlq() {
  const p = hashParams();
  const groups = await api("dlq/groups");
  main.innerHTML = `<h1>Dead Letters</h1>
    ${table([{ title: "group", html: (g) => `<a href="#/dlq?group=${encodeURIComponent(g.group)}">${esc(g.group)}</a>` }, { title: "topic", value: (g) => g.topic, mono: true }, { title: "messages", value: (g) => g.messages, num: true }], groups.items, "dlq-groups")}
    <div id="dlq-messages"></div>`;
  if (!p.group) return;
  const r = await api("dlq", { group: p.group, limit: 200 });
  const box = document.getElementById("dlq-messages");
  box.innerHTML = `<h2>Dead letters of <span class="mono" data-testid="dlq-group">${esc(p.group)}</span> (${r.total})</h2>
    <div class="toolbar"><label>Resend to<select id="dlq-target" data-testid="dlq-target"><option value="topic">the original topic (every subscriber)</option><option value="group">%RETRY%${esc(p.group)} (this group only)</option></select></label></div>
    ${table([
      { title: "message id", html: (m) => `<a class="mono" href="#/message?offset=${m.commitLogOffset}">${esc(m.msgId)}</a>` },
      { title: "unique key", value: (m) => m.uniqKey || "", mono: true }, { title: "tags", value: (m) => m.tags || "" }, { title: "keys", value: (m) => m.keys || "" },
      { title: "stored", value: (m) => fmtTime(m.storeTimestamp) }, { title: "reconsume times", value: (m) => m.reconsumeTimes, num: true },
      { title: "", html: (m) => `<button data-resend="${m.commitLogOffset}" data-testid="dlq-resend">Resend</button>` },
    ], r.items, "dlq-messages")}<div id="dlq-result"></div>`;
  box.querySelectorAll("[data-resend]").forEach((b) => b.onclick = async () => {
    try {
      const res = await api("dlq/resend", null, { group: p.group, commitLogOffset: +b.dataset.resend, target: document.getElementById("dlq-target").value });
      document.getElementById("dlq-result").innerHTML = `<div class="note" data-testid="dlq-resent">Resent to ${esc(res.topic)} (queue ${res.queueId}, offset ${res.queueOffset}) as <span class="mono">${esc(res.msgId)}</span></div>`;
    } catch (e) { showError(e); }
  });
}

// ---- Router ----
const pages = { overview: pageOverview, config: pageConfig, topics: pageTopics, topic: pageTopic, groups: pageGroups, group: pageGroup, producers: pageProducers, messages: pageMessages, message: pageMessage, dlq: pageDlq };
const navOf = { topic: "topics", group: "groups", message: "messages" };
async function route(quiet) {
  clearTimeout(refreshTimer);
  const name = (location.hash.replace(/^#\/?/, "").split("?")[0]) || "overview";
  const page = pages[name] || pageOverview;
  document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("active", a.dataset.page === (navOf[name] || name)));
  if (!quiet) main.innerHTML = '<p class="muted">Loading...</p>';
  try {
    await page();
    main.dataset.page = name;
  } catch (e) {
    if (e instanceof LoginNeeded) return;
    main.innerHTML = "";
    showError(e);
  }
}
window.addEventListener("hashchange", () => route());
showSession();
route();
