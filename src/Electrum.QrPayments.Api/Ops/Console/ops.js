// The ops console: plain DOM, no dependencies. Credentials live only in this page's memory and go
// out as HTTP Basic on each call; every value shown is set as text, never as HTML.
"use strict";
let authorization = null;
let shownRequestId = null;
const $ = id => document.getElementById(id);

async function call(path, options = {}) {
  const headers = Object.assign({ Authorization: authorization, Accept: "application/json" }, options.headers || {});
  // credentials "omit": never the browser's own Basic prompt or its cached login, only ours.
  const response = await fetch(path, Object.assign({}, options, { headers, credentials: "omit" }));
  if (response.status === 401) {
    throw new Error("Not logged in, or the password is wrong");
  }
  return response;
}

async function json(path) {
  const response = await call(path);
  if (!response.ok) {
    throw new Error(await problem(response));
  }
  return response.json();
}

async function problem(response) {
  try {
    const error = await response.json();
    const reason = error.detailMessage && (error.detailMessage.reason || error.detailMessage.field);
    return `${response.status} ${error.errorType || ""}: ${error.errorMessage || ""}${reason ? " (" + reason + ")" : ""}`;
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const cell of cells) {
    const td = document.createElement("td");
    if (cell instanceof Node) td.append(cell); else td.textContent = cell ?? "";
    tr.append(td);
  }
  return tr;
}

function figures(list, pairs) {
  list.replaceChildren();
  for (const [name, value] of pairs) {
    const dt = document.createElement("dt");
    dt.textContent = name;
    const dd = document.createElement("dd");
    dd.textContent = value ?? "—";
    dd.dataset.name = name;
    list.append(dt, dd);
  }
}

const when = t => (t ? new Date(t).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z") : "");

async function loadHealth() {
  const ready = await fetch("/health/ready", { credentials: "omit" }).then(r => (r.ok ? "ready" : "not ready (" + r.status + ")"), () => "unreachable");
  const stats = await json("/ops/outbox/stats");
  figures($("health"), [
    ["Service", ready],
    ["Advices pending", String(stats.pending)],
    ["Retrying", String(stats.retrying)],
    ["Failed", String(stats.failed)],
    ["Delivered", String(stats.delivered)],
    ["Oldest pending", stats.oldestPendingAgeSeconds == null ? "none" : Math.round(stats.oldestPendingAgeSeconds) + " s"],
  ]);
}

async function loadAttention() {
  const failed = await json("/ops/outbox?state=Failed");
  const retrying = await json("/ops/outbox?state=Pending&minAttempts=3");
  const body = $("attention");
  body.replaceChildren();
  for (const item of failed.concat(retrying)) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Re-queue";
    button.dataset.messageId = item.messageId;
    button.addEventListener("click", guard(() => requeue(item), "attention-note"));
    body.append(row([item.messageId, item.kind, item.partnerId, item.state, String(item.attempts), item.lastStatus == null ? "" : String(item.lastStatus), item.lastError, button]));
  }
  $("attention-empty").textContent = body.children.length ? "" : "Nothing needs attention.";
}

async function requeue(item) {
  if (!window.confirm(`Send the ${item.kind.toLowerCase()} ${item.messageId} to ${item.partnerId} again now, with the same message id?`)) {
    return;
  }
  const response = await call(`/ops/outbox/${encodeURIComponent(item.id)}/requeue`, { method: "POST" });
  const outcome = response.ok ? `Re-queued ${item.messageId}.` : await problem(response);
  await Promise.all([loadAttention(), loadHealth()]);
  await refreshShownPayment();
  $("attention-note").textContent = outcome;
}

async function findPayment(requestId) {
  $("search-error").textContent = "";
  $("payment").hidden = true;
  const response = await call(`/ops/payments/${encodeURIComponent(requestId)}`);
  if (!response.ok) {
    $("search-error").textContent = await problem(response);
    return;
  }
  const detail = await response.json();
  shownRequestId = requestId;
  const p = detail.payment;
  figures($("payment-figures"), [
    ["Request id", p.requestId],
    ["State", p.state],
    ["Amount", `${p.amount} (currency ${p.currency})`],
    ["Client", p.clientId],
    ["Partner", p.partnerId],
    ["tranId", p.tranId],
    ["Upstream id", detail.upstreamRequestId],
    ["Created", when(p.createdAt)],
    ["Scanned", detail.scan ? `${detail.scan.partnerId} at ${when(detail.scan.receivedAt)}` : "not scanned"],
  ]);
  const timeline = $("timeline");
  timeline.replaceChildren();
  for (const t of detail.transitions) {
    const li = document.createElement("li");
    li.textContent = `${t.from ? t.from + " → " : ""}${t.to} (${t.cause})`;
    const time = document.createElement("time");
    time.dateTime = t.at;
    time.textContent = when(t.at);
    li.append(time);
    timeline.append(li);
  }
  const outbox = $("payment-outbox");
  outbox.replaceChildren();
  for (const o of detail.outbox) {
    outbox.append(row([o.kind, o.state, String(o.attempts), o.lastStatus == null ? "" : String(o.lastStatus), o.state === "Pending" ? when(o.nextAttemptAt) : ""]));
  }
  $("payment").hidden = false;
}

async function refreshShownPayment() {
  if (shownRequestId !== null && !$("payment").hidden) {
    await findPayment(shownRequestId);
  }
}

async function downloadReconciliation(day, partner) {
  const query = `date=${encodeURIComponent(day)}${partner ? "&partnerId=" + encodeURIComponent(partner) : ""}`;
  const response = await call(`/ops/reconciliation?${query}`, { headers: { Accept: "text/csv" } });
  if (!response.ok) {
    $("reconcile-note").textContent = await problem(response);
    return;
  }
  const blob = await response.blob();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = `reconciliation-${day}${partner ? "-" + partner : ""}.csv`;
  document.body.append(link);
  link.click();
  link.remove();
  $("reconcile-note").textContent = `Downloaded ${link.download}.`;
}

function guard(action, errorId) {
  return async event => {
    event.preventDefault();
    try {
      await action();
    } catch (e) {
      $(errorId).textContent = e.message;
    }
  };
}

$("login").addEventListener("submit", guard(async () => {
  authorization = "Basic " + btoa(`${$("user").value}:${$("password").value}`);
  const response = await call("/ops/outbox/stats").catch(e => ({ ok: false, status: 401, message: e.message }));
  if (!response.ok) {
    authorization = null;
    $("login-error").textContent = response.status === 401 ? "Wrong user or password."
      : response.status === 403 ? "This user is not an operator." : await problem(response);
    return;
  }
  $("login-error").textContent = "";
  $("password").value = "";
  $("who").textContent = $("user").value;
  $("login").hidden = true;
  $("console").hidden = false;
  $("day").value = new Date().toISOString().slice(0, 10);
  await Promise.all([loadHealth(), loadAttention()]);
}, "login-error"));
$("refresh").addEventListener("click", guard(() => Promise.all([loadHealth(), loadAttention(), refreshShownPayment()]), "attention-note"));
$("search").addEventListener("submit", guard(() => findPayment($("request-id").value.trim()), "search-error"));
$("reconcile").addEventListener("submit", guard(() => downloadReconciliation($("day").value, $("partner").value.trim()), "reconcile-note"));
