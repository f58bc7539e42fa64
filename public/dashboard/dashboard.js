// The fhirhose export dashboard: polls dashboard/api/overview and draws jobs, clients and health.
// Plain browser JavaScript, no build step. Every value from the server is set as text, never as HTML.
'use strict';

const POLL_MS = 1500;
const API = 'dashboard/api';
const CREDENTIAL_KEY = 'fhirhose.dashboard.credential';
const JWT_RE = /^[\w-]+\.[\w-]+\.[\w-]+$/;

const openDetails = new Set();
let timer;

function $(id) {
  return document.getElementById(id);
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

/** A token goes as Bearer, anything else as the Basic password (the user name is ignored). */
function authHeaders() {
  const credential = sessionStorage.getItem(CREDENTIAL_KEY);
  if (!credential) return {};
  if (JWT_RE.test(credential)) return { authorization: `Bearer ${credential}` };
  const bytes = new TextEncoder().encode(`operator:${credential}`);
  return { authorization: `Basic ${btoa(String.fromCharCode(...bytes))}` };
}

async function api(path, init = {}) {
  const res = await fetch(`${API}/${path}`, {
    ...init,
    headers: { accept: 'application/json', ...authHeaders(), ...(init.headers ?? {}) },
    cache: 'no-store',
  });
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const message = body?.issue?.[0]?.diagnostics ?? `HTTP ${res.status}`;
    throw Object.assign(new Error(message), { status: res.status });
  }
  return body;
}

function bytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

function count(n) {
  return Number(n).toLocaleString('en');
}

function seconds(s) {
  if (s === null || s === undefined) return '–';
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

function time(ms) {
  return ms ? new Date(ms).toLocaleString() : '–';
}

function short(id) {
  return id ? id.slice(0, 8) : '–';
}

function clientLabel(clients, id) {
  if (id === null) return 'no client (auth off)';
  const c = clients.find((x) => x.clientId === id);
  return c?.name ? `${c.name} (${short(id)})` : short(id);
}

function describeParams(job) {
  const p = job.parameters;
  const parts = [`${job.level}${job.groupId ? ` Group/${job.groupId}` : ''}`];
  parts.push(`_type=${p.types ? p.types.join(',') : 'all'}`);
  if (p.since) parts.push(`_since=${new Date(p.since).toISOString()}`);
  if (p.until) parts.push(`_until=${new Date(p.until).toISOString()}`);
  if (p.typeFilters.length) parts.push(`_typeFilter×${p.typeFilters.length}`);
  if (p.elements.length) parts.push(`_elements=${p.elements.join(',')}`);
  if (p.patients !== null) parts.push(`patient×${p.patients}`);
  if (p.organizeOutputBy) parts.push(`organizeOutputBy=${p.organizeOutputBy}`);
  if (p.includeAssociatedData.length)
    parts.push(`includeAssociatedData=${p.includeAssociatedData.join(',')}`);
  if (p.lenient) parts.push('lenient');
  return parts.join('  ');
}

async function cancelJob(id, button) {
  button.disabled = true;
  try {
    await api(`jobs/${encodeURIComponent(id)}/cancel`, {
      method: 'POST',
      headers: { 'x-fhirhose-dashboard': '1' },
    });
    await refresh();
  } catch (err) {
    $('status').textContent = `cancel failed: ${err.message}`;
    button.disabled = false;
  }
}

function table(head, rows) {
  return el(
    'table',
    {},
    el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { text: h })))),
    el('tbody', {}, ...rows.map((r) => el('tr', {}, ...r.map((c) => el('td', { text: String(c) }))))),
  );
}

