// The demo app's window. Plain script (no bundler, no modules), loaded under a CSP that allows
// only this page's own files. It talks to the app solely through window.updates, which the
// preload exposes (UpdatesApi in app/ipc-contract.ts).
//
// Everything shown comes from the updater and, for release notes, from the update repository:
// it is only ever written with textContent, never parsed as HTML.
'use strict';

(function main() {
  const STATUS_TEXT = {
    idle: () => 'Ready to check for updates.',
    checking: () => 'Checking for updates…',
    available: (v) => `Version ${v} is available.`,
    'not-available': () => 'You’re up to date.',
    downloading: (v) => `Downloading version ${v}…`,
    downloaded: (v) => `Version ${v} is ready to install.`,
    installing: (v) => `Installing version ${v}… The app will restart.`,
    error: () => 'The update did not complete.',
  };
  // Statuses in which an offered release's details (date, notes) are worth showing.
  const WITH_RELEASE = new Set(['available', 'downloading', 'downloaded', 'installing']);
  const BUSY = new Set(['checking', 'downloading', 'installing']);

  const el = (id) => document.getElementById(id);
  const view = {
    currentVersion: el('current-version'),
    dot: el('status-dot'),
    statusText: el('status-text'),
    releaseDate: el('release-date'),
    progress: el('progress'),
    progressBar: el('progress-bar'),
    progressText: el('progress-text'),
    error: el('error'),
    notes: el('notes'),
    releaseNotes: el('release-notes'),
    check: el('check'),
    download: el('download'),
    install: el('install'),
  };

  const text = (value) => (typeof value === 'string' ? value : '');
  const finite = (value) => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

  function formatBytes(bytes) {
    const units = ['B', 'kB', 'MB', 'GB'];
    let value = Math.max(0, finite(bytes));
    let unit = 0;
    while (value >= 1000 && unit < units.length - 1) {
      value /= 1000;
      unit += 1;
    }
    return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
  }

  function formatDate(value) {
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? value : date.toLocaleDateString(undefined, { dateStyle: 'long' });
  }

  function show(element, visible) {
    element.hidden = !visible;
  }

  function renderProgress(state) {
    const downloading = state.status === 'downloading';
    show(view.progress, downloading);
    if (!downloading) return;
    const progress = state.progress || {};
    const percent = Math.min(100, Math.max(0, finite(progress.percent)));
    view.progressBar.value = percent;
    const parts = [`${Math.floor(percent)}%`, `${formatBytes(progress.bytesPerSecond)}/s`];
    if (finite(progress.total) > 0) {
      parts.push(`${formatBytes(progress.transferred)} of ${formatBytes(progress.total)}`);
    }
    view.progressText.textContent = parts.join(' · ');
  }

  function renderRelease(state) {
    const withRelease = WITH_RELEASE.has(state.status);
    const date = withRelease ? text(state.releaseDate) : '';
    view.releaseDate.textContent = date ? `Released ${formatDate(date)}` : '';
    show(view.releaseDate, date !== '');
    const notes = withRelease ? text(state.releaseNotes) : '';
    view.releaseNotes.textContent = notes; // text, never HTML: notes come from the repository
    show(view.notes, notes !== '');
  }

  // Buttons whose action main has not answered yet; they stay disabled until it does.
  const pending = new Set();
  let currentStatus = 'idle';

  function renderButtons() {
    view.check.disabled = pending.has(view.check) || BUSY.has(currentStatus);
    view.download.disabled = pending.has(view.download);
    view.install.disabled = pending.has(view.install);
    show(view.download, currentStatus === 'available');
    show(view.install, currentStatus === 'downloaded');
  }

  function render(state) {
    if (!state || typeof state !== 'object') return;
    const status = Object.hasOwn(STATUS_TEXT, state.status) ? state.status : 'error';
    const version = text(state.version) || 'unknown';
    view.currentVersion.textContent = text(state.currentVersion) || 'unknown';
    view.dot.dataset.status = status;
    view.statusText.textContent = STATUS_TEXT[status](version);
    const error = status === 'error' ? text(state.error) || 'Unknown error.' : '';
    view.error.textContent = error;
    show(view.error, error !== '');
    renderProgress({ ...state, status });
    renderRelease({ ...state, status });
    currentStatus = status;
    renderButtons();
  }

  function showUnavailable() {
    view.statusText.textContent = 'Updates are not available in this window.';
    view.dot.dataset.status = 'error';
    for (const button of [view.check, view.download, view.install]) button.disabled = true;
  }

  // The outcome of an action (a failure too) arrives as a new state, so a rejected promise
  // needs no handling beyond re-enabling the button.
  function bindAction(button, action) {
    button.addEventListener('click', () => {
      if (pending.has(button)) return;
      pending.add(button);
      renderButtons();
      Promise.resolve()
        .then(action)
        .catch(() => {})
        .finally(() => {
          pending.delete(button);
          renderButtons();
        });
    });
  }

  const updates = window.updates;
  if (!updates) {
    showUnavailable();
    return;
  }
  let sawPushedState = false;
  updates.onState((state) => {
    sawPushedState = true;
    render(state);
  });
  updates
    .getState()
    .then((state) => {
      if (!sawPushedState) render(state); // a pushed state is newer than this answer
    })
    .catch(showUnavailable);
  bindAction(view.check, () => updates.check());
  bindAction(view.download, () => updates.download());
  bindAction(view.install, () => updates.install());
})();
