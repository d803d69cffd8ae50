// Browser end-to-end test of the Ferrocket web console: starts `ferrocket standalone` with its
// console on a free port, drives every page in headless Chromium (Debian's /usr/bin/chromium,
// through playwright-core) and keeps a screenshot of each step in artifacts/.
//
//   FERROCKET_BIN=/path/to/ferrocket node --test console.test.mjs

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFile } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import net from "node:net";
import http from "node:http";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const artifacts = join(here, "artifacts");
const CHROMIUM = "/usr/bin/chromium";
const START_TIMEOUT_MS = 90_000;
const WAIT_MS = 60_000;

function ferrocketBin() {
  const bin = process.env.FERROCKET_BIN
    ? resolve(process.env.FERROCKET_BIN)
    : resolve(here, "../../target/debug/ferrocket");
  assert.ok(existsSync(bin), `the ferrocket binary is missing at ${bin}: build it with \`cargo build -p ferrocket\` or set FERROCKET_BIN`);
  return bin;
}

/**
 * Spawns `bin args` and resolves once stdout prints a line matching `ready`, with the process, its console URL
 * (its `Console:` line, which comes first), the match and the last 200 stderr lines; rejects if it exits first.
 */
function startUntilReady(what, bin, args, ready) {
  const child = spawn(bin, args, {
    env: { ...process.env, RUST_LOG: "info", NAMESRV_ADDR: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stderr = [];
  createInterface({ input: child.stderr }).on("line", (l) => { stderr.push(l); if (stderr.length > 200) stderr.shift(); });
  return new Promise((resolvePromise, reject) => {
    let console = null;
    const timer = setTimeout(() => { child.kill("SIGKILL"); reject(new Error(`${what} did not become ready:\n` + stderr.join("\n"))); }, START_TIMEOUT_MS);
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`${what} exited with ${code}:\n` + stderr.join("\n"))); });
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (line.startsWith("Console: ")) console = line.slice("Console: ".length).replace(/\/$/, "");
      const m = line.match(ready);
      if (m) {
        clearTimeout(timer);
        child.removeAllListeners("exit");
        if (!console) reject(new Error(`no 'Console:' line before the ready line of ${what}`));
        else resolvePromise({ child, console, match: m, stderr });
      }
    });
  });
}

/** Starts `ferrocket standalone`; resolves with the console URL and the server addresses. */
async function startStandalone(bin, dir, extraConf = "") {
  const conf = join(dir, "broker.conf");
  writeFileSync(conf, "listenPort=0\nconsolePort=0\nconsoleListenAddress=127.0.0.1\n" + extraConf);
  const s = await startUntilReady("standalone", bin, ["standalone", "--store", join(dir, "store"), "--namesrv-listen", "127.0.0.1:0", "-c", conf],
    /is ready: name server (\S+), broker (\S+)/);
  return { child: s.child, console: s.console, namesrv: s.match[1].replace(/,$/, ""), broker: s.match[2], stderr: s.stderr };
}

function run(bin, args) {
  return new Promise((res, rej) => execFile(bin, args, { timeout: 120_000, env: { ...process.env, RUST_LOG: "warn" } }, (err, stdout, stderr) => (err ? rej(new Error(`${args.join(" ")}: ${err.message}\n${stderr}`)) : res(stdout))));
}

/** One RocketMQ remoting request (JSON header) over a raw socket; resolves with the response header. */
function remotingRequest(addr, code, extFields) {
  const [host, port] = [addr.slice(0, addr.lastIndexOf(":")), Number(addr.slice(addr.lastIndexOf(":") + 1))];
  const header = Buffer.from(JSON.stringify({ code, language: "JAVA", version: 399, opaque: 1, flag: 0, extFields, serializeTypeCurrentRPC: "JSON" }));
  const frame = Buffer.alloc(8 + header.length);
  frame.writeInt32BE(4 + header.length, 0);
  frame.writeInt32BE(header.length, 4); // serialize type JSON (0) in the high byte
  header.copy(frame, 8);
  return new Promise((res, rej) => {
    const sock = net.connect(port, host, () => sock.write(frame));
    let buf = Buffer.alloc(0);
    sock.setTimeout(30_000, () => { sock.destroy(); rej(new Error("remoting request timed out")); });
    sock.on("error", rej);
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        const headerLen = buf.readInt32BE(4) & 0xffffff;
        sock.end();
        res(JSON.parse(buf.subarray(8, 8 + headerLen).toString("utf8")));
      }
    });
  });
}