function jobCard(job, clients) {
  const g = job.progress;
  const active = job.state === 'queued' || job.state === 'running';
  const details = el(
    'details',
    { open: openDetails.has(job.id) },
    el('summary', {
      text: `${job.units.length} units, ${job.files.length} files, ${job.errors.length} errors`,
    }),
    table(
      ['unit', 'phase', 'reads', 'status', 'rows', 'attempts', 'worker', 'lease until'],
      job.units.map((u) => [
        u.seq,
        u.phase,
        u.type ? `${u.kind} ${u.type}` : u.kind,
        u.status,
        `${count(u.progress)} / ${count(u.estimate)}`,
        u.attempts,
        u.worker ?? '–',
        u.leaseExpires ? new Date(u.leaseExpires).toLocaleTimeString() : '–',
      ]),
    ),
    job.files.length
      ? table(
          ['file', 'kind', 'type', 'resources', 'bytes'],
          job.files.map((f) => [f.name, f.kind, f.type || 'mixed', count(f.count), bytes(f.bytes)]),
        )
      : null,
    ...job.errors.map((e) => el('p', { class: 'error', text: e })),
  );
  // Set through the CSSOM: the page's CSP allows no inline style attributes.
  const fill = el('div');
  fill.style.width = `${g.percent}%`;
  details.addEventListener('toggle', () =>
    details.open ? openDetails.add(job.id) : openDetails.delete(job.id),
  );
  return el(
    'article',
    { class: 'job', 'data-job-id': job.id, 'data-state': job.state },
    el(
      'div',
      { class: 'job-head' },
      el('span', { class: `state state-${job.state}`, text: job.state }),
      el('span', { class: 'job-id', title: job.id, text: short(job.id) }),
      el('span', { text: clientLabel(clients, job.clientId) }),
      el('div', { class: 'bar', title: `${g.percent}%` }, fill),
      el('span', { class: 'percent', text: `${g.percent}%` }),
      el('span', {
        class: 'figures',
        text:
          `${count(g.resources)} / ${count(g.estimate)} resources · ${bytes(g.bytes)} · ` +
          `${g.rate === null ? '–' : `${count(Math.round(g.rate))}/s`} · ETA ${seconds(g.etaSeconds)} · ` +
          `elapsed ${seconds(g.elapsedSeconds)}`,
      }),
      active
        ? el('button', {
            class: 'cancel',
            type: 'button',
            text: 'Cancel',
            onclick: (e) => cancelJob(job.id, e.currentTarget),
          })
        : null,
    ),
    el('div', { class: 'params', text: `${describeParams(job)} · created ${time(job.createdAt)}` }),
    details,
  );
}

function render(view) {
  const h = view.health;
  const health = [
    ['database', h.database],
    ['export files', h.storage],
    [
      'worker threads',
      h.workerThreads === 0 ? '0 (API only; fhirhose worker processes export)' : h.workerThreads,
    ],
    [
      'workers holding leases',
      view.workers.length ? view.workers.map((w) => `${w.id} (${w.units} units)`).join(', ') : 'none',
    ],
    ['up since', time(h.startedAt)],
    ['signed in as', view.operator],
  ];
  $('health').replaceChildren(
    ...health.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: String(v) })]),
  );
  const states = {};
  for (const j of view.jobs) states[j.state] = (states[j.state] ?? 0) + 1;
  $('job-counts').textContent =
    Object.entries(states)
      .map(([s, n]) => `${n} ${s}`)
      .join(', ') + (view.truncated ? ' (newest shown)' : '');
  $('jobs').replaceChildren(
    ...(view.jobs.length
      ? view.jobs.map((j) => jobCard(j, view.clients))
      : [el('p', { text: 'No export jobs.' })]),
  );
  $('clients').tBodies[0].replaceChildren(
    ...view.clients.map((c) =>
      el(
        'tr',
        {},
        ...[
          c.clientId ?? '–',
          c.clientId === null ? 'no client (auth off)' : (c.name ?? '(not registered)'),
          c.scope ?? '–',
          c.active,
          c.finished,
          time(c.lastKickoffAt),
        ].map((v) => el('td', { text: String(v) })),
      ),
    ),
  );
  $('status').textContent = `updated ${new Date(view.at).toLocaleTimeString()}`;
}

function showLogin(message) {
  clearTimeout(timer);
  $('board').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message ?? '';
  $('status').textContent = 'sign-in needed';
}

async function refresh() {
  clearTimeout(timer);
  try {
    const view = await api('overview');
    $('login').hidden = true;
    $('board').hidden = false;
    $('sign-out').hidden = !sessionStorage.getItem(CREDENTIAL_KEY);
    render(view);
  } catch (err) {
    if (err.status === 401 || err.status === 403)
      return showLogin(sessionStorage.getItem(CREDENTIAL_KEY) ? err.message : '');
    $('status').textContent = `not updated: ${err.message}`;
  }
  timer = setTimeout(refresh, POLL_MS);
}

$('login').addEventListener('submit', (e) => {
  e.preventDefault();
  sessionStorage.setItem(CREDENTIAL_KEY, $('credential').value.trim());
  $('credential').value = '';
  refresh();
});
$('sign-out').addEventListener('click', () => {
  sessionStorage.removeItem(CREDENTIAL_KEY);
  showLogin();
});
refresh();
