// The page of the sample SDK management server: plain JS, no build step.
// Every value from the server is shown with textContent, never as HTML.
'use strict';

const $ = (id) => document.getElementById(id);
const state = { user: null, demo: false, fakes: [], stream: null };

async function api(method, path, body) {
  const opts = { method, credentials: 'same-origin', headers: {} };
  if (method === 'POST') {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body || {});
  }
  const r = await fetch(path, opts);
  let data = null;
  if (r.status !== 204) {
    try { data = await r.json(); } catch (e) { data = null; }
  }
  if (!r.ok) {
    const e = data && data.error;
    throw new Error(e ? `${r.status} ${e.code}: ${e.message}` : `HTTP ${r.status}`);
  }
  return data;
}

function say(text, isError) {
  const m = $('message');
  m.textContent = text;
  m.classList.toggle('error', !!isError);
}

function vendor() {
  return document.querySelector('input[name="vendor"]:checked').value;
}

// ---- login

async function refreshMe() {
  const me = await api('GET', '/auth/me');
  state.user = me.user;
  state.demo = me.demo;
  state.fakes = me.fake_vendors || [];
  const mode = $('mode');
  mode.hidden = false;
  mode.textContent = me.demo
    ? 'Demo mode: all four vendors are in-process fakes. Nothing leaves this machine.'
    : (state.fakes.length ? `Mixed mode: fakes for ${state.fakes.join(', ')}; the others use their real API.`
      : 'Real mode: every vendor uses its real API.');
  mode.classList.toggle('demo', me.demo);
  for (const el of document.querySelectorAll('[data-fake]')) {
    el.textContent = state.fakes.includes(el.dataset.fake) ? 'fake' : 'real API';
  }
  $('login-form').hidden = !!state.user;
  $('logged-in').hidden = !state.user;
  $('who').textContent = state.user || '';
  for (const id of ['start', 'invalidate', 'simulate']) $(id).disabled = !state.user;
  updateSimulate();
  if (state.user) connect(); else disconnect();
}

async function login(ev) {
  ev.preventDefault();
  try {
    await api('POST', '/auth/login', { user: $('user').value.trim() });
    clearGrant();
    clearEvents();
    await refreshMe();
    say(`Logged in as ${state.user}.`);
  } catch (e) { say(e.message, true); }
}

async function logout() {
  try {
    await api('POST', '/auth/logout');
    clearGrant();
    clearEvents();
    await refreshMe();
    say('Logged out.');
  } catch (e) { say(e.message, true); }
}

// ---- grants

// The Entrupy SDK on the phone makes the SDK authorization request; the
// page stands in for it with a fixed string per user, so a double tap asks
// for the same grant.
function startBody(v) {
  if (v === 'entrupy') return { sdk_authorization_request: `demo-sdk-request-${state.user}` };
  return {};
}

async function start() {
  const v = vendor();
  say(`Starting ${v}…`);
  try {
    const t0 = performance.now();
    const g = await api('POST', `/v1/${v}/start`, startBody(v));
    showGrant(g);
    say(`${v}: ${g.reused ? 'the held grant was reused' : 'a new grant was minted'} in ${Math.round(performance.now() - t0)} ms.`);
  } catch (e) { say(e.message, true); }
}

async function invalidate() {
  const v = vendor();
  try {
    await api('POST', `/v1/${v}/invalidate`);
    clearGrant();
    say(`${v}: grant invalidated; the next Start mints a new one.`);
  } catch (e) { say(e.message, true); }
}

function relative(iso) {
  const s = Math.round((new Date(iso) - Date.now()) / 1000);
  const a = Math.abs(s);
  const text = a < 90 ? `${a} s` : a < 5400 ? `${Math.round(a / 60)} min` : `${(a / 3600).toFixed(1)} h`;
  return s >= 0 ? `in ${text}` : `${text} ago`;
}

function field(dl, name, value, opts) {
  if (!value) return;
  const dt = document.createElement('dt');
  dt.textContent = name;
  const dd = document.createElement('dd');
  if (opts && opts.secret) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'secret';
    b.id = opts.id;
    b.title = 'click to reveal';
    const masked = '•'.repeat(12) + '  (click to reveal)';
    b.textContent = masked;
    b.addEventListener('click', () => {
      const hidden = b.textContent === masked;
      b.textContent = hidden ? value : masked;
      b.title = hidden ? 'click to hide' : 'click to reveal';
      b.classList.toggle('revealed', hidden);
    });
    dd.appendChild(b);
  } else {
    dd.textContent = value;
    if (opts && opts.id) dd.id = opts.id;
    if (opts && opts.code) dd.className = 'code';
  }
  dl.append(dt, dd);
}

