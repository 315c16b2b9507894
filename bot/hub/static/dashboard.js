/* Kefu analytics dashboard. Vanilla JS + the vendored Chart.js; every server string is
   rendered with textContent (Kefu.el) or handed to Chart.js, which draws it on a canvas. */
(function () {
  'use strict';

  var K = window.Kefu, el = K.el, clear = K.clear, str = K.str;
  var DAY_MS = 86400000;
  var ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;
  var PALETTE = ['#2563eb', '#0f766e', '#d97706', '#9333ea', '#dc2626', '#0891b2', '#65a30d',
                 '#db2777', '#4b5563', '#ca8a04', '#7c3aed', '#059669'];
  var CHANNEL_COLORS = { webchat: '#2563eb', wechat: '#16a34a', wecom: '#0891b2', slack: '#9333ea' };
  var LANGUAGE_NAMES = { en: 'English', zh: 'Chinese', unknown: 'Unknown' };

  function $(id) { return document.getElementById(id); }
  var fromEl = $('range-from'), toEl = $('range-to'), statusEl = $('dash-status');
  var mainEl = $('dash-main'), kpisEl = $('kpis'), forbiddenEl = $('dash-forbidden'), errorEl = $('dash-error');
  var csvBtn = $('csv-btn'), rangeForm = $('range-form');

  if (window.Chart) {
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.color = '#4b5563';
    Chart.defaults.animation = false;   // re-rendered on every range change: no need to animate
    Chart.defaults.maintainAspectRatio = false;
  }

  // ---------- formatting ----------
  function num(v) { return typeof v === 'number' && isFinite(v) ? v : null; }
  function pct(v) { v = num(v); return v == null ? '—' : (Math.round(v * 1000) / 10) + '%'; }
  function signed(v) {
    v = num(v);
    if (v == null) return '—';
    var r = Math.round(v * 100) / 100;
    if (r === 0) return '0.00';  // never "-0.00"
    return (r > 0 ? '+' : '') + r.toFixed(2);
  }
  function duration(sec) {
    sec = num(sec);
    if (sec == null) return '—';
    if (sec < 60) return Math.round(sec) + ' s';
    if (sec < 3600) return Math.round(sec / 60) + ' min';
    if (sec < 86400) return (Math.round(sec / 360) / 10) + ' h';
    return (Math.round(sec / 8640) / 10) + ' d';
  }
  function count(v, noun) { var n = num(v) || 0; return n + ' ' + noun + (n === 1 ? '' : 's'); }
  function human(v) { return str(v).replace(/_/g, ' '); }
  function when(iso) {
    var d = new Date(iso);
    return isNaN(d.getTime()) ? str(iso) : d.toLocaleString([], { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  }
  function sum(xs) { return (xs || []).reduce(function (a, b) { return a + (num(b) || 0); }, 0); }
  function pick(obj, names) {
    for (var i = 0; i < names.length; i++) if (obj && obj[names[i]] != null) return obj[names[i]];
    return null;
  }

  // ---------- the date range (kept in the URL so a link can be shared) ----------
  function isoDay(ms) { return new Date(ms).toISOString().slice(0, 10); }
  function dayMs(iso) { return Date.parse(iso + 'T00:00:00Z'); }
  // The server counts days in UTC, so presets do too.
  function todayIso() { return isoDay(Date.now()); }
  function preset(days) { var to = todayIso(); return { from: isoDay(dayMs(to) - (days - 1) * DAY_MS), to: to }; }
  function valid(r) { return !!r && ISO_DAY.test(r.from) && ISO_DAY.test(r.to) && !isNaN(dayMs(r.from)) && !isNaN(dayMs(r.to)) && r.from <= r.to; }
  function fromUrl() {
    var q = new URLSearchParams(location.search);
    var r = { from: q.get('from') || '', to: q.get('to') || '' };
    return valid(r) ? r : null;
  }
  function query(r) { return 'from=' + encodeURIComponent(r.from) + '&to=' + encodeURIComponent(r.to); }

  var range = fromUrl() || preset(30);

  function setRange(r, how) {
    range = r;
    var url = location.pathname + '?' + query(r) + location.hash;
    try {
      if (how === 'push') history.pushState(null, '', url);
      else if (how === 'replace') history.replaceState(null, '', url);
    } catch (e) { /* file:// or sandboxed: the range still applies */ }
    showRange();
    load();
  }
  function showRange() {
    fromEl.value = range.from;
    toEl.value = range.to;
    Array.prototype.forEach.call(document.querySelectorAll('.dash-presets button'), function (b) {
      var p = preset(parseInt(b.getAttribute('data-days'), 10));
      var on = p.from === range.from && p.to === range.to;
      b.classList.toggle('active', on);
      b.setAttribute('aria-pressed', on ? 'true' : 'false');
    });
  }

  function onDateInput() {
    var r = { from: fromEl.value, to: toEl.value };
    if (!ISO_DAY.test(r.from) || !ISO_DAY.test(r.to)) return;  // still typing
    if (r.from > r.to) { setStatus('“From” is after “To”.', 'error'); return; }
    if (r.from !== range.from || r.to !== range.to) setRange(r, 'push');
  }
  fromEl.addEventListener('change', onDateInput);
  toEl.addEventListener('change', onDateInput);
  rangeForm.addEventListener('submit', function (e) { e.preventDefault(); onDateInput(); });
  Array.prototype.forEach.call(document.querySelectorAll('.dash-presets button'), function (b) {
    b.addEventListener('click', function () { setRange(preset(parseInt(b.getAttribute('data-days'), 10)), 'push'); });
  });
  window.addEventListener('popstate', function () {
    var r = fromUrl();
    if (r && (r.from !== range.from || r.to !== range.to)) { range = r; showRange(); load(); }
  });

  function setStatus(text, kind) {
    statusEl.textContent = text || '';
    statusEl.className = 'dash-status' + (kind ? ' dash-status-' + kind : '');
  }

  // ---------- loading ----------
  var seq = 0, signedIn = false;

  function load() {
    if (!signedIn) return;
    var mine = ++seq, r = range;
    setStatus('Loading…');
    mainEl.setAttribute('aria-busy', 'true');
    var overview = K.api('/api/analytics?' + query(r));
    // Topics come from a separate, heavier analysis that may not be installed.
    var topics = K.api('/api/analytics/topics?' + query(r)).then(null, function (err) {
      if (err instanceof K.AuthError) throw err;
      return { unavailable: true, error: err };
    });
    Promise.all([overview, topics]).then(function (res) {
      if (mine !== seq) return;
      forbiddenEl.hidden = true;
      errorEl.hidden = true;
      rangeForm.hidden = false;
      mainEl.hidden = false;
      render(res[0] || {}, res[1] || {});
      kpisEl.setAttribute('data-range', r.from + '..' + r.to);
      mainEl.removeAttribute('aria-busy');
      setStatus('Updated ' + new Date().toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }));
    }).catch(function (err) {
      if (mine !== seq || err instanceof K.AuthError) return;
      mainEl.removeAttribute('aria-busy');
      if (err instanceof K.ApiError && err.status === 403) {
        mainEl.hidden = true;
        rangeForm.hidden = true;  // nothing to filter
        forbiddenEl.hidden = false;
        setStatus('');
        return;
      }
      errorEl.hidden = false;
      errorEl.textContent = K.errText(err, 'Could not load the dashboard.');
      setStatus('');
      if (!(err instanceof K.ApiError) && window.console) console.error(err);
    });
  }

  csvBtn.addEventListener('click', function () {
    var r = range;
    csvBtn.disabled = true;
    K.download('/api/analytics/conversations.csv?' + query(r), 'kefu-conversations-' + r.from + '-' + r.to + '.csv')
      .then(function (file) {
        K.saveBlob(file.blob, file.filename);
        setStatus('Downloaded ' + file.filename);
      }, function (err) {
        if (err instanceof K.AuthError) return;
        setStatus(K.errText(err, 'Download failed.'), 'error');
      }).then(function () { csvBtn.disabled = false; });
  });

  // ---------- rendering ----------
  function render(data, topics) {
    renderKpis(data.totals || {}, data.agents || {});
    var days = Array.isArray(data.days) ? data.days : [];
    var labels = days.map(function (d) { return str(d).slice(5); });
    renderSeries('chart-channels', 'bar', labels, data.conversations_by_channel, function (k, i) { return CHANNEL_COLORS[k] || PALETTE[i % PALETTE.length]; }, true);
    renderSeries('chart-languages', 'line', labels, data.conversations_by_language, function (k, i) { return PALETTE[i % PALETTE.length]; }, false, LANGUAGE_NAMES);
    renderSentiment(labels, Array.isArray(data.sentiment_by_day) ? data.sentiment_by_day : []);
    renderCounts('chart-handoffs', data.handoff_reasons, 'reason', 'Handoffs', '#0f766e', false);
    renderCounts('chart-intents', data.top_intents, 'intent', 'Customer turns', '#7c3aed', true);
    renderCsat(data.csat || {});
    renderSegments(Array.isArray(data.segments) ? data.segments : []);
    renderTopics(topics);
    renderGaps(Array.isArray(data.knowledge_gaps) ? data.knowledge_gaps : []);
  }

  function kpi(key, label, value, sub) {
    return el('div', { class: 'dash-kpi', 'data-testid': 'kpi-' + key }, [
      el('div', { class: 'dash-kpi-label', text: label }),
      el('div', { class: 'dash-kpi-value', 'data-testid': 'kpi-value', text: value }),
      el('div', { class: 'dash-kpi-sub', text: sub })
    ]);
  }

  function renderKpis(t, agents) {
    clear(kpisEl);
    var fr = agents.first_response_s || {}, rs = agents.resolution_s || {}, qw = agents.queue_wait_s || {};
    kpisEl.appendChild(kpi('conversations', 'Conversations', str(num(t.conversations) || 0),
      count(t.customer_turns, 'customer message')));
    kpisEl.appendChild(kpi('containment', 'Contained by the bot', pct(t.containment_rate),
      'of ' + count(t.resolved, 'resolved conversation')));
    kpisEl.appendChild(kpi('handoff', 'Handed to a person', pct(t.handoff_rate),
      count(t.handoffs, 'handoff')));
    kpisEl.appendChild(kpi('sentiment', 'Mean sentiment', signed(t.mean_sentiment),
      t.negative_share == null ? 'no scored messages' : pct(t.negative_share) + ' of messages negative'));
    kpisEl.appendChild(kpi('csat', 'CSAT', num(t.csat_mean) == null ? '—' : t.csat_mean.toFixed(2) + ' / 5',
      'n = ' + str(num(t.csat_responses) || 0)));
    kpisEl.appendChild(kpi('helpful', 'Answers found helpful', pct(t.answer_helpful_rate),
      count(t.answer_votes, 'vote')));
    kpisEl.appendChild(kpi('first-response', 'First agent reply (median)', duration(fr.median),
      'queue wait ' + duration(qw.median)));
    kpisEl.appendChild(kpi('resolution', 'Resolution by agents (median)', duration(rs.median),
      rs.mean == null ? 'no resolved handoffs' : 'mean ' + duration(rs.mean)));
  }

  var charts = {};
  // Draws (or clears) one chart; an empty chart is replaced by its explicit empty-state text.
  function draw(id, config, empty, emptyText) {
    var canvas = $(id), box = canvas.parentNode;
    var note = document.querySelector('[data-empty-for="' + id + '"]');
    if (charts[id]) { charts[id].destroy(); delete charts[id]; }
    box.hidden = !!empty;
    if (note) {
      note.hidden = !empty;
      if (emptyText) note.textContent = emptyText;
    }
    canvas.setAttribute('data-state', empty ? 'empty' : 'drawn');
    if (!empty && window.Chart) charts[id] = new Chart(canvas, config);
  }

  function legendAndStack(stacked) {
    return {
      plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } } },
      scales: { x: { stacked: stacked, grid: { display: false } },
                y: { stacked: stacked, beginAtZero: true, ticks: { precision: 0 } } }
    };
  }

  function renderSeries(id, type, labels, byKey, color, stacked, names) {
    var keys = Object.keys(byKey || {});
    var datasets = keys.map(function (k, i) {
      var c = color(k, i);
      return { label: (names && names[k]) || k, data: byKey[k], backgroundColor: c, borderColor: c,
               tension: 0, pointRadius: labels.length > 45 ? 0 : 2 };
    });
    var total = datasets.reduce(function (a, d) { return a + sum(d.data); }, 0);
    draw(id, { type: type, data: { labels: labels, datasets: datasets }, options: legendAndStack(stacked) }, total === 0);
  }

  function renderSentiment(labels, series) {
    var scored = series.filter(function (v) { return num(v) != null; }).length;
    draw('chart-sentiment', {
      type: 'line',
      data: { labels: labels, datasets: [{ label: 'Mean sentiment', data: series, spanGaps: true,
                                           borderColor: '#0f766e', backgroundColor: '#0f766e', tension: 0,
                                           pointRadius: labels.length > 45 ? 0 : 2 }] },
      options: { plugins: { legend: { display: false } },
                 scales: { x: { grid: { display: false } }, y: { min: -1, max: 1 } } }
    }, scored === 0);
  }

  function renderCounts(id, rows, key, label, color, horizontal) {
    rows = Array.isArray(rows) ? rows : [];
    var data = rows.map(function (r) { return num(r.count) || 0; });
    var options = { plugins: { legend: { display: false } },
                    scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { beginAtZero: true, ticks: { precision: 0 } } } };
    if (horizontal) options.indexAxis = 'y';
    draw(id, { type: 'bar', data: { labels: rows.map(function (r) { return human(r[key]) || '(none)'; }),
                                   datasets: [{ label: label, data: data, backgroundColor: color }] },
               options: options }, sum(data) === 0);
  }

  function renderCsat(csat) {
    var dist = Array.isArray(csat.distribution) ? csat.distribution : [0, 0, 0, 0, 0];
    draw('chart-csat', {
      type: 'bar',
      data: { labels: ['1 ★', '2 ★', '3 ★', '4 ★', '5 ★'],
              datasets: [{ label: 'Ratings', data: dist,
                           backgroundColor: ['#dc2626', '#f97316', '#eab308', '#84cc16', '#16a34a'] }] },
      options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
    }, sum(dist) === 0);
  }

  function renderSegments(segments) {
    var table = $('segments-table'), body = table.tBodies[0];
    clear(body);
    table.hidden = !segments.length;
    var names = [], customers = [], risk = [];
    segments.forEach(function (s) {
      var churn = num(pick(s, ['churn_risk', 'mean_churn_risk', 'churn']));
      var spend = pick(s, ['monetary', 'mean_monetary', 'monetary_yuan']);
      var cents = pick(s, ['monetary_cents', 'mean_monetary_cents']);
      if (spend == null && num(cents) != null) spend = cents / 100;
      names.push(str(s.segment));
      customers.push(num(s.customers) || 0);
      risk.push(churn == null ? null : Math.round(churn * 1000) / 10);
      body.appendChild(el('tr', { 'data-testid': 'segment-row' }, [
        el('td', { text: str(s.segment) }),
        el('td', { class: 'num', text: str(num(s.customers) || 0) }),
        el('td', { class: 'num', text: fixed(pick(s, ['recency_days', 'mean_recency_days', 'recency']), 0) }),
        el('td', { class: 'num', text: fixed(pick(s, ['frequency', 'mean_frequency']), 1) }),
        el('td', { class: 'num', text: num(spend) == null ? '—' : '¥' + Math.round(spend).toLocaleString() }),
        el('td', { class: 'num' + (churn != null && churn > 0.5 ? ' risk-high' : ''), text: pct(churn) })
      ]));
    });
    draw('chart-segments', {
      type: 'bar',
      data: { labels: names, datasets: [
        { label: 'Customers', data: customers, backgroundColor: '#2563eb', yAxisID: 'y', order: 1 },
        { type: 'line', label: 'Mean churn risk (%)', data: risk, borderColor: '#dc2626',
          backgroundColor: '#dc2626', yAxisID: 'risk', order: 0 }] },
      options: { plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } } },
                 scales: { y: { beginAtZero: true, ticks: { precision: 0 } },
                           risk: { position: 'right', min: 0, max: 100, grid: { display: false } } } }
    }, sum(customers) === 0);
  }
  function fixed(v, digits) { v = num(v); return v == null ? '—' : v.toFixed(digits); }

  function renderTopics(data) {
    var table = $('topics-table'), body = table.tBodies[0];
    clear(body);
    if (data.unavailable) {
      table.hidden = true;
      draw('chart-topics', null, true, 'Topic analysis is not available' +
           (data.error && data.error.status ? ' (HTTP ' + data.error.status + ').' : '.'));
      return;
    }
    var topics = Array.isArray(data.topics) ? data.topics : [];
    var byWeek = Array.isArray(data.by_week) ? data.by_week : [];
    var labelOf = {};
    topics.forEach(function (t) { labelOf[str(t.id)] = str(t.label) || 'Topic ' + str(t.id); });
    // one colour per topic, in the order of the topic table
    var weeks = [], topicKeys = topics.map(function (t) { return str(t.id); }), counts = {};
    byWeek.forEach(function (w) {
      var wk = str(w.week), tk = str(w.topic);
      if (weeks.indexOf(wk) < 0) weeks.push(wk);
      if (topicKeys.indexOf(tk) < 0) topicKeys.push(tk);
      counts[tk + '|' + wk] = (counts[tk + '|' + wk] || 0) + (num(w.count) || 0);
    });
    weeks.sort();
    var datasets = topicKeys.map(function (tk, i) {
      return { label: labelOf[tk] || tk, backgroundColor: PALETTE[i % PALETTE.length],
               data: weeks.map(function (wk) { return counts[tk + '|' + wk] || 0; }) };
    });
    var total = datasets.reduce(function (a, d) { return a + sum(d.data); }, 0);
    draw('chart-topics', { type: 'bar', data: { labels: weeks, datasets: datasets }, options: legendAndStack(true) },
         total === 0, 'No topics in this range.');

    table.hidden = !topics.length;
    topics.forEach(function (t) {
      var terms = Array.isArray(t.terms) ? t.terms.map(str).join(', ') : str(t.terms);
      var examples = el('ul', { class: 'dash-examples' });
      (Array.isArray(t.examples) ? t.examples : []).slice(0, 3).forEach(function (x) {
        examples.appendChild(el('li', { text: str(x) }));
      });
      body.appendChild(el('tr', { 'data-testid': 'topic-row' }, [
        el('td', {}, [el('strong', { text: str(t.label) || 'Topic ' + str(t.id) }),
                      t.top_intent ? el('div', { class: 'dash-note', text: human(t.top_intent) }) : null]),
        el('td', { text: terms }),
        el('td', { class: 'num', text: str(num(t.size) || 0) }),
        el('td', {}, [examples])
      ]));
    });
  }

  function renderGaps(gaps) {
    var table = $('gaps-table'), body = table.tBodies[0];
    clear(body);
    table.hidden = !gaps.length;
    $('gaps-empty').hidden = !!gaps.length;
    gaps.forEach(function (g) {
      var href = '/editor?' + new URLSearchParams({ q: str(g.question) }).toString();
      body.appendChild(el('tr', { 'data-testid': 'gap-row' }, [
        el('td', { class: 'dash-question', text: str(g.question) }),
        el('td', { class: 'num', text: str(num(g.count) || 0) }),
        el('td', { text: str(g.language) }),
        el('td', { text: g.last_seen ? when(g.last_seen) : '' }),
        el('td', {}, [el('a', { href: href, class: 'kb-nav-link', 'data-testid': 'gap-link', text: 'Write an article' })])
      ]));
    });
  }

  // ---------- boot ----------
  showRange();
  if (!fromUrl()) setRange(range, 'replace');  // make the default range visible in the URL
  K.mountLogin({
    app: $('dash-app'),
    onSignedIn: function () { signedIn = true; load(); },
    onSignedOut: function () {
      signedIn = false; seq++;
      Object.keys(charts).forEach(function (id) { charts[id].destroy(); delete charts[id]; });
      clear(kpisEl);
      kpisEl.removeAttribute('data-range');
      mainEl.hidden = true; forbiddenEl.hidden = true; errorEl.hidden = true; rangeForm.hidden = false;
    }
  });
})();
