/* Kefu agent/admin console. Vanilla JS; all server data is rendered with textContent.
   Sign-in, the token and API calls come from kefu-common.js (loaded first). */
(function () {
  'use strict';

  var K = window.Kefu, el = K.el, clear = K.clear, str = K.str, cssToken = K.cssToken;
  var toDate = K.toDate, relTime = K.relTime, fullTime = K.fullTime;
  var AuthError = K.AuthError, ApiError = K.ApiError, errText = K.errText, api = K.api;
  var QUEUE_COLLAPSED_KEY = 'kefu_queue_collapsed';
  var POLL_MS = 5000;
  var SLOW_POLL_EVERY = 6;      // while the websocket is up, poll only every 6th tick (30 s) as a safety net
  var TICK_MS = 5000;           // live "waiting 3 min" labels
  var HIGHLIGHT_MS = 4000;      // how long a new handoff stays highlighted once the tab is visible
  var BASE_TITLE = 'Kefu console';

  function $(id) { return document.getElementById(id); }
  var app = $('console-app'), body = $('con-body');
  var listEl = $('conv-list'), listMsg = $('list-msg'), filterEl = $('status-filter');
  var queueSection = $('queue-section'), queueListEl = $('queue-list'), queueMsg = $('queue-msg');
  var queueFilterEl = $('queue-filter'), queueToggle = $('queue-toggle');
  var detailEl = $('detail'), detailEmpty = $('detail-empty'), transcriptEl = $('transcript');
  var replyForm = $('reply-form'), replyInput = $('reply-input'), replySend = $('reply-send');
  var replyWhy = $('reply-why'), replyWhyText = $('reply-why-text'), replyError = $('reply-error'), replyHint = $('reply-hint');
  var detailClaimBtn = $('detail-claim-btn'), resolveBtn = $('resolve-btn'), handbackBtn = $('handback-btn');
  var crmCard = $('crm-card'), crmToggle = $('crm-toggle'), crmBody = $('crm-body'), crmSummary = $('crm-summary');
  var toastEl = $('toast'), notifyBtn = $('notify-btn');

  function sameId(a, b) { return a != null && b != null && String(a) === String(b); }
  function forEachNode(list, fn) { Array.prototype.forEach.call(list, fn); }

  function safeUrl(raw) {
    try {
      var u = new URL(String(raw), location.href);
      return /^https?:$/.test(u.protocol) ? u.href : null;
    } catch (e) { return null; }
  }

  function shortTime(v) {
    var d = toDate(v);
    if (!d) return '';
    var sameDay = d.toDateString() === new Date().toDateString();
    return sameDay ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
                   : d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  }
  function dateOnly(v) {
    var d = toDate(v);
    return d ? d.toLocaleDateString([], { year: 'numeric', month: 'short', day: 'numeric' }) : str(v);
  }
  function fmtWait(sec) {
    var s = Math.max(0, Math.floor(sec || 0));
    if (s < 60) return '<1 min';
    var m = Math.floor(s / 60);
    if (m < 60) return m + ' min';
    var h = Math.floor(m / 60);
    if (h < 24) return h + ' h ' + (m % 60) + ' min';
    return Math.floor(h / 24) + ' d ' + (h % 24) + ' h';
  }
  function fmtNum(v) {
    var n = typeof v === 'number' ? v : parseFloat(v);
    if (!isFinite(n)) return str(v);
    return String(Math.round(n * 100) / 100);
  }

  // ---------- session ----------
  var auth = null;   // Kefu.mountLogin's handle, set at boot

  function convPath(id, tail) { return '/api/conversations/' + encodeURIComponent(id) + (tail || ''); }

  function onSignedOut() {
    stopPolling();
    closeSocket();
    selectedId = null; lastListJson = null; lastDetailKey = null; conversations = [];
    current = null; crmKey = null; drafts = {}; deliveries = {};
    queue = { queued: [], claimed: [] }; knownHandoffs = null; newHandoffs = {}; unseen = 0;
    updateTitle();
    clear(listEl); clear(transcriptEl); clear(queueListEl); clear(crmBody);
    replyInput.value = '';
    detailEl.hidden = true; detailEmpty.hidden = false;
    body.classList.remove('show-detail');
  }

  function onSignedIn() {
    updateNotifyBtn();
    // The login answer has no user id; /api/me tells us who "me" is for "assigned to me".
    api('/api/me').then(function (me) {
      var user = K.user();
      if (!me || !K.token()) return;
      K.setSession(K.token(), { username: me.username != null ? me.username : (user && user.username), role: me.role || (user && user.role) || '', id: me.id });
      auth.renderUser();
      renderControls();
      renderQueue();
    }).catch(function () { /* older hubs: fall back to comparing usernames */ });
    startPolling();
    connectSocket();
  }

  function isMe(person) {
    var user = K.user();
    if (!person || !user) return false;
    if (person.id != null && user.id != null) return sameId(person.id, user.id);
    return !!person.username && person.username === user.username;
  }
  function isAdmin() { var user = K.user(); return !!user && user.role === 'admin'; }

  // ---------- polling (fallback when the websocket is down) ----------
  var pollTimer = null, tickTimer = null, pollTick = 0;

  function startPolling() {
    stopPolling();
    refreshAll();
    pollTimer = setInterval(function () {
      pollTick++;
      if (wsOpen && pollTick % SLOW_POLL_EVERY) return;
      // The queue is polled even in a background tab so new handoffs can still raise the title badge.
      refreshQueue();
      if (document.visibilityState !== 'hidden') refreshList();
    }, POLL_MS);
    tickTimer = setInterval(tick, TICK_MS);
  }
  function stopPolling() {
    if (pollTimer) clearInterval(pollTimer);
    if (tickTimer) clearInterval(tickTimer);
    pollTimer = null; tickTimer = null;
  }
  function refreshAll() { refreshList(); refreshQueue(); }
  function tick() { updateRelativeTimes(); updateWaits(); }

  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState !== 'visible') return;
    unseen = 0;
    updateTitle();
    scheduleHighlightClear();
    if (pollTimer) refreshAll();
    if (K.token() && !ws) connectSocket();
  });
  window.addEventListener('online', function () { if (K.token() && !ws) connectSocket(); });

  // ---------- websocket ----------
  var ws = null, wsOpen = false, wsWanted = false, wsTimer = null, wsAttempt = 0;

  function setLive(state) {
    var n = $('live-state');
    var text = { open: 'Live', connecting: 'Connecting…', polling: 'Reconnecting…', off: 'Offline' }[state] || state;
    n.setAttribute('data-state', state);
    $('live-text').textContent = text;
    n.title = state === 'open' ? 'Real-time updates are on'
      : state === 'polling' ? 'Real-time connection lost: checking for updates every 5 seconds'
      : 'Real-time updates';
  }

  function connectSocket() {
    var token = K.token();
    if (!token || typeof WebSocket === 'undefined') { setLive('polling'); return; }
    wsWanted = true;
    if (wsTimer) { clearTimeout(wsTimer); wsTimer = null; }
    if (ws) return;
    // The token goes in the first frame, never in the URL (proxies and browsers log URLs).
    var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws/console';
    var sock;
    try { sock = new WebSocket(url); } catch (e) { scheduleReconnect(); return; }
    ws = sock;
    if (!wsAttempt) setLive('connecting');
    sock.onopen = function () {
      if (ws !== sock) return;
      sock.send(JSON.stringify({ type: 'auth', token: K.token() || token }));
    };
    sock.onmessage = function (ev) {
      if (ws !== sock) return;
      var frame;
      try { frame = JSON.parse(ev.data); } catch (e) { return; }
      if (frame && frame.type === 'ready') { // signed in: live from here on
        wsOpen = true; wsAttempt = 0;
        setLive('open');
        refreshAll(); // catch up on whatever happened while we were away
        if (selectedId) loadDetail(selectedId, true);
        return;
      }
      try { onFrame(frame); } catch (e) { if (window.console) console.error('console frame failed', e); }
    };
    sock.onclose = function (ev) {
      if (ws !== sock) return;
      ws = null; wsOpen = false;
      if (!wsWanted || !K.token()) { setLive('off'); return; }
      // The role no longer allows the live queue: the API answers 403 from now on too.
      if (ev && ev.code === 4403) { wsWanted = false; setLive('off'); return; }
      setLive('polling');
      // A rejected or expired token: ask the API, which signs us out on 401.
      if (ev && (ev.code === 4401 || ev.code === 4001 || ev.code === 1008)) api('/api/me').catch(function () {});
      scheduleReconnect();
    };
    sock.onerror = function () { /* onclose follows */ };
  }
  function scheduleReconnect() {
    if (!wsWanted || !K.token()) return;
    var base = Math.min(30000, 1000 * Math.pow(2, wsAttempt));
    wsAttempt++;
    if (wsTimer) clearTimeout(wsTimer);
    wsTimer = setTimeout(function () { wsTimer = null; connectSocket(); }, base / 2 + Math.random() * base / 2);
  }
  function closeSocket() {
    wsWanted = false; wsOpen = false; wsAttempt = 0;
    if (wsTimer) { clearTimeout(wsTimer); wsTimer = null; }
    if (ws) { var s = ws; ws = null; try { s.close(1000); } catch (e) { /* already closed */ } }
    setLive('off');
  }

  function onFrame(f) {
    if (!f || typeof f !== 'object') return;
    if (f.type === 'handoff_created') onHandoffCreated(f.handoff);
    else if (f.type === 'conversation_updated') onConversationUpdated(f);
    else if (f.type === 'turn_created') onTurnCreated(f.conversation_id, f.turn);
  }

  // ---------- title badge, notifications, toast ----------
  var unseen = 0;
  function updateTitle() { document.title = unseen > 0 ? '(' + unseen + ') ' + BASE_TITLE : BASE_TITLE; }

  function canNotify() { return typeof window.Notification !== 'undefined'; }
  function updateNotifyBtn() { notifyBtn.hidden = !(canNotify() && Notification.permission === 'default'); }
  notifyBtn.addEventListener('click', function () {
    if (!canNotify()) return;
    var done = function () { updateNotifyBtn(); };
    try {
      var p = Notification.requestPermission(done);
      if (p && p.then) p.then(done, done);
    } catch (e) { done(); }
  });
  function desktopNotify(h) {
    if (!canNotify() || Notification.permission !== 'granted') return;
    try {
      var who = handoffName(h);
      var n = new Notification('New handoff: ' + reasonLabel(h.reason), {
        body: who + (h.last_text ? ' — ' + str(h.last_text).slice(0, 140) : ''),
        tag: 'kefu-handoff-' + str(h.id)
      });
      n.onclick = function () {
        try { window.focus(); } catch (e) { /* ignore */ }
        if (h.conversation_id != null) selectConversation(String(h.conversation_id));
        n.close();
      };
    } catch (e) { /* some browsers only allow notifications from a service worker */ }
  }

  var toastTimer = null;
  function toast(msg, kind) {
    toastEl.className = 'con-toast con-toast-' + (kind || 'info');
    toastEl.setAttribute('data-kind', kind || 'info');
    toastEl.textContent = msg;
    toastEl.hidden = false;
    if (toastTimer) clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { toastEl.hidden = true; }, kind === 'error' ? 8000 : 4000);
  }
  toastEl.addEventListener('click', function () { toastEl.hidden = true; });

  // ---------- labels ----------
  var REASONS = {
    customer_request: 'Asked for a person',
    negative_sentiment: 'Negative sentiment',
    negative_trend: 'Mood getting worse',
    repeated_fallback: 'Bot not understanding',
    vip: 'VIP customer'
  };
  function reasonKey(r) {
    var m = /^[a-z_]+/.exec(str(r).trim().toLowerCase());
    return m && Object.prototype.hasOwnProperty.call(REASONS, m[0]) ? m[0] : '';
  }
  function reasonLabel(r) {
    var k = reasonKey(r);
    if (k) return REASONS[k];
    var s = str(r).trim().replace(/_/g, ' ');
    return s ? s.charAt(0).toUpperCase() + s.slice(1) : 'Handoff';
  }
  function reasonChip(r) {
    var k = reasonKey(r) || 'other';
    return el('span', { class: 'reason-chip reason-' + k, 'data-testid': 'reason', 'data-reason': str(r), title: str(r) || null, text: reasonLabel(r) });
  }
  function tierBadge(tier) {
    var t = str(tier).trim();
    if (!t) return null;
    return el('span', { class: 'badge tier tier-' + cssToken(t), 'data-testid': 'tier', title: 'Customer tier', text: t });
  }
  function sentimentKey(s) {
    var l = s && s.label ? str(s.label).toLowerCase() : '';
    return /^(negative|neutral|positive)$/.test(l) ? l : (l ? 'other' : 'none');
  }
  function sentimentTag(s) {
    if (!s || !s.label) return null;
    var lbl = str(s.label).toLowerCase();
    var score = typeof s.score === 'number' ? ' ' + s.score.toFixed(2) : '';
    var k = sentimentKey(s);
    return el('span', { class: 'tag tag-sentiment sentiment-' + (k === 'none' ? 'other' : k), title: 'Sentiment' + score, text: lbl });
  }

  // ---------- queue ----------
  var queue = { queued: [], claimed: [] };
  var queueFilter = 'queued';
  var queueLoading = false;
  var knownHandoffs = null;    // ids already seen, so only new ones are announced (null before the first load)
  var newHandoffs = {};        // id -> true while highlighted
  var highlightTimer = null;

  if (K.store.getItem(QUEUE_COLLAPSED_KEY) === '1') setQueueCollapsed(true);
  queueToggle.addEventListener('click', function () {
    setQueueCollapsed(!queueSection.classList.contains('collapsed'));
  });
  function setQueueCollapsed(on) {
    queueSection.classList.toggle('collapsed', on);
    queueToggle.setAttribute('aria-expanded', on ? 'false' : 'true');
    if (on) K.store.setItem(QUEUE_COLLAPSED_KEY, '1'); else K.store.removeItem(QUEUE_COLLAPSED_KEY);
  }

  function stamp(h) { if (h && h._at == null) h._at = Date.now(); return h; }
  function waitingSeconds(h) {
    var w = typeof h.waiting_s === 'number' ? h.waiting_s : parseFloat(h.waiting_s);
    if (isFinite(w)) return w + (Date.now() - (h._at || Date.now())) / 1000;
    var d = toDate(h.created_at);
    return d ? (Date.now() - d.getTime()) / 1000 : 0;
  }
  function prio(h) { var p = typeof h.priority === 'number' ? h.priority : parseFloat(h.priority); return isFinite(p) ? p : 0; }
  function sortHandoffs(list) {
    return list.sort(function (a, b) { return prio(b) - prio(a) || waitingSeconds(b) - waitingSeconds(a); });
  }
  function handoffName(h) {
    if (h.customer && h.customer.name) return str(h.customer.name);
    return 'Unverified customer';
  }
  function listOf(data) { return data && Array.isArray(data.handoffs) ? data.handoffs : []; }

  function refreshQueue() {
    if (queueLoading || !K.token()) return;
    queueLoading = true;
    var wantClaimed = queueFilter === 'claimed';
    var reqs = [api('/api/handoffs?status=queued')];
    if (wantClaimed) reqs.push(api('/api/handoffs?status=claimed'));
    Promise.all(reqs).then(function (res) {
      var waiting = listOf(res[0]).filter(function (h) { return h && (!h.status || h.status === 'queued'); });
      waiting.forEach(stamp);
      announceNew(waiting);
      queue.queued = sortHandoffs(waiting);
      if (wantClaimed) {
        queue.claimed = listOf(res[1]).filter(function (h) { return h && (!h.status || h.status === 'claimed'); });
        queue.claimed.forEach(stamp);
      }
      queueMsg.hidden = true;
      renderQueue();
    }).catch(function (err) {
      if (err instanceof AuthError) return;
      queueMsg.hidden = false;
      queueMsg.className = 'con-list-msg error';
      queueMsg.textContent = err instanceof ApiError && err.status === 403
        ? 'Your role cannot see the queue.' : 'Could not load the queue. Retrying…';
    }).then(function () { queueLoading = false; });
  }

  function announceNew(list) {
    if (knownHandoffs === null) {
      knownHandoffs = {};
      list.forEach(function (h) { knownHandoffs[str(h.id)] = true; });
      return;
    }
    list.forEach(function (h) {
      var id = str(h.id);
      if (knownHandoffs[id]) return;
      knownHandoffs[id] = true;
      alertNew(h);
    });
  }
  function alertNew(h) {
    newHandoffs[str(h.id)] = true;
    if (document.visibilityState === 'hidden') {
      unseen++;
      updateTitle();
      desktopNotify(h);
    } else {
      scheduleHighlightClear();
      // On a phone the queue is off screen while a conversation is open.
      if (body.classList.contains('show-detail') && window.matchMedia && window.matchMedia('(max-width: 760px)').matches) {
        toast('New in the queue: ' + reasonLabel(h.reason) + ' — ' + handoffName(h), 'info');
      }
    }
  }
  function scheduleHighlightClear() {
    if (highlightTimer) clearTimeout(highlightTimer);
    highlightTimer = setTimeout(function () {
      highlightTimer = null;
      if (document.visibilityState === 'hidden') return;
      newHandoffs = {};
      forEachNode(queueListEl.querySelectorAll('.queue-item.is-new'), function (n) { n.classList.remove('is-new'); });
    }, HIGHLIGHT_MS);
  }

  function onHandoffCreated(h) {
    if (!h || h.id == null) return;
    stamp(h);
    if (h.status && h.status !== 'queued') { refreshQueue(); return; }
    queue.queued = queue.queued.filter(function (x) { return !sameId(x.id, h.id); });
    queue.queued.push(h);
    sortHandoffs(queue.queued);
    if (knownHandoffs === null) knownHandoffs = {};
    if (!knownHandoffs[str(h.id)]) { knownHandoffs[str(h.id)] = true; alertNew(h); }
    renderQueue();
    // The conversation list (and the open conversation) show the new state too.
    patchListed(h.conversation_id, { status: 'open', owner: 'agent' });
    if (sameId(h.conversation_id, selectedId)) loadDetail(selectedId, true);
  }

  function dropQueued(convId) {
    var before = queue.queued.length;
    queue.queued = queue.queued.filter(function (h) { return !sameId(h.conversation_id, convId); });
    return queue.queued.length !== before;
  }

  function renderQueue() {
    var waitingCount = queue.queued.length;
    $('queue-count').textContent = waitingCount ? String(waitingCount) : '';
    forEachNode(queueFilterEl.querySelectorAll('button'), function (b) {
      var f = b.getAttribute('data-filter');
      b.querySelector('.count').textContent = f === 'queued' ? (waitingCount ? String(waitingCount) : '')
        : (queue.claimed.length ? String(queue.claimed.length) : '');
    });
    var list = queueFilter === 'claimed' ? queue.claimed : queue.queued;
    var scroll = queueListEl.scrollTop;
    clear(queueListEl);
    if (!list.length) {
      queueListEl.appendChild(el('li', { class: 'conv-empty queue-empty',
        text: queueFilter === 'claimed' ? 'No claimed handoffs.' : 'Nobody is waiting. New handoffs appear here.' }));
      return;
    }
    list.forEach(function (h) { queueListEl.appendChild(renderQueueItem(h)); });
    queueListEl.scrollTop = scroll;
  }

  function renderQueueItem(h) {
    var name = handoffName(h);
    var cust = h.customer || null;
    var queued = !h.status || h.status === 'queued';
    var wait = waitingSeconds(h);
    var action;
    if (queued) {
      action = el('button', { type: 'button', class: 'btn btn-primary queue-claim', 'data-testid': 'claim',
        'data-conversation-id': str(h.conversation_id), text: 'Claim' });
    } else {
      var who = h.agent ? (isMe(h.agent) ? 'you' : str(h.agent.username)) : 'someone';
      action = el('span', { class: 'queue-claimed-by', text: 'Claimed by ' + who });
    }
    var lang = str(h.language);
    return el('li', {
      class: 'queue-item sent-' + sentimentKey(h.sentiment) + (newHandoffs[str(h.id)] ? ' is-new' : '') +
        (sameId(h.conversation_id, selectedId) ? ' active' : ''),
      'data-testid': 'queue-item',
      'data-id': str(h.id),
      'data-conversation-id': str(h.conversation_id),
      tabindex: '0',
      role: 'button',
      'aria-label': reasonLabel(h.reason) + ', ' + name
    }, [
      el('div', { class: 'queue-row' }, [
        reasonChip(h.reason),
        h.priority != null ? el('span', { class: 'queue-prio', title: 'Priority', text: 'P' + fmtNum(h.priority) }) : null,
        el('span', {
          class: 'queue-wait' + (wait >= 900 ? ' wait-long' : wait >= 300 ? ' wait-mid' : ''),
          'data-testid': 'waiting', 'data-hid': str(h.id),
          title: h.created_at ? 'Waiting since ' + fullTime(h.created_at) : 'Waiting time',
          text: fmtWait(wait)
        })
      ]),
      el('div', { class: 'queue-row queue-who' }, [
        el('span', { class: 'conv-name', 'data-testid': 'customer-name', text: name, title: name }),
        tierBadge(cust && cust.tier)
      ]),
      el('div', { class: 'conv-last queue-last', text: str(h.last_text) || '—', title: str(h.last_text) || null }),
      el('div', { class: 'queue-row queue-foot' }, [
        el('span', { class: 'badge channel', text: channelLabel(h.channel) }),
        lang ? el('span', { class: 'tag tag-lang', title: 'Language', text: lang }) : null,
        sentimentTag(h.sentiment),
        el('span', { class: 'queue-spacer' }),
        action
      ])
    ]);
  }

  function updateWaits() {
    var all = {};
    queue.queued.concat(queue.claimed).forEach(function (h) { all[str(h.id)] = h; });
    forEachNode(queueListEl.querySelectorAll('.queue-wait[data-hid]'), function (n) {
      var h = all[n.getAttribute('data-hid')];
      if (!h) return;
      var w = waitingSeconds(h);
      n.textContent = fmtWait(w);
      n.classList.toggle('wait-long', w >= 900);
      n.classList.toggle('wait-mid', w >= 300 && w < 900);
    });
  }

  queueListEl.addEventListener('click', function (e) {
    var btn = e.target.closest('.queue-claim');
    if (btn) { e.stopPropagation(); claim(btn.getAttribute('data-conversation-id'), btn); return; }
    var li = e.target.closest('.queue-item');
    if (li && li.getAttribute('data-conversation-id')) selectConversation(li.getAttribute('data-conversation-id'));
  });
  queueListEl.addEventListener('keydown', function (e) {
    if ((e.key === 'Enter' || e.key === ' ') && e.target.classList.contains('queue-item')) {
      e.preventDefault();
      selectConversation(e.target.getAttribute('data-conversation-id'));
    }
  });
  queueFilterEl.addEventListener('click', function (e) {
    var b = e.target.closest('button[data-filter]');
    if (!b) return;
    queueFilter = b.getAttribute('data-filter');
    forEachNode(queueFilterEl.querySelectorAll('button'), function (x) {
      var on = x === b;
      x.classList.toggle('active', on);
      x.setAttribute('aria-selected', on ? 'true' : 'false');
    });
    renderQueue();
    refreshQueue();
  });

  // ---------- claim / resolve / hand back ----------
  function detailFrom(res) {
    if (res && res.conversation && typeof res.conversation === 'object') return res.conversation;
    return res;
  }

  var claiming = false;
  function claim(convId, btn) {
    if (!convId || claiming) return;
    var label = btn ? btn.textContent : '';
    if (btn) { btn.disabled = true; btn.textContent = 'Claiming…'; }
    claiming = true;
    api(convPath(convId, '/claim'), { method: 'POST', body: {} }).then(function (res) {
      claiming = false;
      if (btn) { btn.disabled = false; btn.textContent = label; }
      dropQueued(convId);
      renderQueue();
      var conv = detailFrom(res);
      selectConversation(convId, conv && Array.isArray(conv.turns) ? conv : null);
      toast('Claimed — you can reply now.', 'ok');
      refreshList();
      refreshQueue();
      setTimeout(function () { if (!replyInput.disabled) replyInput.focus(); }, 0);
    }).catch(function (err) {
      claiming = false;
      if (btn) { btn.disabled = false; btn.textContent = label; }
      if (err instanceof AuthError) return;
      toast(errText(err, 'Could not claim this conversation.'), 'error');
      if (err instanceof ApiError && err.status === 409) {
        // Somebody else was faster: it is no longer waiting.
        dropQueued(convId);
        renderQueue();
        refreshQueue();
        if (sameId(convId, selectedId)) loadDetail(selectedId, true);
      }
    });
  }
  detailClaimBtn.addEventListener('click', function () { if (current) claim(current.id, detailClaimBtn); });

  var actionBusy = false;
  function conversationAction(kind, btn) {
    if (!current || actionBusy) return;
    var id = current.id;
    var label = btn.textContent;
    actionBusy = true;
    btn.textContent = kind === 'resolve' ? 'Resolving…' : 'Handing back…';
    renderControls();
    api(convPath(id, '/' + kind), { method: 'POST', body: {} }).then(function (res) {
      toast(kind === 'resolve' ? 'Conversation resolved.' : 'Handed back to the bot.', 'ok');
      dropQueued(id);
      renderQueue();
      var conv = detailFrom(res);
      if (sameId(id, selectedId)) {
        if (conv && Array.isArray(conv.turns)) renderDetail(conv, true);
        else loadDetail(id, true);
      }
      refreshList();
    }).catch(function (err) {
      if (err instanceof AuthError) return;
      toast(errText(err, kind === 'resolve' ? 'Could not resolve.' : 'Could not hand back.'), 'error');
      if (sameId(id, selectedId)) loadDetail(id, true);
    }).then(function () {
      actionBusy = false;
      btn.textContent = label;
      renderControls();
    });
  }
  resolveBtn.addEventListener('click', function () { conversationAction('resolve', resolveBtn); });
  handbackBtn.addEventListener('click', function () { conversationAction('handback', handbackBtn); });

  // ---------- conversation list ----------
  var conversations = [];
  var statusFilter = 'all';
  var selectedId = null;
  var lastListJson = null;
  var listLoading = false;

  function refreshList() {
    if (listLoading || !K.token()) return;
    listLoading = true;
    api('/api/conversations?limit=100').then(function (data) {
      var list = (data && Array.isArray(data.conversations)) ? data.conversations : [];
      sortConversations(list);
      conversations = list;
      listMsg.hidden = true;
      var json = JSON.stringify(list);
      if (json !== lastListJson) {
        lastListJson = json;
        renderList();
      } else {
        updateRelativeTimes();
      }
      // Refresh the open transcript when its conversation changed.
      if (selectedId) {
        var cur = list.filter(function (c) { return sameId(c.id, selectedId); })[0];
        if (cur && detailKey(cur) !== lastDetailKey) loadDetail(selectedId, true);
      }
    }).catch(function (err) {
      if (err instanceof AuthError) return;
      listMsg.hidden = false;
      listMsg.className = 'con-list-msg error';
      listMsg.textContent = 'Could not load conversations. Retrying…';
    }).then(function () { listLoading = false; });
  }
  function sortConversations(list) {
    list.sort(function (a, b) {
      var da = toDate(a.updated_at || a.created_at), db = toDate(b.updated_at || b.created_at);
      return (db ? db.getTime() : 0) - (da ? da.getTime() : 0);
    });
  }
  // Apply a live change to the listed conversation (if listed) and redraw the list.
  function patchListed(convId, changes) {
    var c = conversations.filter(function (x) { return sameId(x.id, convId); })[0];
    if (!c) return;
    var changed = false;
    for (var k in changes) {
      if (Object.prototype.hasOwnProperty.call(changes, k) && changes[k] !== undefined && c[k] !== changes[k]) {
        c[k] = changes[k]; changed = true;
      }
    }
    if (changed) { sortConversations(conversations); renderList(); }
  }

  function displayName(c) {
    if (c.customer && c.customer.name) return str(c.customer.name);
    return str(c.sender_id || (c.customer && c.customer.id) || c.id);
  }
  function initials(name) {
    var s = str(name).trim();
    if (!s) return '?';
    var parts = s.split(/\s+/);
    return (parts.length > 1 ? parts[0][0] + parts[1][0] : s.slice(0, 2)).toUpperCase();
  }
  function channelLabel(ch) {
    var map = { web: 'Web', webchat: 'Web', rest: 'API', api: 'API', telegram: 'Telegram', wechat: 'WeChat',
                whatsapp: 'WhatsApp', email: 'Email', slack: 'Slack', line: 'LINE', sms: 'SMS' };
    var k = str(ch).toLowerCase();
    return map[k] || str(ch) || '—';
  }
  function statusBadge(status) {
    var s = str(status) || 'unknown';
    return el('span', { class: 'badge status status-' + s.replace(/[^a-z_-]/gi, ''), text: s });
  }

  function renderList() {
    var counts = { all: conversations.length, pending: 0, open: 0, resolved: 0 };
    conversations.forEach(function (c) { if (counts[c.status] != null) counts[c.status]++; });
    forEachNode(filterEl.querySelectorAll('button'), function (b) {
      var n = counts[b.getAttribute('data-status')];
      b.querySelector('.count').textContent = n ? String(n) : '';
    });

    var shown = conversations.filter(function (c) { return statusFilter === 'all' || c.status === statusFilter; });
    var scroll = listEl.scrollTop;
    clear(listEl);
    if (!shown.length) {
      listEl.appendChild(el('li', { class: 'conv-empty', text: conversations.length ? 'No ' + statusFilter + ' conversations.' : 'No conversations yet.' }));
      return;
    }
    shown.forEach(function (c) {
      var name = displayName(c);
      var active = sameId(c.id, selectedId);
      var li = el('li', {
        class: 'conv-item' + (active ? ' active' : ''),
        'data-testid': 'conv-item',
        'data-id': str(c.id),
        tabindex: '0',
        role: 'button',
        'aria-current': active ? 'true' : null
      }, [
        el('div', { class: 'avatar', 'aria-hidden': 'true', text: initials(name) }),
        el('div', { class: 'conv-main' }, [
          el('div', { class: 'conv-row' }, [
            el('span', { class: 'conv-name', text: name, title: name }),
            el('time', { class: 'conv-time', 'data-ts': str(c.updated_at || c.created_at), title: fullTime(c.updated_at || c.created_at), text: relTime(c.updated_at || c.created_at) })
          ]),
          el('div', { class: 'conv-last', text: str(c.last_text) || '—' }),
          el('div', { class: 'conv-row conv-tags' }, [
            el('span', { class: 'badge channel', text: channelLabel(c.channel) }),
            statusBadge(c.status),
            c.owner ? el('span', { class: 'conv-owner', text: '@' + str(c.owner) }) : null,
            c.turn_count != null ? el('span', { class: 'conv-turns', title: 'Turns', text: str(c.turn_count) + ' turns' }) : null
          ])
        ])
      ]);
      listEl.appendChild(li);
    });
    listEl.scrollTop = scroll;
  }

  function updateRelativeTimes() {
    forEachNode(listEl.querySelectorAll('time[data-ts]'), function (t) {
      t.textContent = relTime(t.getAttribute('data-ts'));
    });
  }

  function markSelected() {
    forEachNode(listEl.querySelectorAll('.conv-item'), function (n) {
      var on = sameId(n.getAttribute('data-id'), selectedId);
      n.classList.toggle('active', on);
      if (on) n.setAttribute('aria-current', 'true'); else n.removeAttribute('aria-current');
    });
    forEachNode(queueListEl.querySelectorAll('.queue-item'), function (n) {
      n.classList.toggle('active', sameId(n.getAttribute('data-conversation-id'), selectedId));
    });
  }

  // Open a conversation; `preloaded` is a detail the server already returned (e.g. from claim).
  function selectConversation(id, preloaded) {
    if (id == null) return;
    id = String(id);
    if (selectedId && current && sameId(current.id, selectedId)) drafts[selectedId] = replyInput.value;
    var switching = !sameId(id, selectedId);
    selectedId = id;
    markSelected();
    body.classList.add('show-detail');
    if (switching) {
      replyInput.value = drafts[id] || '';
      autosize();
      replyError.hidden = true;
    }
    if (preloaded) {
      detailSeq++; // any older load is stale now
      detailEmpty.hidden = true;
      detailEl.hidden = false;
      var listed = conversations.filter(function (c) { return sameId(c.id, id); })[0];
      lastDetailKey = listed ? detailKey(listed) : null;
      renderDetail(preloaded, !switching);
    } else {
      loadDetail(id, !switching && !!current);
    }
  }

  function openItem(li) {
    if (!li || !li.getAttribute('data-id')) return;
    selectConversation(li.getAttribute('data-id'));
  }
  listEl.addEventListener('click', function (e) { openItem(e.target.closest('.conv-item')); });
  listEl.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' || e.key === ' ') {
      var li = e.target.closest('.conv-item');
      if (li) { e.preventDefault(); openItem(li); }
    }
  });

  filterEl.addEventListener('click', function (e) {
    var b = e.target.closest('button[data-status]');
    if (!b) return;
    statusFilter = b.getAttribute('data-status');
    forEachNode(filterEl.querySelectorAll('button'), function (x) {
      var on = x === b;
      x.classList.toggle('active', on);
      x.setAttribute('aria-selected', on ? 'true' : 'false');
    });
    renderList();
  });

  $('back-btn').addEventListener('click', function () { body.classList.remove('show-detail'); });

  // ---------- conversation detail ----------
  var current = null;          // the conversation detail on screen
  var lastDetailKey = null;
  var detailSeq = 0;
  var drafts = {};             // conversation id -> unsent reply text
  var deliveries = {};         // turn id -> delivered | queued | failed (from our own sends)
  function detailKey(c) { return str(c.id) + '|' + str(c.updated_at) + '|' + str(c.status) + '|' + str(c.turn_count) + '|' + str(c.owner); }

  function loadDetail(id, background) {
    var seq = ++detailSeq;
    if (!background) {
      current = null;
      detailEmpty.hidden = true;
      detailEl.hidden = false;
      clear(transcriptEl);
      transcriptEl.appendChild(el('div', { class: 'con-loading', text: 'Loading…' }));
      renderControls();
    }
    api(convPath(id)).then(function (conv) {
      if (seq !== detailSeq || !sameId(id, selectedId)) return; // a newer click won
      var listed = conversations.filter(function (c) { return sameId(c.id, id); })[0];
      lastDetailKey = listed ? detailKey(listed) : null;
      renderDetail(conv, background);
    }).catch(function (err) {
      if (err instanceof AuthError || seq !== detailSeq || background) return;
      clear(transcriptEl);
      transcriptEl.appendChild(el('div', { class: 'con-loading error',
        text: err instanceof ApiError && err.status === 404 ? 'This conversation no longer exists.' : 'Could not load this conversation.' }));
    });
  }

  function renderDetail(c, background) {
    if (!c) return;
    // Turns that arrived live after this detail was read are kept.
    if (current && sameId(current.id, c.id) && Array.isArray(current.turns)) {
      var have = {};
      c.turns = Array.isArray(c.turns) ? c.turns : [];
      c.turns.forEach(function (t) { have[str(t.id)] = true; });
      current.turns.forEach(function (t) { if (t._live && !have[str(t.id)]) c.turns.push(t); });
    }
    current = c;
    renderHeader();
    renderControls();
    loadCrm(c, false);

    // Keep the reader's position on background refresh unless they were at the bottom.
    var atBottom = isAtBottom();
    var prevScroll = transcriptEl.scrollTop;

    var items = [];
    (Array.isArray(c.turns) ? c.turns : []).forEach(function (t, i) { items.push({ kind: 'turn', at: toDate(t.created_at), i: i, v: t }); });
    (Array.isArray(c.handoffs) ? c.handoffs : []).forEach(function (h, i) { items.push({ kind: 'handoff', at: toDate(h.created_at), i: 100000 + i, v: h }); });
    items.sort(function (a, b) {
      var ta = a.at ? a.at.getTime() : 0, tb = b.at ? b.at.getTime() : 0;
      return ta - tb || a.i - b.i;
    });

    clear(transcriptEl);
    if (!items.length) transcriptEl.appendChild(el('div', { class: 'con-loading', text: 'No messages yet.' }));
    items.forEach(function (it) {
      transcriptEl.appendChild(it.kind === 'turn' ? renderTurn(it.v) : renderHandoff(it.v));
    });

    if (!background || atBottom) transcriptEl.scrollTop = transcriptEl.scrollHeight;
    else transcriptEl.scrollTop = prevScroll;
  }

  function isAtBottom() { return transcriptEl.scrollHeight - transcriptEl.scrollTop - transcriptEl.clientHeight < 60; }

  function renderHeader() {
    var c = current;
    if (!c) return;
    var name = displayName(c);
    $('detail-name').textContent = name;
    var meta = $('detail-meta');
    clear(meta);
    [
      ['Channel', channelLabel(c.channel)],
      ['Sender', c.sender_id],
      ['Language', c.language],
      ['Started', fullTime(c.created_at)]
    ].forEach(function (p) {
      if (p[1] == null || p[1] === '') return;
      meta.appendChild(el('span', { class: 'meta-item' }, [el('span', { class: 'meta-k', text: p[0] }), ' ', el('span', { text: str(p[1]) })]));
    });
    var st = $('detail-status');
    var badge = statusBadge(c.status);
    st.className = badge.className;
    st.textContent = badge.textContent;
    st.title = 'Status';

    var ow = $('detail-owner');
    var owner = str(c.owner);
    ow.hidden = !owner;
    ow.className = 'badge owner owner-' + cssToken(owner);
    ow.textContent = 'Owner: ' + owner;
    ow.title = 'Who is answering: ' + owner;

    var as = $('detail-assignee');
    var a = c.assignee;
    as.className = 'badge assignee' + (a ? (isMe(a) ? ' assignee-me' : ' assignee-other') : ' assignee-none');
    as.textContent = a ? 'Assigned to ' + (isMe(a) ? 'you' : str(a.username)) : 'Unassigned';
    as.title = a ? 'Assignee: ' + str(a.username) : 'No agent has claimed this conversation';
  }

  function isQueued(c) {
    if (!c || c.status === 'resolved' || c.owner === 'bot' || c.assignee) return false;
    var hs = Array.isArray(c.handoffs) ? c.handoffs : null;
    if (hs && hs.length) return hs.some(function (h) { return h.status === 'queued'; });
    return c.owner === 'agent';
  }

  // Composer and buttons follow the conversation's state.
  function renderControls() {
    var c = current;
    if (!c) {
      replyInput.disabled = true; replySend.disabled = true;
      resolveBtn.disabled = true; handbackBtn.disabled = true;
      replyWhy.hidden = true; detailClaimBtn.hidden = true;
      return;
    }
    var mine = isMe(c.assignee);
    var otherHasIt = !!c.assignee && !mine;
    var resolved = c.status === 'resolved';
    var queued = isQueued(c);
    var canReply = c.status === 'open' && c.owner !== 'bot' && mine;
    var why = '';
    if (!canReply) {
      if (resolved) why = 'This conversation is resolved.';
      else if (c.owner === 'bot') why = 'The bot is handling this conversation.';
      else if (queued) why = 'Waiting in the queue — claim it to reply.';
      else if (otherHasIt) why = 'Assigned to ' + str(c.assignee.username) + ' — only they can reply.';
      else if (c.status === 'snoozed') why = 'This conversation is snoozed.';
      else if (!c.assignee) why = 'Nobody has claimed this conversation.';
      else why = 'This conversation is ' + str(c.status) + '.';
    }
    replyWhy.hidden = canReply;
    replyWhyText.textContent = why;
    replyWhy.className = 'reply-why' + (queued ? ' reply-why-queued' : '');
    detailClaimBtn.hidden = !queued;
    replyInput.disabled = !canReply;
    replyInput.placeholder = canReply ? 'Reply to the customer…' : 'You cannot reply here';
    replySend.disabled = !canReply || sending;
    replyHint.hidden = !canReply;

    var mayAct = !otherHasIt || isAdmin();
    resolveBtn.disabled = actionBusy || resolved || !mayAct;
    handbackBtn.disabled = actionBusy || resolved || c.owner !== 'agent' || !mayAct;
    resolveBtn.title = resolved ? 'Already resolved' : !mayAct ? 'Assigned to someone else' : 'Close this conversation';
    handbackBtn.title = c.owner !== 'agent' ? 'The bot already handles it' : !mayAct ? 'Assigned to someone else' : 'Let the bot answer again';
  }

  var ROLE_LABEL = { customer: 'Customer', bot: 'Bot', agent: 'Agent', system: 'System' };

  function renderHandoff(h) {
    var parts = ['Handoff to a person'];
    if (h.reason) parts.push(reasonLabel(h.reason));
    if (h.status) parts.push(str(h.status));
    return el('div', { class: 'sys-line sys-handoff', 'data-testid': 'handoff' }, [
      el('span', { text: parts.join(' · ') + (h.created_at ? ' — ' + shortTime(h.created_at) : ''), title: (h.reason ? 'reason: ' + str(h.reason) + ' · ' : '') + fullTime(h.created_at) })
    ]);
  }

  var DELIVERY_TEXT = {
    delivered: 'Delivered',
    queued: 'Queued — will be delivered when the channel is reachable',
    failed: 'Not delivered — the customer did not get this message'
  };
  function deliveryLine(state) {
    var s = str(state);
    return el('div', { class: 'turn-delivery delivery-' + cssToken(s), 'data-testid': 'delivery', 'data-state': s,
      role: s === 'failed' ? 'alert' : null, text: (s === 'failed' ? '⚠ ' : '') + (DELIVERY_TEXT[s] || s) });
  }
  function turnDelivery(t) {
    var d = deliveries[str(t.id)] || t.delivery;
    if (!d && t.role === 'agent' && t.state === 'failed') d = 'failed';
    return d ? str(d) : '';
  }

  function renderTurn(t) {
    var role = ROLE_LABEL[t.role] ? t.role : 'system';
    if (role === 'system') {
      return el('div', { class: 'sys-line', 'data-testid': 'turn', 'data-role': 'system', 'data-turn-id': str(t.id) }, [
        el('span', { text: str(t.text) + (t.created_at ? ' — ' + shortTime(t.created_at) : '') })
      ]);
    }
    var label = ROLE_LABEL[role];
    var author = role === 'agent' ? (t.agent && t.agent.username) || t.author || t.username : null;
    if (author) label += ' · ' + str(author);
    var delivery = role === 'agent' ? turnDelivery(t) : '';
    var wrap = el('div', { class: 'turn turn-' + role + (delivery === 'failed' ? ' is-failed' : ''), 'data-testid': 'turn', 'data-role': role, 'data-turn-id': str(t.id) }, [
      el('div', { class: 'turn-head' }, [
        el('span', { class: 'turn-role', text: label }),
        el('time', { class: 'turn-time', title: fullTime(t.created_at), text: shortTime(t.created_at) })
      ]),
      el('div', { class: 'bubble', text: str(t.text) })
    ]);

    if (role === 'customer') {
      var chips = el('div', { class: 'turn-chips' });
      if (t.intent) {
        var conf = typeof t.confidence === 'number' ? t.confidence : parseFloat(t.confidence);
        chips.appendChild(el('span', { class: 'tag tag-intent', title: 'Intent and confidence',
          text: str(t.intent) + (isFinite(conf) ? ' ' + conf.toFixed(2) : '') }));
      }
      if (t.language) chips.appendChild(el('span', { class: 'tag tag-lang', title: 'Language', text: str(t.language) }));
      var sent = sentimentTag(t.sentiment);
      if (sent) chips.appendChild(sent);
      if (chips.childNodes.length) wrap.appendChild(chips);
    }

    var sources = Array.isArray(t.sources) ? t.sources : [];
    var links = sources.map(function (s) {
      if (!s) return null;
      var title = str(s.title || s.url);
      if (!title) return null;
      var href = safeUrl(s.url);
      return href ? el('a', { href: href, target: '_blank', rel: 'noopener noreferrer', text: title }) : el('span', { text: title });
    }).filter(Boolean);
    if (links.length) {
      var src = el('div', { class: 'msg-sources' }, [el('span', { class: 'msg-sources-label', text: 'Sources' })]);
      links.forEach(function (a) { src.appendChild(a); });
      wrap.appendChild(src);
    }
    if (delivery) wrap.appendChild(deliveryLine(delivery));
    return wrap;
  }

  function findTurnNode(id) {
    var kids = transcriptEl.children;
    for (var i = kids.length - 1; i >= 0; i--) if (sameId(kids[i].getAttribute('data-turn-id'), id)) return kids[i];
    return null;
  }

  // A turn that arrived live (websocket or our own send): append it once.
  function addLiveTurn(turn, forceScroll) {
    if (!current || !turn) return;
    var turns = Array.isArray(current.turns) ? current.turns : (current.turns = []);
    if (turn.id != null) {
      for (var i = 0; i < turns.length; i++) {
        if (sameId(turns[i].id, turn.id)) {
          // Already shown: only the delivery state may be new.
          var old = findTurnNode(turn.id);
          if (old) old.parentNode.replaceChild(renderTurn(turns[i]), old);
          return;
        }
      }
    }
    turn._live = true;
    turns.push(turn);
    var atBottom = isAtBottom();
    forEachNode(transcriptEl.querySelectorAll('.con-loading'), function (n) { n.parentNode.removeChild(n); });
    transcriptEl.appendChild(renderTurn(turn));
    if (atBottom || forceScroll) transcriptEl.scrollTop = transcriptEl.scrollHeight;
  }

  function onTurnCreated(convId, turn) {
    if (convId == null || !turn) return;
    var listed = conversations.filter(function (c) { return sameId(c.id, convId); })[0];
    if (listed) {
      listed.last_text = str(turn.text);
      if (turn.created_at) listed.updated_at = turn.created_at;
      if (typeof listed.turn_count === 'number') listed.turn_count++;
      sortConversations(conversations);
      renderList();
    }
    if (turn.role === 'customer') {
      var touched = false;
      queue.queued.concat(queue.claimed).forEach(function (h) {
        if (!sameId(h.conversation_id, convId)) return;
        h.last_text = str(turn.text);
        if (turn.sentiment) h.sentiment = turn.sentiment;
        touched = true;
      });
      if (touched) renderQueue();
    }
    if (sameId(convId, selectedId)) {
      addLiveTurn(turn, false);
      if (listed) lastDetailKey = detailKey(listed); // already up to date, no reload needed
    }
  }

  function onConversationUpdated(f) {
    var convId = f.conversation_id;
    if (convId == null) return;
    var has = function (k) { return Object.prototype.hasOwnProperty.call(f, k); };
    var changes = {};
    if (has('status')) changes.status = f.status;
    if (has('owner')) changes.owner = f.owner;
    patchListed(convId, changes);
    var a = has('assignee') ? f.assignee : undefined;
    if (a || f.owner === 'bot' || f.status === 'resolved') {
      if (dropQueued(convId)) renderQueue();
    }
    if (queueFilter === 'claimed') refreshQueue();
    if (current && sameId(convId, current.id)) {
      if (has('status')) current.status = f.status;
      if (has('owner')) current.owner = f.owner;
      if (has('assignee')) current.assignee = f.assignee;
      if (current.assignee || current.owner === 'bot' || current.status === 'resolved') {
        (current.handoffs || []).forEach(function (h) { if (h.status === 'queued') h.status = current.assignee ? 'claimed' : 'closed'; });
      }
      renderHeader();
      renderControls();
      loadDetail(current.id, true); // handoff lines and any system turns
    }
  }

  // ---------- reply composer ----------
  var sending = false;
  function autosize() {
    replyInput.style.height = 'auto';
    replyInput.style.height = Math.min(replyInput.scrollHeight + 2, 180) + 'px';
  }
  replyInput.addEventListener('input', function () {
    autosize();
    if (current) drafts[str(current.id)] = replyInput.value;
  });
  replyInput.addEventListener('keydown', function (e) {
    // Enter sends; Shift+Enter is a new line; never send while an IME is composing (Chinese input).
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      sendReply();
    }
  });
  replyForm.addEventListener('submit', function (e) { e.preventDefault(); sendReply(); });

  function sendReply() {
    if (!current || sending || replyInput.disabled) return;
    var text = replyInput.value.replace(/^\s+|\s+$/g, '');
    if (!text) return;
    var convId = str(current.id);
    sending = true;
    replySend.disabled = true;
    replySend.textContent = 'Sending…';
    replyError.hidden = true;
    api(convPath(convId, '/messages'), { method: 'POST', body: { text: text } }).then(function (res) {
      drafts[convId] = '';
      if (sameId(convId, selectedId)) { replyInput.value = ''; autosize(); }
      var turn = res && res.turn;
      var delivery = res && res.delivery ? str(res.delivery) : '';
      if (turn) {
        if (turn.id != null && delivery) deliveries[str(turn.id)] = delivery;
        if (!turn.role) turn.role = 'agent';
        if (sameId(convId, selectedId)) addLiveTurn(turn, true);
      } else if (sameId(convId, selectedId)) {
        loadDetail(convId, true);
      }
      if (delivery === 'failed') toast('Your reply was saved but could not be delivered to the customer.', 'error');
      else if (delivery === 'queued') toast('Reply queued: it will be delivered when the customer\'s channel is reachable.', 'info');
    }).catch(function (err) {
      if (err instanceof AuthError) return;
      if (sameId(convId, selectedId)) {
        replyError.hidden = false;
        replyError.textContent = errText(err, 'Your reply was not sent.');
        loadDetail(convId, true); // maybe the conversation changed hands meanwhile
      }
    }).then(function () {
      sending = false;
      replySend.textContent = 'Send';
      renderControls();
      if (!replyInput.disabled && sameId(convId, selectedId)) replyInput.focus();
    });
  }

  // ---------- CRM card ----------
  var crmKey = null, crmSeq = 0;
  var narrowMq = window.matchMedia ? window.matchMedia('(max-width: 1100px)') : null;
  function crmCollapsible() { return !!(narrowMq && narrowMq.matches); }
  function syncCrmToggle() {
    var open = !crmCollapsible() || !crmCard.classList.contains('collapsed');
    crmToggle.setAttribute('aria-expanded', open ? 'true' : 'false');
    crmToggle.tabIndex = crmCollapsible() ? 0 : -1;
  }
  crmToggle.addEventListener('click', function () {
    if (!crmCollapsible()) return;
    crmCard.classList.toggle('collapsed');
    syncCrmToggle();
  });
  if (narrowMq) {
    if (narrowMq.addEventListener) narrowMq.addEventListener('change', syncCrmToggle);
    else if (narrowMq.addListener) narrowMq.addListener(syncCrmToggle);
  }
  syncCrmToggle();

  function loadCrm(c, force) {
    var cust = c && c.customer;
    var key = str(c && c.id) + '|' + str(cust && cust.id);
    if (!force && key === crmKey) return;
    crmKey = key;
    var seq = ++crmSeq;
    crmSummary.textContent = cust && cust.name ? str(cust.name) : '';
    if (!cust || cust.id == null) { renderCrmUnverified(); return; }
    clear(crmBody);
    crmBody.appendChild(el('div', { class: 'crm-msg', text: 'Loading customer…' }));
    api('/api/customers/' + encodeURIComponent(cust.id) + '/card').then(function (card) {
      if (seq !== crmSeq) return;
      renderCrm(card || {});
    }).catch(function (err) {
      if (err instanceof AuthError || seq !== crmSeq) return;
      if (err instanceof ApiError && err.status === 404) { renderCrmUnverified(); return; }
      crmKey = null; // try again on the next refresh
      clear(crmBody);
      var retry = el('button', { type: 'button', class: 'btn btn-ghost con-act', text: 'Retry' });
      retry.addEventListener('click', function () { if (current) loadCrm(current, true); });
      crmBody.appendChild(el('div', { class: 'crm-msg error' }, [
        el('div', { text: errText(err, 'Could not load the customer card.') }), retry
      ]));
    });
  }

  function renderCrmUnverified() {
    clear(crmBody);
    crmSummary.textContent = 'not verified';
    crmBody.appendChild(el('div', { class: 'crm-msg crm-unverified', 'data-testid': 'crm-unverified' }, [
      el('strong', { text: 'Customer not verified yet' }),
      el('div', { text: 'Orders and tickets appear once the customer proves who they are (e.g. order number + phone or email).' })
    ]));
  }

  function money(total, currency, cents) {
    var n;
    if (total != null && total !== '') n = typeof total === 'number' ? total : parseFloat(total);
    else if (cents != null && cents !== '') n = (typeof cents === 'number' ? cents : parseFloat(cents)) / 100;
    if (n == null || !isFinite(n)) return total == null ? '' : str(total);
    var cur = str(currency).toUpperCase();
    if (/^[A-Z]{3}$/.test(cur)) {
      try { return new Intl.NumberFormat(undefined, { style: 'currency', currency: cur }).format(n); } catch (e) { /* unknown code */ }
    }
    return n.toFixed(2) + (cur ? ' ' + cur : '');
  }
  function humanStatus(s) { return str(s).replace(/_/g, ' '); }
  function dlRow(dl, k, v) {
    if (v == null || v === '') return;
    dl.appendChild(el('dt', { text: k }));
    dl.appendChild(el('dd', { text: str(v) }));
  }

  function renderCrm(card) {
    clear(crmBody);
    var cu = card.customer || {};
    crmSummary.textContent = str(cu.name) + (cu.tier ? ' · ' + str(cu.tier) : '');

    var head = el('div', { class: 'crm-section crm-customer' }, [
      el('div', { class: 'crm-name-row' }, [
        el('h3', { class: 'crm-name', 'data-testid': 'crm-name', text: str(cu.name) || 'Customer' }),
        tierBadge(cu.tier)
      ])
    ]);
    var dl = el('dl', { class: 'crm-dl' });
    dlRow(dl, 'Email', cu.email);
    dlRow(dl, 'Phone', cu.phone);
    dlRow(dl, 'Language', cu.language);
    dlRow(dl, 'City', cu.city);
    dlRow(dl, 'Customer ID', cu.id);
    // RFM segment and churn risk, when the segmentation has been computed
    var pr = card.profile;
    if (pr && typeof pr === 'object') {
      dlRow(dl, 'Segment', pr.segment);
      var risk = typeof pr.churn_risk === 'number' && isFinite(pr.churn_risk) ? pr.churn_risk : null;
      if (risk != null) {
        dl.appendChild(el('dt', { text: 'Churn risk' }));
        dl.appendChild(el('dd', { class: risk > 0.5 ? 'risk-high' : null, 'data-testid': 'crm-churn',
                                  title: 'Estimated chance of no order in the next 90 days',
                                  text: Math.round(risk * 100) + '%' }));
      }
    }
    head.appendChild(dl);
    crmBody.appendChild(head);

    var orders = Array.isArray(card.orders) ? card.orders : [];
    var os = el('div', { class: 'crm-section' }, [el('h4', { text: 'Recent orders' + (orders.length ? ' (' + orders.length + ')' : '') })]);
    if (!orders.length) os.appendChild(el('div', { class: 'crm-none', text: 'No orders.' }));
    orders.forEach(function (o) {
      var items = Array.isArray(o.items) ? o.items : [];
      var box = el('div', { class: 'crm-order', 'data-testid': 'crm-order', 'data-order-id': str(o.id) }, [
        el('div', { class: 'crm-order-row' }, [
          el('span', { class: 'crm-order-id', text: '#' + str(o.id) }),
          el('span', { class: 'badge crm-status crm-status-' + cssToken(o.status), text: humanStatus(o.status) }),
          el('span', { class: 'crm-order-total', text: money(o.total, o.currency, o.total_cents) })
        ]),
        el('div', { class: 'crm-order-date', title: fullTime(o.created_at), text: o.created_at ? 'Ordered ' + dateOnly(o.created_at) : '' })
      ]);
      if (items.length) {
        var ul = el('ul', { class: 'crm-items' });
        items.forEach(function (it) {
          if (!it) return;
          var q = it.quantity != null ? str(it.quantity) + ' × ' : '';
          ul.appendChild(el('li', { text: q + str(it.name) }));
        });
        box.appendChild(ul);
      }
      var sh = o.shipment;
      if (sh) {
        var ship = el('div', { class: 'crm-ship' }, [el('span', { class: 'crm-ship-label', text: 'Shipment' })]);
        var bits = [];
        if (sh.carrier) bits.push(el('span', { text: str(sh.carrier) }));
        if (sh.tracking_number) bits.push(el('span', { class: 'crm-mono', title: 'Tracking number', text: str(sh.tracking_number) }));
        if (sh.status) bits.push(el('span', { class: 'badge crm-status crm-status-' + cssToken(sh.status), text: humanStatus(sh.status) }));
        if (sh.eta) bits.push(el('span', { title: fullTime(sh.eta), text: 'ETA ' + dateOnly(sh.eta) }));
        bits.forEach(function (b) { ship.appendChild(b); });
        box.appendChild(ship);
      } else {
        box.appendChild(el('div', { class: 'crm-ship crm-none', text: 'Not shipped yet' }));
      }
      os.appendChild(box);
    });
    crmBody.appendChild(os);

    var tickets = Array.isArray(card.tickets) ? card.tickets : [];
    var open = tickets.filter(function (t) { return t && !/^(closed|resolved|solved|done|cancel+ed)$/i.test(str(t.status)); });
    var ts = el('div', { class: 'crm-section' }, [el('h4', { text: 'Open tickets' + (open.length ? ' (' + open.length + ')' : '') })]);
    if (!open.length) ts.appendChild(el('div', { class: 'crm-none', text: 'No open tickets.' }));
    open.forEach(function (t) {
      ts.appendChild(el('div', { class: 'crm-ticket', 'data-testid': 'crm-ticket' }, [
        el('div', { class: 'crm-ticket-subject', text: str(t.subject) || '(no subject)' }),
        el('div', { class: 'crm-order-row crm-ticket-meta' }, [
          el('span', { class: 'crm-mono', text: '#' + str(t.id) }),
          el('span', { class: 'badge crm-status crm-status-' + cssToken(t.status), text: humanStatus(t.status) }),
          el('span', { title: fullTime(t.created_at), text: dateOnly(t.created_at) })
        ])
      ]));
    });
    crmBody.appendChild(ts);

    // Suggestions from the recommender, with the reason, for the agent to offer
    var sugg = Array.isArray(card.suggestions) ? card.suggestions : [];
    var reasons = { bought_together: 'bought together with their past items',
                    similar_to: 'similar to what they bought', popular: 'popular',
                    popular_in_category: 'popular in the category' };
    var ss = el('div', { class: 'crm-section' }, [el('h4', { text: 'Suggestions' })]);
    if (!sugg.length) ss.appendChild(el('div', { class: 'crm-none', text: 'No suggestions yet.' }));
    sugg.forEach(function (p) {
      ss.appendChild(el('div', { class: 'crm-ticket', 'data-testid': 'crm-suggestion' }, [
        el('div', { class: 'crm-ticket-subject', text: str(p.name) + ' — ¥' + str(p.price) }),
        el('div', { class: 'crm-order-row crm-ticket-meta' }, [
          el('span', { text: reasons[p.reason] || str(p.reason) })
        ])
      ]));
    });
    crmBody.appendChild(ss);
  }

  // ---------- boot ----------
  updateTitle();
  auth = K.mountLogin({ app: app, onSignedIn: onSignedIn, onSignedOut: onSignedOut });
})();