async function getJson(url) {
  const r = await fetch(url);
  assert.equal(r.status, 200, `${url}: ${await r.clone().text()}`);
  return r.json();
}

async function eventually(what, fn) {
  const deadline = Date.now() + WAIT_MS;
  let last;
  while (Date.now() < deadline) {
    try { if ((last = await fn())) return last; } catch (e) { last = e; }
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.fail(`${what} did not happen within ${WAIT_MS} ms (last: ${last})`);
}

/** Headless Chromium with a fresh profile in `userDataDir`; `extraArgs` are added to the command line. */
async function launchChromium(userDataDir, extraArgs = []) {
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", ...extraArgs],
    viewport: { width: 1400, height: 900 },
  });
  context.setDefaultTimeout(WAIT_MS);
  return context;
}

test("every console page works in headless Chromium", async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (interop/console/run.sh does)`);
  const bin = ferrocketBin();
  rmSync(artifacts, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), "ferrocket-console-"));
  const server = await startStandalone(bin, dir);
  const userDataDir = mkdtempSync(join(tmpdir(), "ferrocket-chromium-"));
  const context = await launchChromium(userDataDir);
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.on("dialog", (d) => d.accept());
  let step = 0;
  const shot = async (name) => page.screenshot({ path: join(artifacts, `${String(++step).padStart(2, "0")}-${name}.png`), fullPage: true });
  const url = server.console;
  const topic = "BrowserTopic";
  const group = "browser_group";

  try {
    // Overview: cards and the TPS chart
    await page.goto(url + "/");
    await page.getByTestId("overview-cards").waitFor();
    await page.getByTestId("tps-chart").waitFor();
    assert.equal(await page.getByTestId("card-cluster").textContent(), "DefaultCluster");
    await shot("overview");

    // Cluster and broker config
    await page.goto(url + "/#/config");
    await page.getByTestId("broker-config").waitFor();
    assert.match(await page.getByTestId("broker-config").textContent(), /consoleListenAddress/);
    assert.match(await page.getByTestId("store-config").textContent(), /flushDiskType/);
    await shot("config");

    // Topics: create one, find it in the list, open its status and route
    await page.goto(url + "/#/topics");
    await page.getByTestId("topic-name").fill(topic);
    await page.getByTestId("topic-read").fill("4");
    await page.getByTestId("topic-write").fill("4");
    await page.getByTestId("topic-save").click();
    await page.getByTestId("topics-table").getByRole("link", { name: topic, exact: true }).waitFor();
    assert.equal(await page.getByTestId("total").textContent(), "1");
    await shot("topics");
    await page.getByTestId("topics-table").getByRole("link", { name: topic, exact: true }).click();
    await page.getByTestId("topic-status").waitFor();
    assert.equal(await page.getByTestId("topic-status").locator("tbody tr").count(), 4);
    await page.getByTestId("topic-route-queues").waitFor();
    await shot("topic-status-route");

    // ... update a topic on its page and delete it from the list
    await page.goto(url + "/#/topics");
    await page.getByTestId("topic-name").fill("BrowserTemp");
    await page.getByTestId("topic-save").click();
    await page.getByTestId("topics-table").getByRole("link", { name: "BrowserTemp", exact: true }).click();
    await page.getByTestId("topic-status").waitFor();
    assert.equal(await page.getByTestId("topic-status").locator("tbody tr").count(), 8);
    await page.getByTestId("topic-edit").locator('input[name="readQueueNums"]').fill("2");
    await page.getByTestId("topic-edit").locator('input[name="writeQueueNums"]').fill("2");
    await page.getByTestId("topic-edit").getByRole("button", { name: "Update" }).click();
    await eventually("the topic has 2 queues", async () => (await page.getByTestId("topic-status").locator("tbody tr").count()) === 2);
    await shot("topic-updated");
    await page.goto(url + "/#/topics");
    await page.getByTestId("topic-filter").fill("BrowserTemp");
    await page.getByTestId("topic-search").click();
    await page.getByTestId("topics-table").getByRole("button", { name: "Delete" }).click();
    await eventually("the topic is gone", async () => (await page.getByTestId("total").textContent()) === "0");
    await shot("topic-deleted");

    // ... many topics page on the server: 55 matches, 50 a page
    for (let i = 0; i < 55; i++) {
      const r = await fetch(`${url}/api/topic`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ topic: `PageTopic-${String(i).padStart(2, "0")}`, readQueueNums: 1, writeQueueNums: 1 }) });
      assert.equal(r.status, 200, await r.text());
    }
    await page.goto(url + "/#/topics");
    await page.getByTestId("topic-filter").fill("PageTopic");
    await page.getByTestId("topic-search").click();
    await eventually("55 topics listed", async () => (await page.getByTestId("total").textContent()) === "55");
    assert.equal(await page.getByTestId("topics-table").locator("tbody tr").count(), 50);
    await page.getByTestId("pager").getByRole("button", { name: "Next" }).click();
    await eventually("page 2", async () => (await page.getByTestId("page").textContent()) === "2");
    assert.equal(await page.getByTestId("topics-table").locator("tbody tr").count(), 5);
    assert.equal((await page.getByTestId("topics-table").locator("tbody tr td a").first().textContent()).trim(), "PageTopic-50");
    await shot("topics-page-2");

    // Messages: 10 from the CLI producer, one from the console's send form
    await run(bin, ["produce", "--namesrv", server.namesrv, "--topic", topic, "--count", "10", "--tag", "Cli", "--keys", "browser-key", "--body", "hello from the CLI"]);
    await page.goto(url + "/#/messages");
    await page.getByTestId("tab-send").click();
    await page.getByTestId("msg-topic").fill(topic);
    await page.getByTestId("send-tags").fill("Web");
    await page.getByTestId("send-keys").fill("web-key");
    await page.getByTestId("send-body").fill("hello from the browser");
    await page.getByTestId("send-submit").click();
    await page.getByTestId("send-result").waitFor();
    await shot("send");

    // ... found by topic and time range
    await page.getByTestId("tab-time").click();
    await page.getByTestId("msg-topic").fill(topic);
    await page.getByTestId("msg-search").click();
    await page.getByTestId("msg-results").waitFor();
    assert.match(await page.getByTestId("msg-total").textContent(), /^11 message/);
    assert.equal(await page.getByTestId("msg-results").locator("tbody tr").count(), 11);
    await shot("messages-by-time");
    // ... by key
    await page.getByTestId("tab-key").click();
    await page.getByTestId("msg-topic").fill(topic);
    await page.getByTestId("msg-key").fill("web-key");
    await page.getByTestId("msg-search").click();
    await page.getByTestId("msg-results").locator("tbody tr").first().waitFor();
    assert.match(await page.getByTestId("msg-total").textContent(), /^1 message/);
    const webMsgId = (await page.getByTestId("msg-results").locator("tbody tr td").first().textContent()).trim();
    await shot("messages-by-key");
    // ... by id, with body and properties
    await page.getByTestId("tab-id").click();
    await page.getByTestId("msg-id").fill(webMsgId);
    await page.getByTestId("msg-search").click();
    await page.getByTestId("msg-detail").waitFor();
    assert.equal(await page.getByTestId("msg-body").textContent(), "hello from the browser");
    assert.match(await page.getByTestId("msg-properties").textContent(), /TAGSWeb/);
    await shot("message-by-id");

    // Consumer group: consume everything with the CLI consumer, then 5 more messages make a lag of 5
    await run(bin, ["consume", "--namesrv", server.namesrv, "--topic", topic, "--group", group, "--from", "first", "--count", "11", "--brief"]);
    await run(bin, ["produce", "--namesrv", server.namesrv, "--topic", topic, "--count", "5", "--keys", "later-key"]);
    await eventually("group lag 5", async () => (await getJson(`${url}/api/group?group=${group}`)).lag === 5);
    await page.goto(url + "/#/groups");
    await page.getByTestId("group-filter").fill(group);
    await page.getByTestId("group-search").click();
    await page.getByTestId("groups-table").getByRole("link", { name: group, exact: true }).waitFor();
    await shot("groups");
    await page.getByTestId("groups-table").getByRole("link", { name: group, exact: true }).click();
    await page.getByTestId("group-queues").waitFor();
    assert.equal(await page.getByTestId("group-lag").textContent(), "5");
    await shot("group-lag");
    // reset the offset to the beginning of time: every message is to be consumed again
    await page.getByTestId("reset-topic").selectOption(topic);
    await page.getByTestId("reset-time").fill("2000-01-01T00:00:00");
    await page.getByTestId("reset-submit").click();
    await page.getByTestId("reset-note").waitFor();
    assert.equal(await page.getByTestId("group-lag").textContent(), "16");
    await shot("group-reset-offset");

    // Producers page
    await page.goto(url + "/#/producers");
    await page.locator("main h1", { hasText: "Producers" }).waitFor();
    await shot("producers");

    // Dead letters: the group gives up on one message (CONSUMER_SEND_MSG_BACK, delay level -1)
    const victim = (await getJson(`${url}/api/messages/by-key?topic=${topic}&key=web-key`)).items[0];
    const resp = await remotingRequest(server.broker, 36, {
      offset: String(victim.commitLogOffset), group, delayLevel: "-1", originMsgId: victim.msgId, originTopic: topic, unitMode: "false", maxReconsumeTimes: "16",
    });
    assert.equal(resp.code, 0, `CONSUMER_SEND_MSG_BACK failed: ${resp.remark}`);
    await page.goto(url + "/#/dlq");
    await page.getByTestId("dlq-groups").getByRole("link", { name: group, exact: true }).click();
    await page.getByTestId("dlq-messages").locator("tbody tr").first().waitFor();
    assert.equal(await page.getByTestId("dlq-messages").locator("tbody tr").count(), 1);
    await shot("dlq");
    await page.getByTestId("dlq-messages").locator("tbody tr td a").first().click();
    await page.getByTestId("msg-detail").waitFor();
    assert.equal(await page.getByTestId("msg-body").textContent(), "hello from the browser");
    assert.match(await page.getByTestId("msg-properties").textContent(), new RegExp(`RETRY_TOPIC${topic}`));
    await shot("dlq-message");
    await page.goBack();
    await page.getByTestId("dlq-resend").first().click();
    await page.getByTestId("dlq-resent").waitFor();
    assert.match(await page.getByTestId("dlq-resent").textContent(), new RegExp(`Resent to ${topic}`));
    await shot("dlq-resent");
    // the resent copy is on the original topic
    await page.goto(url + "/#/messages");
    await page.getByTestId("tab-key").click();
    await page.getByTestId("msg-topic").fill(topic);
    await page.getByTestId("msg-key").fill("web-key");
    await page.getByTestId("msg-search").click();
    await page.getByTestId("msg-results").locator("tbody tr").nth(1).waitFor();
    assert.match(await page.getByTestId("msg-total").textContent(), /^2 message/);
    await shot("resent-on-topic");

    // Overview again: the chart has points and the totals moved
    await page.goto(url + "/#/overview");
    await page.getByTestId("tps-chart").waitFor();
    assert.ok(Number(await page.getByTestId("card-messages-in-total-").textContent()) >= 17);
    await shot("overview-after");

    // Metrics in the browser
    await page.goto(url + "/metrics");
    const metrics = await page.locator("body").textContent();
    assert.match(metrics, new RegExp(`ferrocket_messages_in_total\\{topic="${topic}"\\} \\d+`));
    assert.match(metrics, new RegExp(`ferrocket_consumer_lag_messages\\{group="${group}"\\} \\d+`));
    await shot("metrics");

    assert.deepEqual(pageErrors, [], "no JavaScript errors on any page");
  } finally {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
    server.child.kill("SIGTERM");
    await new Promise((r) => { const t = setTimeout(() => { server.child.kill("SIGKILL"); r(); }, 30_000); server.child.on("exit", () => { clearTimeout(t); r(); }); });
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A password hash made by `ferrocket console-password-hash`. */
function passwordHash(bin, password) {
  return new Promise((res, rej) => {
    const child = execFile(bin, ["console-password-hash"], { timeout: 60_000 }, (err, stdout, stderr) => (err ? rej(new Error(stderr)) : res(stdout.trim())));
    child.stdin.end(password);
  });
}

/** Serves one page on another origin that tries to change the console (a CSRF attempt). */
function attackerSite(consoleUrl) {
  const page = `<!doctype html><title>attacker</title><script>
    fetch(${JSON.stringify(consoleUrl + "/api/topic")}, { method: "POST", mode: "no-cors", credentials: "include",
      headers: { "Content-Type": "text/plain" }, body: JSON.stringify({ topic: "CsrfTopic", readQueueNums: 1, writeQueueNums: 1, perm: 6 }) })
      .finally(() => { document.title = "sent"; });
    const f = document.createElement("form");
    f.method = "POST"; f.action = ${JSON.stringify(consoleUrl + "/api/topic/delete?topic=SecureTopic")};
    document.documentElement.appendChild(f);
  </script>`;
  const srv = http.createServer((req, res) => { res.writeHead(200, { "Content-Type": "text/html" }); res.end(page); });
  return new Promise((res) => srv.listen(0, "127.0.0.1", () => res(srv)));
}

test("console login, read-only refusal, Host and Origin checks in headless Chromium", async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (interop/console/run.sh does)`);
  const bin = ferrocketBin();
  mkdirSync(artifacts, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), "ferrocket-console-secure-"));
  const conf = `consoleLoginRequired=true\nconsoleUser=admin\nconsolePasswordHash=${await passwordHash(bin, "admin-pw")}\n` +
    `consoleReadOnlyUser=viewer\nconsoleReadOnlyPasswordHash=${await passwordHash(bin, "viewer-pw")}\n`;
  const server = await startStandalone(bin, dir, conf);
  const port = new URL(server.console).port;
  const userDataDir = mkdtempSync(join(tmpdir(), "ferrocket-chromium-"));
  // rebind.test resolves to loopback, as a DNS-rebinding attacker's name would
  const context = await launchChromium(userDataDir, ["--host-resolver-rules=MAP rebind.test 127.0.0.1"]);
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  const shot = async (name) => page.screenshot({ path: join(artifacts, `security-${name}.png`), fullPage: true });
  const url = server.console;
  let attacker = null;
  // Node's fetch drops Cookie headers: ask with a plain HTTP request
  const topicCount = (name, cookie) => new Promise((res, rej) => {
    http.get(`${url}/api/topics?q=${name}`, { headers: { Cookie: cookie } }, (r) => {
      let body = "";
      r.on("data", (d) => { body += d; });
      r.on("end", () => (r.statusCode === 200 ? res(JSON.parse(body).total) : rej(new Error(`topics: ${r.statusCode} ${body}`))));
    }).on("error", rej);
  });

  try {
    // the page asks for a login; a wrong password is refused
    await page.goto(url + "/");
    await page.getByTestId("login-form").waitFor();
    await shot("login");
    await page.getByTestId("login-user").fill("admin");
    await page.getByTestId("login-password").fill("wrong");
    await page.getByTestId("login-submit").click();
    await page.getByTestId("error").waitFor();
    assert.match(await page.getByTestId("error").textContent(), /wrong user or password/);

    // the session cookie is HttpOnly and SameSite=Strict
    await page.getByTestId("login-password").fill("admin-pw");
    await page.getByTestId("login-submit").click();
    await page.getByTestId("overview-cards").waitFor();
    assert.match(await page.getByTestId("session-user").textContent(), /admin/);
    const [cookie] = (await context.cookies(url)).filter((c) => c.name === "ferrocket_session");
    assert.ok(cookie, "a session cookie is set");
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, "Strict");
    assert.equal(await page.evaluate(() => document.cookie), "", "scripts cannot read the session");
    await shot("logged-in");

    // the logged-in page changes things through the API
    const created = await page.evaluate(async () => (await fetch("/api/topic", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ topic: "SecureTopic", readQueueNums: 2, writeQueueNums: 2, perm: 6 }) })).status);
    assert.equal(created, 200);
    const adminCookie = `ferrocket_session=${cookie.value}`;
    assert.equal(await topicCount("SecureTopic", adminCookie), 1);

    // CSRF: a page on another origin posts to the console with the operator's browser
    attacker = await attackerSite(url);
    const attackerPage = await context.newPage();
    await attackerPage.goto(`http://127.0.0.1:${attacker.address().port}/`);
    await attackerPage.waitForFunction(() => document.title === "sent");
    await attackerPage.evaluate(() => document.forms[0].submit());
    await attackerPage.waitForLoadState();
    await attackerPage.close();
    assert.equal(await topicCount("CsrfTopic", adminCookie), 0, "a cross-site request created a topic");
    assert.equal(await topicCount("SecureTopic", adminCookie), 1, "a cross-site form deleted a topic");

    // DNS rebinding: the same server under another name is refused
    const rebind = await page.goto(`http://rebind.test:${port}/`);
    assert.equal(rebind.status(), 403);
    const rebindApi = await page.goto(`http://rebind.test:${port}/api/topics`);
    assert.equal(rebindApi.status(), 403);

    // log out, then a read-only account sees but cannot change
    await page.goto(url + "/");
    await page.getByTestId("logout").click();
    await page.getByTestId("login-form").waitFor();
    await page.getByTestId("login-user").fill("viewer");
    await page.getByTestId("login-password").fill("viewer-pw");
    await page.getByTestId("login-submit").click();
    await page.getByTestId("overview-cards").waitFor();
    assert.match(await page.getByTestId("session-user").textContent(), /read-only/);
    const refused = await page.evaluate(async () => (await fetch("/api/topic/delete?topic=SecureTopic", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" })).status);
    assert.equal(refused, 403);
    const [viewerCookie] = (await context.cookies(url)).filter((c) => c.name === "ferrocket_session");
    assert.notEqual(viewerCookie.value, cookie.value, "a new session after logging in again");
    await assert.rejects(topicCount("SecureTopic", adminCookie), /401/, "the logged-out session still works");
    assert.equal(await topicCount("SecureTopic", `ferrocket_session=${viewerCookie.value}`), 1);
    await shot("read-only");

    // every change and refusal is in the audit log
    await eventually("audit lines", () => server.stderr.some((l) => l.includes("console change") && l.includes("admin") && l.includes("/api/topic"))
      && server.stderr.some((l) => l.includes("console request refused: cross-origin"))
      && server.stderr.some((l) => l.includes("console change refused") && l.includes("viewer")));
    assert.deepEqual(pageErrors, [], "no JavaScript errors");
  } finally {
    attacker?.close();
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
    server.child.kill("SIGTERM");
    await new Promise((r) => { const t = setTimeout(() => { server.child.kill("SIGKILL"); r(); }, 30_000); server.child.on("exit", () => { clearTimeout(t); r(); }); });
    rmSync(dir, { recursive: true, force: true });
  }
});

