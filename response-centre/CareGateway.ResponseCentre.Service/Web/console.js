// The operator console's live queue and alarm page: re-reads its page of queue rows on server-sent events (one read at a time,
// and on the server's regular tick), counts waiting time up each second, and signals new alarms with a flash, the tab title and a tone.
(function () {
  'use strict';
  var queue = document.getElementById('queue');
  var live = document.getElementById('live');
  var lang = document.body.getAttribute('data-lang');
  var words = lang === 'en'
    ? { live: 'Live', lost: 'Connection lost, reconnecting…', added: 'New alarm' }
    : { live: 'Direkte', lost: 'Forbindelsen er brutt, kobler til igjen…', added: 'Ny alarm' };
  var baseTitle = document.title;
  var known = ids();
  var firstSeen = {};
  var pending = false;

  // A row's key is its gateway, its id and its repeats: a repeat (the resident called again) counts as new.
  function ids() {
    var set = {};
    if (queue) { queue.querySelectorAll('tr[data-key]').forEach(function (tr) { set[tr.getAttribute('data-key')] = true; }); }
    return set;
  }

  function waited(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    if (h > 0) { return h + ' h ' + (m < 10 ? '0' : '') + m + ' min'; }
    if (m > 0) { return m + ' min ' + (r < 10 ? '0' : '') + r + ' s'; }
    return r + ' s';
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll('[data-raised]').forEach(function (el) {
      el.textContent = waited(now - Number(el.getAttribute('data-raised')));
    });
  }

  function tone() {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) { return; }
      var ctx = new Ctx(), osc = ctx.createOscillator(), gain = ctx.createGain();
      osc.frequency.value = 880; gain.gain.value = 0.15;
      osc.connect(gain); gain.connect(ctx.destination);
      osc.start(); osc.stop(ctx.currentTime + 0.35);
    } catch (e) { /* no sound without a user gesture in some browsers: the flash still shows */ }
  }

  function cue(count) {
    document.body.classList.add('alert');
    setTimeout(function () { document.body.classList.remove('alert'); }, 3200);
    document.title = '(' + count + ') ' + words.added + ' · ' + baseTitle;
    tone();
  }

  function busy() {
    var a = document.activeElement;
    return queue && a && queue.contains(a) && (a.tagName === 'INPUT' || a.tagName === 'SELECT');
  }

  // One read at a time: events that arrive while a read is under way cause one more read after it, not one each.
  var reading = false, again = false;
  var page = queue ? queue.getAttribute('data-page') || '1' : '1';

  function refresh() {
    if (!queue) { return; }
    if (busy()) { pending = true; return; }
    if (reading) { again = true; return; }
    reading = true;
    fetch('/queue/rows?page=' + encodeURIComponent(page), { credentials: 'same-origin', headers: { 'Accept': 'text/html' } }).then(function (r) {
      if (r.redirected || r.status === 401) { location.href = '/login'; return null; }
      return r.ok ? r.text() : null;
    }).then(function (html) {
      if (html === null || html === undefined) { return; }
      queue.innerHTML = html;
      var now = ids(), fresh = 0, t = Date.now();
      Object.keys(now).forEach(function (id) {
        if (!known[id]) { fresh++; firstSeen[id] = t; }
      });
      // A new row stays marked for a few seconds, across the re-reads that other events cause.
      Object.keys(firstSeen).forEach(function (id) {
        if (t - firstSeen[id] > 8000 || !now[id]) { delete firstSeen[id]; return; }
        var row = queue.querySelector('tr[data-key="' + CSS.escape(id) + '"]');
        if (row) { row.classList.add('new'); }
      });
      known = now;
      if (fresh > 0) { cue(fresh); }
      tick();
    }).catch(function () { /* the next event retries */ }).then(function () {
      reading = false;
      if (again) { again = false; refresh(); }
    });
  }

  if (queue) {
    queue.addEventListener('focusout', function () { if (pending) { pending = false; setTimeout(refresh, 0); } });
    document.addEventListener('visibilitychange', function () { if (!document.hidden) { document.title = baseTitle; } });
    setInterval(tick, 1000);
  }

  // The live parts of a page (an alarm's status and handling log, a home's commands and their answers): each element
  // with data-live-src is re-read from that address on the same events, one read at a time.
  var parts = Array.prototype.slice.call(document.querySelectorAll('[data-live-src]'));
  var partReading = false, partAgain = false;
  function refreshPart() {
    if (parts.length === 0) { return; }
    if (partReading) { partAgain = true; return; }
    partReading = true;
    Promise.all(parts.map(function (part) {
      return fetch(part.getAttribute('data-live-src'), { credentials: 'same-origin', headers: { 'Accept': 'text/html' } }).then(function (r) {
        if (r.redirected || r.status === 401) { location.href = '/login'; return null; }
        return r.ok ? r.text() : null;
      }).then(function (html) {
        if (html !== null && html !== undefined) { part.innerHTML = html; part.setAttribute('data-refreshed', String(Date.now())); }
      });
    })).catch(function () { /* the next event retries */ }).then(function () {
      partReading = false;
      if (partAgain) { partAgain = false; refreshPart(); }
    });
  }

  function onEvent() { refresh(); refreshPart(); }

  var source = new EventSource('/events');
  source.onopen = function () {
    if (live) { live.textContent = '● ' + words.live; }
    parts.forEach(function (part) { part.setAttribute('data-live', 'open'); });
    onEvent();
  };
  source.onerror = function () { if (live) { live.textContent = words.lost; } parts.forEach(function (part) { part.setAttribute('data-live', 'lost'); }); };
  ['alarm', 'changed', 'command', 'gateway', 'tick'].forEach(function (kind) { source.addEventListener(kind, onEvent); });
  // The session has ended (logout elsewhere, a new password, its age): to the login page, not a silent reconnect.
  source.addEventListener('ended', function () { source.close(); location.href = '/login'; });
})();