function showGrant(g) {
  state.grant = g;
  const dl = $('grant-fields');
  dl.replaceChildren();
  field(dl, 'vendor', g.vendor);
  field(dl, 'user', g.user_id);
  field(dl, 'token', g.token, { secret: true, id: 'token' });
  field(dl, 'session id', g.session_id, { id: 'grant-session', code: true });
  field(dl, 'handoff URL', g.handoff_url, { secret: true, id: 'handoff' });
  field(dl, 'QR code text', g.qr_code_text, { id: 'qr-text', code: true });
  field(dl, 'dynamic link', g.qr_code_text_with_dynamic_link, { id: 'dynamic-link', code: true });
  field(dl, 'platform URL', g.platform_url, { code: true });
  field(dl, 'expires', `${new Date(g.expires_at).toLocaleString()} (${relative(g.expires_at)})`, { id: 'expires' });
  field(dl, 'refresh after', `${new Date(g.refresh_after).toLocaleString()} (${relative(g.refresh_after)})`, { id: 'refresh' });
  $('reused').hidden = !g.reused;
  $('grant').hidden = false;

  const qr = g.vendor === 'uqudo' || g.vendor === 'idv';
  $('qr-box').hidden = !qr;
  if (qr) {
    $('qr').src = `/v1/qr.png?vendor=${g.vendor}&session=${encodeURIComponent(g.session_id || '')}&t=${Date.now()}`;
    $('qr-caption').textContent = g.vendor === 'uqudo'
      ? 'The session as a phone scans it (uqudo dynamic link).'
      : 'The handoff URL as a phone scans it (it carries the device token).';
  }
  updateSimulate();
}

function clearGrant() {
  state.grant = null;
  $('grant').hidden = true;
  $('grant-fields').replaceChildren();
  $('qr').removeAttribute('src');
  updateSimulate();
}

// ---- the demo's phone

function updateSimulate() {
  const b = $('simulate');
  b.hidden = !state.user || !state.fakes.includes(vendor());
  b.disabled = !state.grant || state.grant.vendor !== vendor();
}

async function simulate() {
  const v = vendor();
  say(`${v}: the phone completes the session…`);
  try {
    const out = await api('POST', '/v1/demo/simulate', { vendor: v });
    if (v === 'idv') {
      // IDV sends no webhook here: the app reports "done" and the server
      // reads the result from IDV, for the session's owner only.
      const res = await api('POST', '/v1/idv/result', { session_id: out.session_id });
      say(`idv: the server read the result: ${res.status}.`);
    } else {
      say(`${v}: the vendor's delivery reached /webhooks/${v} (answered ${out.webhook_status}).`);
    }
  } catch (e) { say(e.message, true); }
}

// ---- events

function clearEvents() {
  $('events').replaceChildren();
  $('no-events').hidden = false;
}

function addEvent(ev) {
  if ($(`event-${ev.id}`)) return;
  const li = document.createElement('li');
  li.id = `event-${ev.id}`;
  li.className = 'event';
  li.dataset.vendor = ev.vendor;
  const head = document.createElement('div');
  const vendorTag = document.createElement('span');
  vendorTag.className = `tag vendor ${ev.vendor}`;
  vendorTag.textContent = ev.vendor;
  const kind = document.createElement('span');
  kind.className = 'kind';
  kind.textContent = ev.kind;
  const time = document.createElement('time');
  time.textContent = new Date(ev.time).toLocaleTimeString();
  head.append(vendorTag, ' ', kind, ' ', time);
  const summary = document.createElement('div');
  summary.className = 'summary';
  summary.textContent = ev.summary;
  const meta = document.createElement('div');
  meta.className = 'meta';
  const ok = document.createElement('span');
  ok.className = 'verified';
  ok.textContent = `✓ verified: ${ev.verified}`;
  const who = document.createElement('span');
  who.className = 'attributed';
  who.textContent = `attributed to ${ev.user}`;
  meta.append(ok, who);
  li.append(head, summary, meta);
  $('events').prepend(li);
  $('no-events').hidden = true;
}

function connect() {
  if (state.stream) return;
  const es = new EventSource('/v1/events');
  state.stream = es;
  const tag = $('stream');
  es.onopen = () => { tag.textContent = 'live'; tag.classList.add('ok'); };
  es.onerror = () => { tag.textContent = 'reconnecting'; tag.classList.remove('ok'); };
  es.onmessage = (m) => {
    try { addEvent(JSON.parse(m.data)); } catch (e) { /* ignore a bad line */ }
  };
}

function disconnect() {
  if (state.stream) state.stream.close();
  state.stream = null;
  const tag = $('stream');
  tag.textContent = 'offline';
  tag.classList.remove('ok');
}

// ---- wiring

document.addEventListener('DOMContentLoaded', () => {
  $('login-form').addEventListener('submit', login);
  $('logout').addEventListener('click', logout);
  $('start').addEventListener('click', start);
  $('invalidate').addEventListener('click', invalidate);
  $('simulate').addEventListener('click', simulate);
  for (const r of document.querySelectorAll('input[name="vendor"]')) {
    r.addEventListener('change', () => { clearGrant(); say(''); });
  }
  refreshMe().catch((e) => say(e.message, true));
});
