/* Kefu agent/admin console. Vanilla JS; all server data is rendered with textContent. */
(function () {
  'use strict';

  var TOKEN_KEY = 'kefu_token';
  var USER_KEY = 'kefu_user';
  var POLL_MS = 5000;

  var ss = (function () {
    try { sessionStorage.setItem('__kefu_test__', '1'); sessionStorage.removeItem('__kefu_test__'); return sessionStorage; }
    catch (e) {
      var mem = {};
      return {
        getItem: function (k) { return Object.prototype.hasOwnProperty.call(mem, k) ? mem[k] : null; },
        setItem: function (k, v) { mem[k] = String(v); },
        removeItem: function (k) { delete mem[k]; }
      };
    }
  })();

  function $(id) { return document.getElementById(id); }
  var loginView = $('login-view'), loginForm = $('login-form'), loginError = $('login-error');
  var loginUser = $('login-username'), loginPass = $('login-password'), loginSubmit = $('login-submit');
  var app = $('console-app'), body = $('con-body');
  var listEl = $('conv-list'), listMsg = $('list-msg'), filterEl = $('status-filter');
  var detailEl = $('detail'), detailEmpty = $('detail-empty'), transcriptEl = $('transcript');

  function el(tag, attrs, children) {
    var n = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (!Object.prototype.hasOwnProperty.call(attrs, k) || attrs[k] == null) continue;
      if (k === 'class') n.className = attrs[k];
      else if (k === 'text') n.textContent = attrs[k];
      else n.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) {
      if (c == null) return;
      n.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return n;
  }
  function clear(n) { while (n.firstChild) n.removeChild(n.firstChild); }
  function str(v) { return v == null ? '' : String(v); }

  function safeUrl(raw) {
    try {
      var u = new URL(String(raw), location.href);
      return /^https?:$/.test(u.protocol) ? u.href : null;
    } catch (e) { return null; }
  }

  // Timestamps may arrive as ISO strings or epoch seconds/milliseconds.
  function toDate(v) {
    if (v == null || v === '') return null;
    var d;
    if (typeof v === 'number') d = new Date(v < 1e12 ? v * 1000 : v);
    else if (/^\d+(\.\d+)?$/.test(String(v))) { var n = parseFloat(v); d = new Date(n < 1e12 ? n * 1000 : n); }
    else d = new Date(v);
    return isNaN(d.getTime()) ? null : d;
  }
  function relTime(v) {
    var d = toDate(v);
    if (!d) return '';
    var s = Math.round((Date.now() - d.getTime()) / 1000);
    if (s < 45) return 'just now';
    if (s < 3600) return Math.max(1, Math.round(s / 60)) + 'm ago';
    if (s < 86400) return Math.round(s / 3600) + 'h ago';
    if (s < 7 * 86400) return Math.round(s / 86400) + 'd ago';
    return d.toLocaleDateString();
  }
  function fullTime(v) {
    var d = toDate(v);
    return d ? d.toLocaleString() : '';
  }
  function shortTime(v) {
    var d = toDate(v);
    if (!d) return '';
    var sameDay = d.toDateString() === new Date().toDateString();
    return sameDay ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
                   : d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  }

  // ---------- auth & API ----------
  var token = ss.getItem(TOKEN_KEY);
  var user = null;
  try { user = JSON.parse(ss.getItem(USER_KEY) || 'null'); } catch (e) { user = null; }

  function AuthError() { this.name = 'AuthError'; }

  function api(path, opts) {
    opts = opts || {};
    var headers = { 'Accept': 'application/json' };
    if (token) headers['Authorization'] = 'Bearer ' + token;
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    return fetch(path, {
      method: opts.method || 'GET',
      headers: headers,
      body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
      cache: 'no-store'
    }).then(function (res) {
      if (res.status === 401) {
        logout('Your session has expired. Please sign in again.');
        throw new AuthError();
      }
      if (!res.ok) throw new Error('HTTP ' + res.status);
      return res.json();
    });
  }

  function showLogin(message) {
    stopPolling();
    app.hidden = true;
    loginView.hidden = false;
    loginError.hidden = !message;
    loginError.textContent = message || '';
    loginPass.value = '';
    (loginUser.value ? loginPass : loginUser).focus();
  }

  function logout(message) {
    token = null; user = null;
    ss.removeItem(TOKEN_KEY); ss.removeItem(USER_KEY);
    selectedId = null; lastListJson = null; lastDetailKey = null; conversations = [];
    clear(listEl); clear(transcriptEl);
    detailEl.hidden = true; detailEmpty.hidden = false;
    body.classList.remove('show-detail');
    showLogin(typeof message === 'string' ? message : '');
  }

  loginForm.addEventListener('submit', function (e) {
    e.preventDefault();
    var username = loginUser.value.trim(), password = loginPass.value;
    if (!username || !password) {
      loginError.hidden = false;
      loginError.textContent = 'Enter your username and password.';
      return;
    }
    loginSubmit.disabled = true;
    loginError.hidden = true;
    fetch('/api/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
      body: JSON.stringify({ username: username, password: password })
    }).then(function (res) {
      if (res.status === 401) throw new Error('Wrong username or password');
      if (!res.ok) throw new Error('Sign-in failed (HTTP ' + res.status + ')');
      return res.json();
    }).then(function (data) {
      if (!data || !data.token) throw new Error('Sign-in failed: no token returned');
      token = data.token;
      user = data.user || { username: username, role: '' };
      ss.setItem(TOKEN_KEY, token);
      ss.setItem(USER_KEY, JSON.stringify(user));
      loginPass.value = '';
      showApp();
    }).catch(function (err) {
      loginError.hidden = false;
      loginError.textContent = err && err.message && !/fetch|network/i.test(err.message)
        ? err.message : 'Cannot reach the server. Please try again.';
      loginPass.value = '';
      loginPass.focus();
    }).then(function () { loginSubmit.disabled = false; });
  });

  $('logout-btn').addEventListener('click', function () { logout(); });

  function showApp() {
    loginView.hidden = true;
    app.hidden = false;
    $('user-name').textContent = str(user && user.username);
    var role = str(user && user.role);
    var roleEl = $('user-role');
    roleEl.textContent = role;
    roleEl.hidden = !role;
    roleEl.className = 'badge role role-' + role.replace(/[^a-z]/gi, '');
    startPolling();
  }

  // ---------- conversation list ----------
  var conversations = [];
  var statusFilter = 'all';
  var selectedId = null;
  var lastListJson = null;
  var pollTimer = null;
  var listLoading = false;

  function startPolling() {
    stopPolling();
    refreshList();
    pollTimer = setInterval(function () {
      // Skip background tabs; refresh immediately when the tab comes back.
      if (document.visibilityState !== 'hidden') refreshList();
    }, POLL_MS);
  }
  function stopPolling() { if (pollTimer) clearInterval(pollTimer); pollTimer = null; }
  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'visible' && pollTimer) refreshList();
  });

  function refreshList() {
    if (listLoading || !token) return;
    listLoading = true;
    api('/api/conversations?limit=100').then(function (data) {
      var list = (data && Array.isArray(data.conversations)) ? data.conversations : [];
      list.sort(function (a, b) {
        var da = toDate(a.updated_at || a.created_at), db = toDate(b.updated_at || b.created_at);
        return (db ? db.getTime() : 0) - (da ? da.getTime() : 0);
      });
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
        var cur = list.filter(function (c) { return c.id === selectedId; })[0];
        if (cur && detailKey(cur) !== lastDetailKey) loadDetail(selectedId, true);
      }
    }).catch(function (err) {
      if (err instanceof AuthError) return;
      listMsg.hidden = false;
      listMsg.className = 'con-list-msg error';
      listMsg.textContent = 'Could not load conversations. Retrying…';
    }).then(function () { listLoading = false; });
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
    Array.prototype.forEach.call(filterEl.querySelectorAll('button'), function (b) {
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
      var li = el('li', {
        class: 'conv-item' + (c.id === selectedId ? ' active' : ''),
        'data-testid': 'conv-item',
        'data-id': str(c.id),
        tabindex: '0',
        role: 'button',
        'aria-current': c.id === selectedId ? 'true' : null
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
    Array.prototype.forEach.call(listEl.querySelectorAll('time[data-ts]'), function (t) {
      t.textContent = relTime(t.getAttribute('data-ts'));
    });
  }

  function openItem(li) {
    if (!li || !li.getAttribute('data-id')) return;
    selectedId = li.getAttribute('data-id');
    Array.prototype.forEach.call(listEl.querySelectorAll('.conv-item'), function (n) {
      var on = n === li;
      n.classList.toggle('active', on);
      if (on) n.setAttribute('aria-current', 'true'); else n.removeAttribute('aria-current');
    });
    body.classList.add('show-detail');
    loadDetail(selectedId, false);
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
    Array.prototype.forEach.call(filterEl.querySelectorAll('button'), function (x) {
      var on = x === b;
      x.classList.toggle('active', on);
      x.setAttribute('aria-selected', on ? 'true' : 'false');
    });
    renderList();
  });

  $('back-btn').addEventListener('click', function () { body.classList.remove('show-detail'); });

  // ---------- transcript ----------
  var lastDetailKey = null;
  var detailSeq = 0;
  function detailKey(c) { return str(c.id) + '|' + str(c.updated_at) + '|' + str(c.status) + '|' + str(c.turn_count) + '|' + str(c.owner); }

  function loadDetail(id, background) {
    var seq = ++detailSeq;
    if (!background) {
      detailEmpty.hidden = true;
      detailEl.hidden = false;
      clear(transcriptEl);
      transcriptEl.appendChild(el('div', { class: 'con-loading', text: 'Loading…' }));
    }
    api('/api/conversations/' + encodeURIComponent(id)).then(function (conv) {
      if (seq !== detailSeq || id !== selectedId) return; // a newer click won
      var listed = conversations.filter(function (c) { return c.id === id; })[0];
      lastDetailKey = listed ? detailKey(listed) : null;
      renderDetail(conv, background);
    }).catch(function (err) {
      if (err instanceof AuthError || seq !== detailSeq || background) return;
      clear(transcriptEl);
      transcriptEl.appendChild(el('div', { class: 'con-loading error', text: 'Could not load this conversation.' }));
    });
  }

  function renderDetail(c, background) {
    var name = displayName(c);
    $('detail-name').textContent = name;
    var meta = $('detail-meta');
    clear(meta);
    [
      ['Channel', channelLabel(c.channel)],
      ['Sender', c.sender_id],
      ['Language', c.language],
      ['Owner', c.owner],
      ['Started', fullTime(c.created_at)]
    ].forEach(function (p) {
      if (p[1] == null || p[1] === '') return;
      meta.appendChild(el('span', { class: 'meta-item' }, [el('span', { class: 'meta-k', text: p[0] }), ' ', el('span', { text: str(p[1]) })]));
    });
    var st = $('detail-status');
    var badge = statusBadge(c.status);
    st.className = badge.className;
    st.textContent = badge.textContent;

    // Keep the reader's position on background refresh unless they were at the bottom.
    var atBottom = transcriptEl.scrollHeight - transcriptEl.scrollTop - transcriptEl.clientHeight < 60;
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

  var ROLE_LABEL = { customer: 'Customer', bot: 'Bot', agent: 'Agent', system: 'System' };

  function renderHandoff(h) {
    var parts = ['Handoff to a person'];
    if (h.reason) parts.push('reason: ' + str(h.reason));
    if (h.status) parts.push(str(h.status));
    return el('div', { class: 'sys-line sys-handoff', 'data-testid': 'handoff' }, [
      el('span', { text: parts.join(' · ') + (h.created_at ? ' — ' + shortTime(h.created_at) : ''), title: fullTime(h.created_at) })
    ]);
  }

  function renderTurn(t) {
    var role = ROLE_LABEL[t.role] ? t.role : 'system';
    if (role === 'system') {
      return el('div', { class: 'sys-line', 'data-testid': 'turn', 'data-role': 'system' }, [
        el('span', { text: str(t.text) + (t.created_at ? ' — ' + shortTime(t.created_at) : '') })
      ]);
    }
    var wrap = el('div', { class: 'turn turn-' + role, 'data-testid': 'turn', 'data-role': role }, [
      el('div', { class: 'turn-head' }, [
        el('span', { class: 'turn-role', text: ROLE_LABEL[role] }),
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
      if (t.sentiment && t.sentiment.label) {
        var lbl = str(t.sentiment.label).toLowerCase();
        var score = typeof t.sentiment.score === 'number' ? ' ' + t.sentiment.score.toFixed(2) : '';
        chips.appendChild(el('span', {
          class: 'tag tag-sentiment sentiment-' + (/^(negative|neutral|positive)$/.test(lbl) ? lbl : 'other'),
          title: 'Sentiment' + score, text: lbl
        }));
      }
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
    return wrap;
  }

  // ---------- boot ----------
  if (token) showApp(); else showLogin();
})();