function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.on("error", rej);
    s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => res(port)); });
  });
}

/**
 * Starts `ferrocket broker` as the slave (brokerId 1) of `brokerName`, registered with `namesrv`, which gives it the
 * master's HA address; resolves with its console URL and address. Its CommitLog file size is the master's (4 MiB).
 */
async function startSlave(bin, dir, namesrv, brokerName, haPort) {
  const conf = join(dir, "slave.conf");
  writeFileSync(conf, `brokerName=${brokerName}\nbrokerId=1\nbrokerRole=SLAVE\nlistenPort=0\nhaListenPort=${haPort}\nbrokerIP1=127.0.0.1\n`
    + `namesrvAddr=${namesrv}\nconsolePort=0\nconsoleListenAddress=127.0.0.1\nmappedFileSizeCommitLog=4194304\n`);
  const s = await startUntilReady("the slave", bin, ["broker", "-c", conf, "--store", join(dir, "slave-store")], /broker is ready: broker (\S+),/);
  return { child: s.child, console: s.console, broker: s.match[1], stderr: s.stderr };
}

async function stop(child) {
  if (child.exitCode !== null) return;
  child.kill("SIGTERM");
  await new Promise((r) => { const t = setTimeout(() => { child.kill("SIGKILL"); r(); }, 30_000); child.on("exit", () => { clearTimeout(t); r(); }); });
}

