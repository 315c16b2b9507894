/* Kefu customer chat widget. Vanilla JS, no dependencies. */
(function () {
  'use strict';

  // ---------- i18n ----------
  var STRINGS = {
    en: {
      title: 'Kefu Demo Shop',
      greeting: "Hi! I'm the Kefu Demo Shop assistant. Ask me about orders, returns, shipping, payments or products.",
      suggestions: ['Where is my order?', 'Return policy', 'Recommend something', 'Talk to a person'],
      placeholder: 'Type a message…',
      send: 'Send',
      agent: 'Agent',
      assistant: 'Assistant',
      handoff: 'Connecting you to a person…',
      sources: 'Sources',
      online: 'Online',
      connecting: 'Connecting…',
      reconnecting: 'Reconnecting…',
      offline: 'Offline – messages will be sent when you are back online',
      sending: 'Sending…',
      queued: 'Queued',
      failed: 'Not sent',
      typing: 'Assistant is typing',
      error: 'Something went wrong. Please try again.',
      helpful: 'Was this helpful?',
      voteUp: 'Helpful',
      voteDown: 'Not helpful',
      voteThanks: 'Thanks for the feedback!',
      voteFailed: 'Could not send – try again'
    },
    zh: {
      title: 'Kefu 演示商店',
      greeting: '您好！我是 Kefu 演示商店的智能助手。您可以咨询订单、退货、配送、支付或商品相关问题。',
      suggestions: ['我的订单到哪了？', '退货政策', '推荐点什么', '转人工'],
      placeholder: '请输入消息…',
      send: '发送',
      agent: '人工客服',
      assistant: '智能助手',
      handoff: '正在为您转接人工客服…',
      sources: '参考来源',
      online: '在线',
      connecting: '连接中…',
      reconnecting: '正在重新连接…',
      offline: '网络已断开，恢复后将自动发送消息',
      sending: '发送中…',
      queued: '等待发送',
      failed: '发送失败',
      typing: '助手正在输入',
      error: '出错了，请稍后再试。',
      helpful: '这个回答有帮助吗？',
      voteUp: '有帮助',
      voteDown: '没有帮助',
      voteThanks: '感谢您的反馈！',
      voteFailed: '发送失败，请重试'
    }
  };
  var LOCALES = { en: 'en', zh: 'zh-CN' };

  function store(kind) {
    // Storage can throw (Safari private mode, blocked cookies): degrade to memory.
    var mem = {};
    try {
      var s = window[kind];
      var k = '__kefu_test__';
      s.setItem(k, '1'); s.removeItem(k);
      return s;
    } catch (e) {
      return {
        getItem: function (k) { return Object.prototype.hasOwnProperty.call(mem, k) ? mem[k] : null; },
        setItem: function (k, v) { mem[k] = String(v); },
        removeItem: function (k) { delete mem[k]; }
      };
    }
  }
  var ls = store('localStorage');

  function detectLang() {
    var saved = ls.getItem('kefu_lang');
    if (saved === 'en' || saved === 'zh') return saved;
    var langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'en'];
    return /^zh/i.test(String(langs[0] || '')) ? 'zh' : 'en';
  }
  var lang = detectLang();
  function t(key) { return STRINGS[lang][key]; }

  function uuid() {
    if (window.crypto && typeof crypto.randomUUID === 'function') {
      try { return crypto.randomUUID(); } catch (e) { /* insecure context */ }
    }
    var b = new Uint8Array(16);
    if (window.crypto && crypto.getRandomValues) crypto.getRandomValues(b);
    else for (var i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }

  var sender = ls.getItem('kefu_sender');
  if (!sender) { sender = uuid(); ls.setItem('kefu_sender', sender); }

  // ---------- DOM helpers ----------
  var $log = document.getElementById('chat-log');
  var $form = document.getElementById('chat-form');
  var $input = document.getElementById('chat-input');
  var $send = document.getElementById('chat-send');
  var $conn = document.getElementById('chat-conn');
  var $langToggle = document.getElementById('lang-toggle');

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

  function safeUrl(raw) {
    try {
      var u = new URL(String(raw), location.href);
      return /^(https?:|mailto:|tel:)$/.test(u.protocol) ? u.href : null;
    } catch (e) { return null; }
  }

  function link(text, url) {
    var href = safeUrl(url);
    if (!href) return document.createTextNode(text);
    return el('a', { href: href, target: '_blank', rel: 'noopener noreferrer', text: text });
  }

  // Markdown links, bare URLs and **bold**; everything else becomes text nodes.
  var TOKEN_RE = /\[([^\]\n]+)\]\(((?:[^()\s]|\([^()\s]*\))+)\)|\*\*([^*\n]+)\*\*|(https?:\/\/[^\s<>()\u3000-\u303f\uff00-\uffef"']*[^\s<>()\u3000-\u303f\uff00-\uffef"'.,;:!?])/g;
  function renderRich(text) {
    var frag = document.createDocumentFragment();
    var s = String(text == null ? '' : text);
    var last = 0, m;
    TOKEN_RE.lastIndex = 0;
    while ((m = TOKEN_RE.exec(s)) !== null) {
      if (m.index > last) frag.appendChild(document.createTextNode(s.slice(last, m.index)));
      if (m[1] !== undefined) frag.appendChild(link(m[1], m[2]));
      else if (m[3] !== undefined) frag.appendChild(el('strong', { text: m[3] }));
      else frag.appendChild(link(m[4], m[4]));
      last = TOKEN_RE.lastIndex;
    }
    if (last < s.length) frag.appendChild(document.createTextNode(s.slice(last)));
    return frag;
  }

  // ---------- rendering ----------
  function nearBottom() {
    return $log.scrollHeight - $log.scrollTop - $log.clientHeight < 120;
  }
  function scrollToBottom(force) {
    if (force || stickToBottom) {
      requestAnimationFrame(function () { $log.scrollTop = $log.scrollHeight; });
    }
  }
  var stickToBottom = true;
  $log.addEventListener('scroll', function () { stickToBottom = nearBottom(); }, { passive: true });

  function append(node, force) {
    // Keep the typing indicator as the last child.
    if (typingEl && typingEl.parentNode === $log) $log.insertBefore(node, typingEl);
    else $log.appendChild(node);
    scrollToBottom(force);
    return node;
  }

  function systemLine(text, kind) {
    return append(el('div', { class: 'sys-line' + (kind ? ' sys-' + kind : ''), role: kind === 'error' ? 'alert' : null }, [
      el('span', { text: text })
    ]));
  }

  function chipRow(buttons, i18nKey) {
    var row = el('div', { class: 'chips', role: 'group' });
    buttons.forEach(function (b) {
      if (!b || (b.title == null && b.payload == null)) return;
      var title = String(b.title != null ? b.title : b.payload);
      var payload = String(b.payload != null ? b.payload : b.title);
      var chip = el('button', { type: 'button', class: 'chip', text: title });
      chip.addEventListener('click', function () {
        if (row.parentNode) row.parentNode.removeChild(row);
        // Greeting chips are UI text: send what the customer sees.
        if (i18nKey) sendText(chip.textContent, chip.textContent);
        else sendText(payload, title);
      });
      row.appendChild(chip);
    });
    return row.childNodes.length ? row : null;
  }

  function userBubble(text) {
    var status = el('div', { class: 'msg-status' });
    var bubble = el('div', { class: 'msg msg-user', 'data-testid': 'msg-user' }, [
      el('div', { class: 'bubble' }, [document.createTextNode(text)]),
      status
    ]);
    append(bubble, true);
    return bubble;
  }

  function setBubbleStatus(bubble, key) {
    if (!bubble) return;
    var s = bubble.querySelector('.msg-status');
    if (!s) return;
    s.setAttribute('data-state', key || '');
    s.setAttribute('data-i18n', key || '');
    s.textContent = key ? t(key) : '';
    bubble.classList.toggle('is-failed', key === 'failed');
  }

  // 👍/👎 on a knowledge answer; turnId is the customer turn the answer replied to.
  function voteRow(turnId) {
    var label = el('span', { class: 'msg-vote-label', 'data-i18n': 'helpful', text: t('helpful') });
    var row = el('div', { class: 'msg-vote', 'data-testid': 'msg-vote', role: 'group' }, [label]);
    [true, false].forEach(function (helpful) {
      var key = helpful ? 'voteUp' : 'voteDown';
      var b = el('button', { type: 'button', 'data-testid': helpful ? 'vote-up' : 'vote-down',
                             'aria-pressed': 'false', 'aria-label': t(key), title: t(key),
                             text: helpful ? '👍' : '👎' });
      b.addEventListener('click', function () {
        var buttons = row.querySelectorAll('button');
        Array.prototype.forEach.call(buttons, function (x) { x.disabled = true; });
        b.setAttribute('aria-pressed', 'true');
        fetch('/api/chat/feedback', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ sender: sender, turn_id: turnId, helpful: helpful })
        }).then(function (res) {
          if (!res.ok) throw new Error('HTTP ' + res.status);
          label.setAttribute('data-i18n', 'voteThanks');
          label.textContent = t('voteThanks');
          row.setAttribute('data-state', 'sent');
        }).catch(function () {
          label.setAttribute('data-i18n', 'voteFailed');
          label.textContent = t('voteFailed');
          b.setAttribute('aria-pressed', 'false');
          Array.prototype.forEach.call(buttons, function (x) { x.disabled = false; });
        });
      });
      row.appendChild(b);
    });
    return row;
  }

  function renderMessages(messages, asAgent, turnId) {
    (messages || []).forEach(function (m) {
      if (!m) return;
      var custom = m.custom && typeof m.custom === 'object' ? m.custom : {};
      var hasText = m.text != null && String(m.text).trim() !== '';
      var buttons = Array.isArray(m.buttons) ? m.buttons : [];
      var sources = Array.isArray(custom.sources) ? custom.sources : [];

      if (hasText || buttons.length || sources.length) {
        var wrap = el('div', {
          class: 'msg ' + (asAgent ? 'msg-agent' : 'msg-bot'),
          'data-testid': asAgent ? 'msg-agent' : 'msg-bot'
        });
        if (asAgent) {
          var name = custom.agent_name || custom.agent;
          wrap.appendChild(el('div', { class: 'msg-label', 'data-i18n': name ? null : 'agent', text: name ? String(name) : t('agent') }));
        }
        if (hasText) {
          var bubble = el('div', { class: 'bubble' });
          bubble.appendChild(renderRich(m.text));
          wrap.appendChild(bubble);
        }
        var srcLinks = sources.map(function (s) {
          if (!s) return null;
          var href = safeUrl(s.url);
          var title = String(s.title || s.url || '');
          if (!title) return null;
          return href ? el('a', { href: href, target: '_blank', rel: 'noopener noreferrer', text: title })
                      : el('span', { text: title });
        }).filter(Boolean);
        if (srcLinks.length) {
          var src = el('div', { class: 'msg-sources' }, [el('span', { class: 'msg-sources-label', 'data-i18n': 'sources', text: t('sources') })]);
          srcLinks.forEach(function (a) { src.appendChild(a); });
          wrap.appendChild(src);
          if (!asAgent && typeof turnId === 'number') wrap.appendChild(voteRow(turnId));
        }
        var chips = chipRow(buttons);
        if (chips) wrap.appendChild(chips);
        append(wrap);
      }
      if (custom.handoff) {
        var line = systemLine(t('handoff'), 'handoff');
        line.firstChild.setAttribute('data-i18n', 'handoff');
      }
    });
  }

  var typingEl = null;
  function setTyping(on) {
    if (on && !typingEl) {
      typingEl = el('div', { class: 'msg msg-bot typing', 'aria-label': t('typing'), role: 'status' }, [
        el('div', { class: 'bubble' }, [el('span', { class: 'dot' }), el('span', { class: 'dot' }), el('span', { class: 'dot' })])
      ]);
      $log.appendChild(typingEl);
      scrollToBottom();
    } else if (!on && typingEl) {
      if (typingEl.parentNode) typingEl.parentNode.removeChild(typingEl);
      typingEl = null;
    }
  }

  // ---------- greeting & language ----------
  function renderGreeting() {
    var wrap = el('div', { class: 'msg msg-bot greeting', 'data-testid': 'msg-bot' }, [
      el('div', { class: 'bubble', 'data-i18n': 'greeting', text: t('greeting') })
    ]);
    var chips = chipRow(t('suggestions').map(function (s) { return { title: s, payload: s }; }), 'suggestions');
    if (chips) {
      chips.classList.add('suggestions');
      wrap.appendChild(chips);
    }
    append(wrap, true);
  }

  function applyLang() {
    document.documentElement.lang = LOCALES[lang];
    document.title = t('title');
    Array.prototype.forEach.call(document.querySelectorAll('[data-i18n]'), function (n) {
      var key = n.getAttribute('data-i18n');
      if (key && typeof STRINGS[lang][key] === 'string') n.textContent = t(key);
    });
    Array.prototype.forEach.call(document.querySelectorAll('[data-i18n-placeholder]'), function (n) {
      n.setAttribute('placeholder', t(n.getAttribute('data-i18n-placeholder')));
    });
    Array.prototype.forEach.call(document.querySelectorAll('.suggestions'), function (row) {
      var list = t('suggestions');
      Array.prototype.forEach.call(row.querySelectorAll('.chip'), function (c, i) { if (list[i]) c.textContent = list[i]; });
    });
    $send.setAttribute('aria-label', t('send'));
    $input.setAttribute('aria-label', t('placeholder'));
    Array.prototype.forEach.call($langToggle.querySelectorAll('[data-lang]'), function (s) {
      s.classList.toggle('active', s.getAttribute('data-lang') === lang);
    });
    $langToggle.setAttribute('aria-pressed', lang === 'zh' ? 'true' : 'false');
    renderConn();
  }

  $langToggle.addEventListener('click', function () {
    lang = lang === 'en' ? 'zh' : 'en';
    ls.setItem('kefu_lang', lang);
    applyLang();
  });

  // ---------- outbox: each message delivered exactly once ----------
  // Persisted so a reload while offline does not lose messages. Items are sent strictly in
  // order, one at a time; the same client_message_id is reused on every retry so the
  // server can deduplicate if a reply was lost in transit.
  var OUTBOX_KEY = 'kefu_outbox';
  var outbox = [];
  try { outbox = JSON.parse(ls.getItem(OUTBOX_KEY) || '[]') || []; } catch (e) { outbox = []; }
  if (!Array.isArray(outbox)) outbox = [];
  var bubbles = {};          // client_message_id -> user bubble element
  var answeredByRest = {};   // ids whose reply came via REST; ignore late WS duplicates
  var inflight = null;       // { id, via: 'ws'|'rest', timer }
  var restRetryTimer = null;
  var restBackoff = 0;
  var WS_REPLY_TIMEOUT = 60000;  // first try: LLM replies can be slow
  var WS_RETRY_TIMEOUT = 15000;  // resends of an id the server has probably seen
  var MAX_WS_ATTEMPTS = 2;

  function saveOutbox() {
    try { ls.setItem(OUTBOX_KEY, JSON.stringify(outbox)); } catch (e) { /* quota: keep in memory */ }
  }

  function sendText(text, display) {
    text = String(text || '').trim();
    if (!text) return;
    // Quick replies only make sense until the customer answers.
    Array.prototype.forEach.call($log.querySelectorAll('.chips:not(.suggestions)'), function (row) {
      row.parentNode.removeChild(row);
    });
    var item = { id: uuid(), text: text, locale: LOCALES[lang] };
    bubbles[item.id] = userBubble(display != null ? String(display) : text);
    outbox.push(item);
    saveOutbox();
    updateQueueStatus();
    flush();
  }

  function updateQueueStatus() {
    var canSend = (ws && ws.readyState === WebSocket.OPEN) || (navigator.onLine !== false && !restRetryTimer);
    outbox.forEach(function (item) {
      // The in-flight item is covered by the typing indicator.
      var key = inflight && inflight.id === item.id ? '' : canSend ? 'sending' : 'queued';
      setBubbleStatus(bubbles[item.id], key);
    });
    setTyping(!!inflight);
  }

  function complete(id) {
    if (inflight && inflight.id === id) {
      clearTimeout(inflight.timer);
      inflight = null;
    }
    outbox = outbox.filter(function (i) { return i.id !== id; });
    saveOutbox();
    setBubbleStatus(bubbles[id], '');
    delete bubbles[id];
  }

  function payloadFor(item) {
    return { text: item.text, metadata: { locale: item.locale }, client_message_id: item.id };
  }

  function flush() {
    if (inflight || !outbox.length) { updateQueueStatus(); return; }
    var item = outbox[0];
    if (ws && ws.readyState === WebSocket.OPEN) {
      try {
        ws.send(JSON.stringify(payloadFor(item)));
      } catch (e) { updateQueueStatus(); return; }
      item.attempts = (item.attempts || 0) + 1;
      saveOutbox();
      inflight = {
        id: item.id, via: 'ws',
        // No reply in time: retry with the same id (server dedupes), possibly over REST.
        // A server may drop duplicates without answering, so after a few tries assume the
        // message arrived rather than blocking the rest of the queue forever.
        timer: setTimeout(function () {
          if (!inflight || inflight.id !== item.id) return;
          if (item.attempts >= MAX_WS_ATTEMPTS) complete(item.id);
          else inflight = null;
          flush();
        }, item.attempts > 1 ? WS_RETRY_TIMEOUT : WS_REPLY_TIMEOUT)
      };
      updateQueueStatus();
    } else if (ws && ws.readyState === WebSocket.CONNECTING) {
      updateQueueStatus(); // wait for open or close; both call flush()
    } else if (!restRetryTimer) {
      sendRest(item);
    } else {
      updateQueueStatus();
    }
  }

  function sendRest(item) {
    inflight = { id: item.id, via: 'rest', timer: null };
    updateQueueStatus();
    var body = payloadFor(item);
    body.sender = sender;
    fetch('/api/chat', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
      body: JSON.stringify(body)
    }).then(function (res) {
      if (res.ok) return res.json().then(function (data) { return { ok: true, data: data }; });
      return { ok: false, status: res.status };
    }).then(function (r) {
      if (!inflight || inflight.id !== item.id) return; // superseded (e.g. WS answered first)
      if (r.ok) {
        restBackoff = 0;
        answeredByRest[item.id] = true;
        complete(item.id);
        if (r.data && r.data.conversation_id) conversationId = r.data.conversation_id;
        renderMessages(r.data && r.data.messages, false, r.data && r.data.turn_id);
        flush();
      } else if (r.status >= 400 && r.status < 500 && r.status !== 408 && r.status !== 429) {
        // Permanent rejection: retrying would never succeed; drop it and say so.
        var b = bubbles[item.id];
        complete(item.id);
        setBubbleStatus(b, 'failed');
        systemLine(t('error'), 'error');
        flush();
      } else {
        restFailed();
      }
    }).catch(function () {
      if (inflight && inflight.id === item.id) restFailed();
    });
  }

  function restFailed() {
    inflight = null;
    restBackoff = Math.min(restBackoff ? restBackoff * 2 : 2000, 30000);
    restRetryTimer = setTimeout(function () { restRetryTimer = null; flush(); }, restBackoff);
    updateQueueStatus();
  }

  function retryNow() {
    if (restRetryTimer) { clearTimeout(restRetryTimer); restRetryTimer = null; }
    restBackoff = 0;
    flush();
  }

  // ---------- WebSocket with reconnect ----------
  var ws = null;
  var wsBackoff = 0;
  var wsTimer = null;
  var connState = 'connecting';
  var conversationId = null;
  var everConnected = false;

  function renderConn() {
    $conn.setAttribute('data-state', connState);
    var txt = $conn.querySelector('.chat-conn-text');
    var key = connState === 'open' ? 'online'
      : connState === 'offline' ? 'offline'
      : everConnected ? 'reconnecting' : 'connecting';
    txt.setAttribute('data-i18n', key);
    txt.textContent = t(key);
  }
  function setConn(s) { connState = s; renderConn(); }

  function wsUrl() {
    var proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return proto + '//' + location.host + '/ws/chat?sender=' + encodeURIComponent(sender);
  }

  function connect() {
    clearTimeout(wsTimer); wsTimer = null;
    if (ws && (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING)) return;
    if (navigator.onLine === false) { setConn('offline'); return; }
    setConn('connecting');
    var sock;
    try { sock = new WebSocket(wsUrl()); } catch (e) { scheduleReconnect(); return; }
    ws = sock;
    // A half-open connect can hang for a long time; give up and let REST take over.
    var connectTimer = setTimeout(function () {
      if (sock.readyState === WebSocket.CONNECTING) sock.close();
    }, 8000);

    sock.onopen = function () {
      clearTimeout(connectTimer);
      if (ws !== sock) return;
      wsBackoff = 0;
      everConnected = true;
      setConn('open');
      // A REST request may already be in flight; it finishes on its own, then flush continues.
      retryNow();
    };
    sock.onmessage = function (ev) {
      if (ws !== sock) return;
      var data;
      try { data = JSON.parse(ev.data); } catch (e) { return; }
      handleFrame(data);
    };
    sock.onerror = function () { /* onclose follows */ };
    sock.onclose = function () {
      clearTimeout(connectTimer);
      if (ws !== sock) return;
      ws = null;
      // Unanswered WS send: resend (same id) via REST or the next socket.
      if (inflight && inflight.via === 'ws') { clearTimeout(inflight.timer); inflight = null; }
      setConn(navigator.onLine === false ? 'offline' : 'reconnecting');
      scheduleReconnect();
      flush();
    };
  }

  function scheduleReconnect() {
    if (wsTimer) return;
    wsBackoff = Math.min(wsBackoff ? wsBackoff * 2 : 1000, 30000);
    var delay = wsBackoff * (0.75 + Math.random() * 0.5);
    wsTimer = setTimeout(function () { wsTimer = null; connect(); }, delay);
  }

  function handleFrame(data) {
    if (!data || typeof data !== 'object') return;
    if (data.conversation_id) conversationId = data.conversation_id;
    switch (data.type) {
      case 'messages':
        if (data.reply_to && answeredByRest[data.reply_to]) return;
        if (data.reply_to) {
          var wasInflight = inflight && inflight.id === data.reply_to;
          if (wasInflight || outbox.some(function (i) { return i.id === data.reply_to; })) complete(data.reply_to);
        }
        renderMessages(data.messages, false, data.turn_id);
        flush();
        break;
      case 'agent_message':
        renderMessages(data.messages, true);
        break;
      case 'status':
        if (data.status != null && String(data.status) !== '') systemLine(String(data.status), 'status');
        break;
      case 'error':
        systemLine(String(data.error || t('error')), 'error');
        // The server got our message but failed on it: mark it failed rather than resending forever.
        if (inflight && inflight.via === 'ws' && (!data.reply_to || data.reply_to === inflight.id)) {
          var id = inflight.id, b = bubbles[id];
          complete(id);
          setBubbleStatus(b, 'failed');
          flush();
        }
        break;
      default:
        break;
    }
    updateQueueStatus();
  }

  window.addEventListener('online', function () {
    wsBackoff = 0;
    if (!ws) { clearTimeout(wsTimer); wsTimer = null; connect(); }
    retryNow();
  });
  window.addEventListener('offline', function () { if (!ws) setConn('offline'); updateQueueStatus(); });
  document.addEventListener('visibilitychange', function () {
    // Mobile browsers often kill sockets in the background; reconnect promptly on return.
    if (document.visibilityState === 'visible' && !ws) {
      wsBackoff = 0; clearTimeout(wsTimer); wsTimer = null; connect();
    }
  });

  // ---------- composer ----------
  function autoGrow() {
    $input.style.height = 'auto';
    $input.style.height = Math.min($input.scrollHeight, 140) + 'px';
  }
  $input.addEventListener('input', autoGrow);
  $input.addEventListener('keydown', function (e) {
    // Don't send while an IME (e.g. pinyin) is composing.
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      submit();
    }
  });
  $form.addEventListener('submit', function (e) { e.preventDefault(); submit(); });
  function submit() {
    var text = $input.value.trim();
    if (!text) { $input.focus(); return; }
    $input.value = '';
    autoGrow();
    stickToBottom = true;
    sendText(text);
    $input.focus();
  }

  // Keep the composer above the on-screen keyboard where interactive-widget isn't supported.
  if (window.visualViewport) {
    var app = document.getElementById('chat-app');
    var onVV = function () {
      var vv = window.visualViewport;
      app.style.height = vv.height + 'px';
      app.style.top = vv.offsetTop + 'px';
      scrollToBottom();
    };
    window.visualViewport.addEventListener('resize', onVV);
    window.visualViewport.addEventListener('scroll', onVV);
    onVV();
  }

  // ---------- boot ----------
  applyLang();
  renderGreeting();
  // Re-render messages still waiting from a previous visit.
  outbox.forEach(function (item) { bubbles[item.id] = userBubble(item.text); });
  connect();
  flush();
})();