test("the Cluster & Config page shows a master's slaves with their lag", async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (interop/console/run.sh does)`);
  const bin = ferrocketBin();
  mkdirSync(artifacts, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), "ferrocket-console-ha-"));
  const brokerName = "browser-ha";
  const [masterHa, slaveHa] = [await freePort(), await freePort()];
  const master = await startStandalone(bin, dir, `brokerName=${brokerName}\nbrokerRole=ASYNC_MASTER\nhaListenPort=${masterHa}\nbrokerIP1=127.0.0.1\nmappedFileSizeCommitLog=4194304\n`);
  let slave = null;
  const userDataDir = mkdtempSync(join(tmpdir(), "ferrocket-chromium-ha-"));
  let context = null;
  try {
    await run(bin, ["produce", "--namesrv", master.namesrv, "--topic", "BrowserReplicaTopic", "--count", "20", "--body", "replicated-{i}"]);
    slave = await startSlave(bin, dir, master.namesrv, brokerName, slaveHa);
    const end = (await getJson(master.console + "/api/overview")).commitLogMaxOffset;
    assert.ok(end > 0);
    await eventually("the slave caught up", async () => {
      const r = await getJson(master.console + "/api/replication");
      return r.brokers.length === 2 && r.brokers[1].lagBytes === 0 && r.haConnections.length === 1 && r.haConnections[0].slaveAckOffset === end;
    });

    context = await launchChromium(userDataDir);
    const page = context.pages()[0] ?? (await context.newPage());
    const pageErrors = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));

    // the master's page: both members, the slave 0 bytes behind and in sync, its HA connection OK
    await page.goto(master.console + "/#/config");
    const members = page.getByTestId("replication-table").locator("tbody tr");
    await members.nth(1).waitFor();
    assert.equal(await members.count(), 2);
    const cells = async (row) => (await row.locator("td").allTextContents()).map((t) => t.trim());
    const m = await cells(members.nth(0));
    assert.deepEqual([m[0], m[1], m[2], m[3]], ["0", master.broker, "ASYNC_MASTER", String(end)]);
    const s = await cells(members.nth(1));
    assert.deepEqual([s[0], s[1], s[2], s[3], s[4], s[5]], ["1", slave.broker, "SLAVE", String(end), "0", "yes"]);
    const conn = await cells(page.getByTestId("ha-connections-table").locator("tbody tr").first());
    assert.deepEqual([conn[1], conn[2], conn[3], conn[5]], [String(end), "0", "OK", String(end)]);
    await page.screenshot({ path: join(artifacts, "ha-master-replication.png"), fullPage: true });

    // the slave's page: the same members and its HA client, connected to the master's HA port
    await page.goto(slave.console + "/#/config");
    await page.getByTestId("ha-client-table").waitFor();
    const client = Object.fromEntries(await Promise.all((await page.getByTestId("ha-client-table").locator("tbody tr").all())
      .map(async (row) => { const [k, v] = await cells(row); return [k, v]; })));
    assert.equal(client["master HA address"], `127.0.0.1:${masterHa}`);
    assert.equal(client["CommitLog max offset"], String(end));
    assert.notEqual(client["last read"], "-");
    const slaveMembers = await cells(page.getByTestId("replication-table").locator("tbody tr").nth(1));
    assert.deepEqual([slaveMembers[0], slaveMembers[2], slaveMembers[4]], ["1", "SLAVE", "0"]);
    await page.screenshot({ path: join(artifacts, "ha-slave-replication.png"), fullPage: true });
    assert.deepEqual(pageErrors, [], "no JavaScript errors");
  } finally {
    await context?.close();
    rmSync(userDataDir, { recursive: true, force: true });
    if (slave) await stop(slave.child);
    await stop(master.child);
    rmSync(dir, { recursive: true, force: true });
  }
});
