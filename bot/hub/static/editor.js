/* Kefu knowledge-base editor. Vanilla JS; server data and article text are only ever
   rendered as DOM nodes / textContent (never innerHTML), including the Markdown preview.
   Sign-in, the token and API calls come from kefu-common.js (loaded first). */
(function () {
  'use strict';

  var K = window.Kefu, el = K.el, clear = K.clear, str = K.str;
  var relTime = K.relTime, fullTime = K.fullTime;
  var AuthError = K.AuthError, ApiError = K.ApiError, api = K.api;
  var FORBIDDEN_MSG = 'Your role cannot edit the knowledge base';
  var PUBLISHED_MSG = 'Published — the bot uses it within seconds';
  var SLUG_RE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
  var LANG_LABEL = { en: 'EN', zh: '中文' };
  var STATUS_LABEL = { published: 'published', draft: 'draft', unpublished_changes: 'unpublished changes', deleted: 'deleted' };

  function $(id) { return document.getElementById(id); }
  var app = $('editor-app'), layout = $('kb-layout'), forbiddenBanner = $('forbidden-banner');
  var searchEl = $('kb-search'), langFilterEl = $('lang-filter'), listEl = $('kb-list'), listMsg = $('list-msg');
  var tabArticles = $('tab-articles'), tabGaps = $('tab-gaps'), articlesPanel = $('articles-panel'), gapsPanel = $('gaps-panel');
  var gapsEl = $('kb-gaps'), gapsMsg = $('gaps-msg'), gapsCount = $('gaps-count');
  var editorEl = $('editor'), editorEmpty = $('editor-empty'), scrollEl = $('kb-scroll');
  var headingEl = $('editor-heading'), metaEl = $('editor-meta'), statusEl = $('editor-status');
  var slugEl = $('kb-slug'), langEl = $('kb-language'), langStatic = $('kb-language-static'), langLabel = $('kb-language-label');
  var titleEl = $('kb-title'), tagsEl = $('kb-tags'), catsEl = $('kb-categories'), bodyEl = $('kb-body-input');
  var previewEl = $('kb-preview'), revView = $('rev-view'), revViewText = $('rev-view-text');
  var btnSaveDraft = $('btn-save-draft'), btnSavePublish = $('btn-save-publish'), btnPublish = $('btn-publish'), btnDelete = $('btn-delete');
  var dirtyNote = $('dirty-note'), revPanel = $('revisions-panel'), revListEl = $('kb-revisions');
  var toastEl = $('kb-toast');

  function cls(v) { return str(v).replace(/[^a-z0-9_-]/gi, ''); }

  // ================= safe Markdown renderer =================
  // Supports: # / ## / ### headings, paragraphs, **bold**, *italic*, `code`, bullet and numbered
  // lists (nested by indentation), [links](url) to http/https/relative targets only, plus
  // ``` fences, > quotes and --- rules. Builds DOM nodes; everything else stays literal text.
  var MD_MAX_DEPTH = 8;
  var RE_FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;
  var RE_HEADING = /^ {0,3}(#{1,6})[ \t]+(.*?)[ \t]*$/;
  var RE_HR = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
  var RE_QUOTE = /^ {0,3}>[ \t]?(.*)$/;
  var RE_LIST = /^([ \t]*)([-*+]|\d{1,9}[.)])(?:[ \t]+(.*))?$/;
  var HARD_BREAK = '\u0000';

  function isBlank(line) { return !/\S/.test(line); }
  function indentOf(line) { return /^ */.exec(line)[0].length; }
  function isOrderedMarker(m) { return /\d/.test(m[2].charAt(0)); }
  function startsBlock(line) {
    return RE_FENCE.test(line) && !/`/.test(RE_FENCE.exec(line)[2].replace(/^`+/, '')) ||
      RE_HEADING.test(line) || RE_HR.test(line) || RE_QUOTE.test(line) || RE_LIST.test(line);
  }
  function expandTabs(line) {
    return line.replace(/^[ \t]+/, function (ws) {
      var out = '';
      for (var i = 0; i < ws.length; i++) out += ws.charAt(i) === '\t' ? '    '.slice(out.length % 4) : ' ';
      return out;
    });
  }

  function renderMarkdown(src) {
    var text = str(src).replace(/\u0000/g, '\uFFFD').replace(/\r\n?/g, '\n');
    return renderBlocks(text.split('\n').map(expandTabs), 0);
  }

  function renderBlocks(lines, depth) {
    var frag = document.createDocumentFragment();
    var n = lines.length, i = 0, m;
    if (depth > MD_MAX_DEPTH) {
      frag.appendChild(el('p', { text: lines.join('\n') }));
      return frag;
    }
    while (i < n) {
      var line = lines[i];
      if (isBlank(line)) { i++; continue; }

      m = RE_FENCE.exec(line);
      if (m && !(m[1].charAt(0) === '`' && /`/.test(m[2]))) {
        var fence = m[1], code = [], closed = false;
        var lang = m[2].trim().split(/\s+/)[0];
        var strip = indentOf(line);
        for (i++; i < n; i++) {
          var cm = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(lines[i]);
          if (cm && cm[1].charAt(0) === fence.charAt(0) && cm[1].length >= fence.length) { closed = true; break; }
          code.push(lines[i].slice(Math.min(strip, indentOf(lines[i]))));
        }
        if (closed) i++;
        var codeEl = el('code', { text: code.join('\n') });
        if (lang && /^[\w+#.-]{1,30}$/.test(lang)) codeEl.className = 'language-' + cls(lang);
        frag.appendChild(el('pre', null, [codeEl]));
        continue;
      }

      m = RE_HEADING.exec(line);
      if (m) {
        var level = Math.min(m[1].length, 3);
        var h = el('h' + level);
        h.appendChild(renderInline(m[2].replace(/[ \t]+#+$/, '').replace(/^#+$/, ''), 0, false));
        frag.appendChild(h);
        i++;
        continue;
      }

      if (RE_HR.test(line)) { frag.appendChild(el('hr')); i++; continue; }

      if (RE_QUOTE.test(line)) {
        var quoted = [];
        while (i < n && !isBlank(lines[i])) {
          var qm = RE_QUOTE.exec(lines[i]);
          if (qm) quoted.push(qm[1]);
          else if (quoted.length && !startsBlock(lines[i])) quoted.push(lines[i]); // lazy continuation
          else break;
          i++;
        }
        var bq = el('blockquote');
        bq.appendChild(renderBlocks(quoted, depth + 1));
        frag.appendChild(bq);
        continue;
      }

      if (RE_LIST.test(line)) { i = renderMdList(lines, i, depth, frag); continue; }

      // Paragraph: runs until a blank line or the start of another block.
      var para = [];
      while (i < n && !isBlank(lines[i]) && (!para.length || !startsBlock(lines[i]))) { para.push(lines[i]); i++; }
      var p = el('p');
      p.appendChild(renderInline(joinParagraph(para), 0, false));
      frag.appendChild(p);
    }
    return frag;
  }

  // Joins paragraph lines; a line ending in two spaces or a backslash is a hard line break.
  function joinParagraph(lines) {
    return lines.map(function (l, idx) {
      var t = l.replace(/^\s+/, '');
      if (idx === lines.length - 1) return t.replace(/\s+$/, '');
      if (/( {2,}|\\)$/.test(t)) return t.replace(/(\s{2,}|\\)$/, '') + HARD_BREAK;
      return t.replace(/\s+$/, '') + '\n';
    }).join('');
  }

  function renderMdList(lines, i, depth, frag) {
    var n = lines.length;
    var m = RE_LIST.exec(lines[i]);
    var baseIndent = m[1].length;
    var ordered = isOrderedMarker(m);
    var list = el(ordered ? 'ol' : 'ul');
    if (ordered) {
      var start = parseInt(m[2], 10);
      if (isFinite(start) && start !== 1) list.setAttribute('start', String(start));
    }
    var childIndent = baseIndent + 2;
    var loose = false, items = [];
    while (i < n) {
      m = RE_LIST.exec(lines[i]);
      if (!m || RE_HR.test(lines[i]) || isOrderedMarker(m) !== ordered) break;
      var contentIndent = m[1].length + m[2].length + 1;
      var content = [m[3] || ''];
      i++;
      while (i < n) {
        var line = lines[i];
        if (isBlank(line)) {
          var j = i + 1;
          while (j < n && isBlank(lines[j])) j++;
          if (j < n && indentOf(lines[j]) >= childIndent) {
            for (; i < j; i++) content.push('');
            loose = true;
            continue;
          }
          break;
        }
        var ind = indentOf(line);
        if (ind >= childIndent) { content.push(line.slice(Math.min(ind, contentIndent))); i++; continue; }
        if (startsBlock(line)) break;
        content.push(line.replace(/^\s+/, '')); // lazy continuation of the item's text
        i++;
      }
      items.push(content);
      // Blank lines followed by a sibling item keep the list going (a "loose" list).
      var k = i;
      while (k < n && isBlank(lines[k])) k++;
      if (k > i && k < n) {
        var mm = RE_LIST.exec(lines[k]);
        if (mm && !RE_HR.test(lines[k]) && isOrderedMarker(mm) === ordered && indentOf(lines[k]) < childIndent) {
          loose = true;
          i = k;
        }
      }
    }
    items.forEach(function (content) {
      var li = el('li');
      li.appendChild(renderBlocks(content, depth + 1));
      if (!loose) {
        // Tight list: unwrap paragraphs so items don't get paragraph margins.
        Array.prototype.slice.call(li.childNodes).forEach(function (c) {
          if (c.nodeName === 'P') {
            while (c.firstChild) li.insertBefore(c.firstChild, c);
            li.removeChild(c);
          }
        });
      }
      list.appendChild(li);
    });
    frag.appendChild(list);
    return i;
  }

  function safeHref(raw) {
    var url = str(raw).trim();
    if (!url) return null;
    try {
      // The URL parser strips tabs/newlines and resolves relative links exactly as the browser
      // would, so "java\tscript:" and friends are caught here.
      var u = new URL(url, location.href);
      return (u.protocol === 'http:' || u.protocol === 'https:') ? u.href : null;
    } catch (e) { return null; }
  }

  function appendText(frag, s) {
    var parts = s.split(HARD_BREAK);
    parts.forEach(function (part, idx) {
      if (idx) frag.appendChild(el('br'));
      if (part) frag.appendChild(document.createTextNode(part));
    });
  }

  var ESCAPABLE = /[!-\/:-@\[-`{-~]/;

  function renderInline(s, depth, inLink) {
    var frag = document.createDocumentFragment();
    var buf = '', i = 0, n = s.length;
    var failed = {}; // delimiter kind -> position from which no closer exists (keeps this linear-ish)
    function flush() { if (buf) { appendText(frag, buf); buf = ''; } }
    while (i < n) {
      var c = s.charAt(i);
      if (c === '\\' && i + 1 < n && ESCAPABLE.test(s.charAt(i + 1))) { buf += s.charAt(i + 1); i += 2; continue; }
      if (c === '`') {
        var run = /^`+/.exec(s.slice(i, i + 64))[0];
        var close = failed['`' + run.length] != null && i >= failed['`' + run.length] ? -1 : findBackticks(s, i + run.length, run.length);
        if (close < 0) { failed['`' + run.length] = i; buf += run; i += run.length; continue; }
        flush();
        var code = s.slice(i + run.length, close).replace(new RegExp(HARD_BREAK + '|\\n', 'g'), ' ');
        if (/^ .*[^ ].* $/.test(code)) code = code.slice(1, -1);
        frag.appendChild(el('code', { text: code }));
        i = close + run.length;
        continue;
      }
      if ((c === '*' || c === '_') && depth < MD_MAX_DEPTH) {
        var em = parseEmphasis(s, i, depth, inLink, failed);
        if (em) { flush(); frag.appendChild(em.node); i = em.end; continue; }
        // Emit the whole delimiter run literally so "**" is not retried as two "*".
        var dr = /^[*_]+/.exec(s.slice(i, i + 64))[0];
        var same = dr.charAt(0) === c ? dr.replace(c === '*' ? /_.*$/ : /\*.*$/, '') : c;
        buf += same; i += same.length;
        continue;
      }
      if (c === '[' && !inLink && depth < MD_MAX_DEPTH) {
        var ln = parseLink(s, i, depth);
        if (ln) { flush(); frag.appendChild(ln.node); i = ln.end; continue; }
      }
      buf += c; i++;
    }
    flush();
    return frag;
  }

  function findBackticks(s, from, len) {
    var i = from, n = s.length;
    while (i < n) {
      var k = s.indexOf('`', i);
      if (k < 0) return -1;
      var e = k;
      while (e < n && s.charAt(e) === '`') e++;
      if (e - k === len) return k;
      i = e;
    }
    return -1;
  }

  function parseEmphasis(s, i, depth, inLink, failed) {
    var c = s.charAt(i), n = s.length;
    var dbl = s.charAt(i + 1) === c;
    var mlen = dbl ? 2 : 1;
    var key = c + mlen;
    if (failed[key] != null && i >= failed[key]) return null;
    var wordChar = /[A-Za-z0-9\u00C0-\uFFFF]/;
    if (c === '_' && i > 0 && wordChar.test(s.charAt(i - 1))) return null; // snake_case stays literal
    var after = s.charAt(i + mlen);
    if (!after || /\s/.test(after)) return null;
    var delim = dbl ? c + c : c;
    var j = i + mlen, k;
    for (;;) {
      k = s.indexOf(delim, j);
      if (k < 0 || k >= n) { failed[key] = i; return null; }
      if (!dbl && s.charAt(k + 1) === c) { // part of a longer run (e.g. nested **bold**): skip it
        while (s.charAt(k) === c) k++;
        j = k;
        continue;
      }
      if (dbl) while (s.charAt(k + 2) === c) k++; // "***x***": keep the extra "*" inside
      if (k === i + mlen || /\s/.test(s.charAt(k - 1))) { j = k + 1; continue; }
      if (c === '_' && wordChar.test(s.charAt(k + mlen))) { j = k + mlen; continue; }
      break;
    }
    var node = el(dbl ? 'strong' : 'em');
    node.appendChild(renderInline(s.slice(i + mlen, k), depth + 1, inLink));
    return { node: node, end: k + mlen };
  }

  function parseLink(s, i, depth) {
    var n = Math.min(s.length, i + 1000), d = 0, k, ch;
    for (k = i; k < n; k++) {
      ch = s.charAt(k);
      if (ch === '\\') { k++; continue; }
      if (ch === '[') d++;
      else if (ch === ']') { d--; if (d === 0) break; }
    }
    if (k >= n || s.charAt(k + 1) !== '(') return null;
    var p = k + 2, pd = 0, e, end = Math.min(s.length, p + 2048);
    for (e = p; e < end; e++) {
      ch = s.charAt(e);
      if (ch === '\\') { e++; continue; }
      if (ch === '(') pd++;
      else if (ch === ')') { if (pd === 0) break; pd--; }
      else if (ch === '\n' || ch === HARD_BREAK) return null;
    }
    if (e >= end) return null;
    var label = s.slice(i + 1, k);
    var dest = s.slice(p, e).trim();
    var dm = /^(<[^<>]*>|\S+)(?:\s+(?:"[^"]*"|'[^']*'|\([^()]*\)))?$/.exec(dest);
    var url = dm ? dm[1] : '';
    if (url.charAt(0) === '<') url = url.slice(1, -1);
    url = url.replace(/\\([!-\/:-@\[-`{-~])/g, '$1');
    var href = safeHref(url);
    var node = href
      ? el('a', { href: href, target: '_blank', rel: 'noopener noreferrer nofollow', title: href })
      : el('span', { class: 'md-badlink', title: 'Link removed: only http(s) and relative links are allowed' });
    node.appendChild(renderInline(label, depth + 1, true));
    return { node: node, end: e + 1 };
  }

  // ================= session & errors =================
  // The editor's own wording for failures (the console and dashboard word them differently).
  function errorText(err, fallback) {
    if (err instanceof ApiError) {
      if (err.status === 403) return FORBIDDEN_MSG;
      if (err.status === 0) return 'Cannot reach the server. Check your connection and try again.';
      return err.detail || 'Request failed (HTTP ' + err.status + ')';
    }
    return fallback || 'Something went wrong. Please try again.';
  }
  function reportError(err, fallback) {
    if (err instanceof AuthError) return;
    if (!(err instanceof ApiError) && window.console) console.error(err);
    toast(errorText(err, fallback), 'error');
  }

  // expired: the session ran out mid-edit; unsaved changes stay in the form so they can be
  // saved right after signing in again.
  var keptWork = false;
  function onSignedOut(expired) {
    articles = []; lastListJson = null; gapsLoaded = false;
    listSeq++; articleSeq++; gapsSeq++;
    clear(listEl); clear(gapsEl);
    forbiddenBanner.hidden = true;
    keptWork = expired && isDirty();
    if (keptWork) {
      setBusy(false);
      setFormDisabled(false);
      editorEl.classList.remove('is-loading');
    } else {
      clear(revListEl); clear(previewEl);
      hideEditor();
    }
    hideToast();
  }

  function onSignedIn() {
    loadList();
    loadGaps(true);
    if (keptWork && current) {
      keptWork = false;
      showEditor();
      toast('Your unsaved changes are still here — save them now.', 'info');
      return;
    }
    keptWork = false;
    var h = parseHash();
    if (h) openArticle(h.slug, h.language, true);
  }

  // ================= toasts =================
  var toastTimer = null;
  function toast(message, kind) {
    kind = kind || 'ok';
    clearTimeout(toastTimer);
    toastEl.textContent = message;
    toastEl.className = 'kb-toast kb-toast-' + kind;
    toastEl.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    toastEl.setAttribute('data-kind', kind);
    toastEl.hidden = false;
    toastTimer = setTimeout(hideToast, kind === 'error' ? 9000 : 5000);
  }
  function hideToast() { clearTimeout(toastTimer); toastEl.hidden = true; }
  toastEl.addEventListener('click', hideToast);

  // ================= helpers =================
  function statusBadge(status, extraClass) {
    var s = str(status) || 'unknown';
    return el('span', {
      class: 'badge kb-status kb-status-' + cls(s) + (extraClass ? ' ' + extraClass : ''),
      'data-status': s, text: STATUS_LABEL[s] || s.replace(/_/g, ' ')
    });
  }
  function langBadge(lang) {
    var l = str(lang);
    return el('span', { class: 'badge kb-lang kb-lang-' + cls(l), 'data-language': l, title: 'Language', text: LANG_LABEL[l] || l || '—' });
  }
  function parseList(value) {
    var seen = {}, out = [];
    str(value).split(/[,，、;；\n]/).forEach(function (p) {
      var t = p.trim().replace(/\s+/g, ' ');
      if (t && !seen[t.toLowerCase()]) { seen[t.toLowerCase()] = true; out.push(t); }
    });
    return out;
  }
  function joinList(arr) { return (Array.isArray(arr) ? arr : []).map(str).filter(Boolean).join(', '); }
  function slugify(title) {
    var s = str(title).toLowerCase();
    if (s.normalize) s = s.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
    s = s.replace(/['’]/g, '').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
    if (s.length > 80) s = s.slice(0, 80).replace(/-[^-]*$/, '') || s.slice(0, 80);
    return s.replace(/-+$/, '');
  }
  function articleKey(slug, language) { return str(slug) + '/' + str(language); }

  // ================= article list =================
  var articles = [];
  var listSeq = 0, lastListJson = null;
  var filterLang = '';
  var searchTimer = null;

  function loadList() {
    if (!K.token()) return Promise.resolve();
    var seq = ++listSeq;
    var qs = 'q=' + encodeURIComponent(searchEl.value.trim()) + '&language=' + encodeURIComponent(filterLang);
    if (!articles.length) { listMsg.hidden = false; listMsg.className = 'con-list-msg'; listMsg.textContent = 'Loading…'; }
    return api('/api/kb/articles?' + qs).then(function (data) {
      if (seq !== listSeq) return;
      articles = data && Array.isArray(data.articles) ? data.articles : [];
      listMsg.hidden = true;
      var json = JSON.stringify(articles);
      if (json !== lastListJson) { lastListJson = json; renderList(); }
      else updateListSelection();
    }).catch(function (err) {
      if (err instanceof AuthError || seq !== listSeq) return;
      listMsg.hidden = false;
      listMsg.className = 'con-list-msg error';
      listMsg.textContent = errorText(err, 'Could not load articles.');
    });
  }

  function renderList() {
    var scroll = listEl.scrollTop;
    clear(listEl);
    if (!articles.length) {
      var q = searchEl.value.trim();
      listEl.appendChild(el('li', { class: 'conv-empty', text: q || filterLang ? 'No articles match.' : 'No articles yet. Create the first one.' }));
      return;
    }
    articles.forEach(function (a) {
      var title = str(a.title) || str(a.slug);
      var when = a.updated_at;
      var li = el('li', {
        class: 'conv-item kb-item',
        'data-testid': 'kb-item',
        'data-slug': str(a.slug),
        'data-language': str(a.language),
        'data-status': str(a.status),
        tabindex: '0',
        role: 'button'
      }, [
        el('div', { class: 'conv-main' }, [
          el('div', { class: 'conv-row' }, [
            el('span', { class: 'conv-name kb-item-title', text: title, title: title }),
            when ? el('time', { class: 'conv-time', 'data-ts': str(when), title: fullTime(when), text: relTime(when) }) : null
          ]),
          el('div', { class: 'kb-item-slug', text: str(a.slug) }),
          el('div', { class: 'conv-row conv-tags' }, [
            langBadge(a.language),
            statusBadge(a.status),
            a.updated_by ? el('span', { class: 'conv-owner', text: 'by ' + str(a.updated_by) }) : null,
            a.revision != null ? el('span', { class: 'conv-turns', title: 'Latest revision', text: 'rev ' + str(a.revision) }) : null
          ])
        ])
      ]);
      listEl.appendChild(li);
    });
    updateListSelection();
    listEl.scrollTop = scroll;
  }

  function updateListSelection() {
    var key = current && current.mode === 'edit' ? articleKey(current.slug, current.language) : null;
    Array.prototype.forEach.call(listEl.querySelectorAll('.kb-item'), function (li) {
      var on = key && articleKey(li.getAttribute('data-slug'), li.getAttribute('data-language')) === key;
      li.classList.toggle('active', !!on);
      if (on) li.setAttribute('aria-current', 'true'); else li.removeAttribute('aria-current');
    });
  }

  function onItemActivate(li) {
    if (!li || !li.getAttribute('data-slug')) return;
    var slug = li.getAttribute('data-slug'), lang = li.getAttribute('data-language');
    if (current && current.mode === 'edit' && articleKey(current.slug, current.language) === articleKey(slug, lang)) {
      layout.classList.add('show-detail');
      return;
    }
    if (!confirmDiscard()) return;
    openArticle(slug, lang, false);
  }
  listEl.addEventListener('click', function (e) { onItemActivate(e.target.closest('.kb-item')); });
  listEl.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' || e.key === ' ') {
      var li = e.target.closest('.kb-item');
      if (li) { e.preventDefault(); onItemActivate(li); }
    }
  });

  searchEl.addEventListener('input', function () {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(loadList, 250);
  });
  searchEl.addEventListener('keydown', function (e) {
    if (e.key === 'Enter') { e.preventDefault(); clearTimeout(searchTimer); loadList(); }
  });

  langFilterEl.addEventListener('click', function (e) {
    var b = e.target.closest('button[data-lang]');
    if (!b) return;
    filterLang = b.getAttribute('data-lang');
    Array.prototype.forEach.call(langFilterEl.querySelectorAll('button'), function (x) {
      var on = x === b;
      x.classList.toggle('active', on);
      x.setAttribute('aria-selected', on ? 'true' : 'false');
    });
    loadList();
  });

  setInterval(function () {
    Array.prototype.forEach.call(document.querySelectorAll('.kb-list time[data-ts]'), function (t) {
      t.textContent = relTime(t.getAttribute('data-ts'));
    });
  }, 30000);

  // ================= sidebar tabs & gaps =================
  function selectTab(which) {
    var gaps = which === 'gaps';
    tabArticles.classList.toggle('active', !gaps);
    tabGaps.classList.toggle('active', gaps);
    tabArticles.setAttribute('aria-selected', gaps ? 'false' : 'true');
    tabGaps.setAttribute('aria-selected', gaps ? 'true' : 'false');
    articlesPanel.hidden = gaps;
    gapsPanel.hidden = !gaps;
    layout.classList.remove('show-detail');
    if (gaps) loadGaps(false);
  }
  tabArticles.addEventListener('click', function () { selectTab('articles'); });
  tabGaps.addEventListener('click', function () { selectTab('gaps'); });
  $('gaps-refresh').addEventListener('click', function () { loadGaps(false); });

  var gapsSeq = 0, gapsLoaded = false;
  function loadGaps(quiet) {
    if (!K.token()) return;
    var seq = ++gapsSeq;
    if (!gapsLoaded && !quiet) { gapsMsg.hidden = false; gapsMsg.className = 'con-list-msg'; gapsMsg.textContent = 'Loading…'; }
    var req = quiet
      ? api('/api/kb/gaps?limit=50', { quiet403: true }).catch(function (err) { if (err && err.status === 403) return { forbidden: true }; throw err; })
      : api('/api/kb/gaps?limit=50');
    req.then(function (data) {
      if (seq !== gapsSeq) return;
      if (data && data.forbidden) {
        gapsMsg.hidden = false; gapsMsg.className = 'con-list-msg error'; gapsMsg.textContent = FORBIDDEN_MSG;
        return;
      }
      gapsLoaded = true;
      gapsMsg.hidden = true;
      renderGaps(data && Array.isArray(data.gaps) ? data.gaps : []);
    }).catch(function (err) {
      if (err instanceof AuthError || seq !== gapsSeq) return;
      gapsMsg.hidden = false;
      gapsMsg.className = 'con-list-msg error';
      gapsMsg.textContent = errorText(err, 'Could not load unanswered questions.');
    });
  }

  function renderGaps(gaps) {
    gapsCount.textContent = gaps.length ? String(gaps.length) : '';
    clear(gapsEl);
    if (!gaps.length) {
      gapsEl.appendChild(el('li', { class: 'conv-empty', text: 'No unanswered questions. Nice!' }));
      return;
    }
    gaps.forEach(function (g) {
      var score = typeof g.best_score === 'number' ? g.best_score : parseFloat(g.best_score);
      var btn = el('button', { type: 'button', class: 'btn btn-ghost kb-small-btn kb-gap-write', 'data-testid': 'kb-gap-write', text: 'Write an article' });
      btn.addEventListener('click', function () {
        if (!confirmDiscard()) return;
        openCreate({ title: str(g.question).trim(), language: g.language });
      });
      gapsEl.appendChild(el('li', { class: 'kb-gap-item', 'data-testid': 'kb-gap-item' }, [
        el('div', { class: 'kb-gap-q', text: str(g.question) }),
        el('div', { class: 'conv-row conv-tags' }, [
          g.language ? langBadge(g.language) : null,
          isFinite(score) ? el('span', { class: 'kb-gap-score', title: 'Best knowledge-base match score', text: 'best match ' + score.toFixed(2) }) : null,
          g.created_at ? el('time', { class: 'conv-time', 'data-ts': str(g.created_at), title: fullTime(g.created_at), text: relTime(g.created_at) }) : null
        ]),
        el('div', { class: 'kb-gap-actions' }, [btn])
      ]));
    });
  }

  // ================= editor =================
  // current: null | {mode:'create'} | {mode:'edit', slug, language, article}
  var current = null;
  var baseline = null;      // snapshot of the form as last loaded/saved, for "unsaved changes"
  var slugTouched = false;  // create mode: stop auto-deriving the slug once the editor typed one
  var articleSeq = 0;
  var busy = false;
  var viewing = null;       // revision shown read-only in the preview

  function snapshot() {
    if (!current) return null;
    var s = {
      title: titleEl.value.trim(),
      tags: parseList(tagsEl.value),
      categories: parseList(catsEl.value),
      body: bodyEl.value
    };
    if (current.mode === 'create') { s.slug = slugEl.value.trim(); s.language = langEl.value; }
    return JSON.stringify(s);
  }
  function isDirty() { return !!current && baseline !== null && snapshot() !== baseline; }
  function confirmDiscard() {
    if (!isDirty()) return true;
    return window.confirm('You have unsaved changes. Discard them?');
  }
  function updateDirty() {
    var dirty = isDirty();
    dirtyNote.hidden = !dirty;
    updateButtons();
  }
  window.addEventListener('beforeunload', function (e) {
    if (isDirty()) { e.preventDefault(); e.returnValue = ''; }
  });

  function showEditor() {
    editorEmpty.hidden = true;
    editorEl.hidden = false;
    layout.classList.add('show-detail');
  }
  function hideEditor() {
    current = null; baseline = null; viewing = null;
    editorEl.hidden = true;
    editorEmpty.hidden = false;
    layout.classList.remove('show-detail');
    setHash(null);
    updateListSelection();
  }

  function setFormDisabled(disabled) {
    [slugEl, langEl, titleEl, tagsEl, catsEl, bodyEl].forEach(function (n) { n.disabled = disabled; });
  }

  function updateButtons() {
    var editing = current && current.mode === 'edit';
    var st = editing && current.article ? str(current.article.status) : '';
    var canPublish = editing && (st === 'draft' || st === 'unpublished_changes');
    var dirty = isDirty();
    btnPublish.hidden = !canPublish;
    btnPublish.disabled = busy || dirty;
    btnPublish.title = dirty ? 'Save your changes first, or use “Save & publish”' : 'Publish the saved draft';
    btnDelete.hidden = !editing || st === 'deleted';
    btnSaveDraft.disabled = busy || !current;
    btnSavePublish.disabled = busy || !current;
    btnDelete.disabled = busy;
    Array.prototype.forEach.call(revListEl.querySelectorAll('button'), function (b) { b.disabled = busy; });
  }
  function setBusy(on) { busy = on; editorEl.classList.toggle('is-busy', on); updateButtons(); }

  function openCreate(prefill) {
    prefill = prefill || {};
    articleSeq++;
    current = { mode: 'create' };
    viewing = null;
    setFormDisabled(false);
    slugEl.readOnly = false;
    slugEl.removeAttribute('aria-readonly');
    slugEl.removeAttribute('aria-invalid');
    langEl.hidden = false;
    langStatic.hidden = true;
    langLabel.setAttribute('for', 'kb-language');
    var lang = prefill.language === 'en' || prefill.language === 'zh' ? prefill.language
      : (filterLang || 'en');
    langEl.value = lang;
    titleEl.value = str(prefill.title);
    slugEl.value = slugify(titleEl.value);
    slugTouched = false;
    tagsEl.value = ''; catsEl.value = ''; bodyEl.value = '';
    headingEl.textContent = 'New article';
    clear(metaEl);
    metaEl.appendChild(el('span', { class: 'meta-item', text: prefill.title ? 'From an unanswered question' : 'Not saved yet' }));
    statusEl.hidden = true;
    revPanel.hidden = true;
    clear(revListEl);
    setHash(null);
    showEditor();
    baseline = snapshot();
    renderPreviewNow();
    updateDirty();
    updateListSelection();
    scrollEl.scrollTop = 0;
    (slugEl.value ? (titleEl.value ? bodyEl : titleEl) : (titleEl.value ? slugEl : titleEl)).focus();
  }

  $('kb-new').addEventListener('click', function () {
    if (!confirmDiscard()) return;
    openCreate({});
  });

  function openArticle(slug, language, fromHash) {
    var seq = ++articleSeq;
    viewing = null;
    showEditor();
    editorEl.classList.add('is-loading');
    setFormDisabled(true);
    return api('/api/kb/articles/' + encodeURIComponent(slug) + '/' + encodeURIComponent(language)).then(function (a) {
      if (seq !== articleSeq) return;
      fillForm(a);
      scrollEl.scrollTop = 0;
    }).catch(function (err) {
      if (err instanceof AuthError || seq !== articleSeq) return;
      setFormDisabled(false);
      if (err && err.status === 404) {
        toast(fromHash ? 'That article no longer exists.' : 'This article no longer exists.', 'error');
        hideEditor();
        loadList();
      } else {
        reportError(err, 'Could not load the article.');
        if (!current || current.mode !== 'edit') hideEditor();
      }
    }).then(function () { if (seq === articleSeq) editorEl.classList.remove('is-loading'); });
  }

  function fillForm(a) {
    a = a || {};
    current = { mode: 'edit', slug: str(a.slug), language: str(a.language), article: a };
    viewing = null;
    setFormDisabled(false);
    slugEl.value = str(a.slug);
    slugEl.readOnly = true;
    slugEl.setAttribute('aria-readonly', 'true');
    slugEl.removeAttribute('aria-invalid');
    langEl.value = str(a.language);
    langEl.hidden = true;
    langStatic.hidden = false;
    langStatic.textContent = '';
    langStatic.appendChild(langBadge(a.language));
    langLabel.removeAttribute('for');
    titleEl.value = str(a.title);
    tagsEl.value = joinList(a.tags);
    catsEl.value = joinList(a.categories);
    bodyEl.value = str(a.body);
    headingEl.textContent = str(a.title) || str(a.slug);
    var badge = statusBadge(a.status);
    statusEl.className = badge.className;
    statusEl.setAttribute('data-status', badge.getAttribute('data-status'));
    statusEl.textContent = badge.textContent;
    statusEl.hidden = false;
    renderMeta(a);
    renderRevisions(a);
    setHash(a.slug, a.language);
    baseline = snapshot();
    renderPreviewNow();
    updateDirty();
    updateListSelection();
  }

  function sortedRevisions(a) {
    return (Array.isArray(a.revisions) ? a.revisions.slice() : []).sort(function (x, y) {
      return (Number(y.revision) || 0) - (Number(x.revision) || 0);
    });
  }

  function renderMeta(a) {
    clear(metaEl);
    var revs = sortedRevisions(a);
    var latest = revs[0];
    var parts = [];
    if (a.revision != null) parts.push(['Revision', str(a.revision)]);
    parts.push(['Published', a.published_revision != null ? 'revision ' + str(a.published_revision) : 'never']);
    if (latest && (latest.author || latest.created_at)) {
      parts.push(['Updated', (latest.created_at ? relTime(latest.created_at) : '') + (latest.author ? ' by ' + str(latest.author) : '')]);
    }
    parts.forEach(function (p) {
      metaEl.appendChild(el('span', { class: 'meta-item' }, [el('span', { class: 'meta-k', text: p[0] }), ' ', el('span', { text: p[1] })]));
    });
    if (str(a.status) === 'deleted') {
      metaEl.appendChild(el('span', { class: 'meta-item kb-meta-warn', text: 'Deleted — roll back to a revision to restore it' }));
    }
  }

  function renderRevisions(a) {
    clear(revListEl);
    var revs = sortedRevisions(a);
    revPanel.hidden = false;
    if (!revs.length) {
      revListEl.appendChild(el('li', { class: 'conv-empty', text: 'No revisions yet.' }));
      return;
    }
    var deleted = str(a.status) === 'deleted';
    revs.forEach(function (r) {
      var n = Number(r.revision);
      var isHead = a.revision != null && n === Number(a.revision);
      var isPublished = a.published_revision != null && n === Number(a.published_revision);
      var viewBtn = el('button', { type: 'button', class: 'btn btn-ghost kb-small-btn', 'data-testid': 'kb-revision-view', text: 'View' });
      viewBtn.addEventListener('click', function () { viewRevision(r.revision); });
      var rbBtn = null;
      if (!isHead || deleted) {
        rbBtn = el('button', { type: 'button', class: 'btn btn-ghost kb-small-btn', 'data-testid': 'kb-rollback', text: 'Roll back to this' });
        rbBtn.addEventListener('click', function () { rollback(r.revision); });
      }
      var li = el('li', {
        class: 'kb-revision-item' + (viewing && Number(viewing.revision) === n ? ' viewing' : ''),
        'data-testid': 'kb-revision-item',
        'data-revision': str(r.revision)
      }, [
        el('div', { class: 'kb-rev-main' }, [
          el('div', { class: 'kb-rev-row' }, [
            el('span', { class: 'kb-rev-num', text: '#' + str(r.revision) }),
            r.action ? el('span', { class: 'badge kb-rev-action kb-action-' + cls(r.action), text: str(r.action) }) : null,
            isPublished ? el('span', { class: 'badge kb-status kb-status-published', text: 'live' , title: 'The bot uses this revision' }) : null,
            isHead && !isPublished ? el('span', { class: 'badge', text: 'latest' }) : null
          ]),
          el('div', { class: 'kb-rev-meta' }, [
            el('span', { class: 'kb-rev-author', text: str(r.author) || 'unknown' }),
            ' · ',
            el('time', { title: fullTime(r.created_at), text: fullTime(r.created_at) || '—' })
          ]),
          r.title ? el('div', { class: 'kb-rev-title', text: str(r.title), title: str(r.title) }) : null
        ]),
        el('div', { class: 'kb-rev-actions' }, [viewBtn, rbBtn])
      ]);
      revListEl.appendChild(li);
    });
    updateButtons();
  }

  // ---------- preview ----------
  var previewQueued = false;
  function schedulePreview() {
    if (previewQueued) return;
    previewQueued = true;
    (window.requestAnimationFrame || setTimeout)(function () { previewQueued = false; renderPreviewNow(); });
  }
  function renderPreviewNow() {
    var text = viewing ? str(viewing.body) : bodyEl.value;
    clear(previewEl);
    previewEl.classList.toggle('is-revision', !!viewing);
    if (!/\S/.test(text)) {
      previewEl.appendChild(el('p', { class: 'md-empty', text: viewing ? 'This revision has no body.' : 'Nothing to preview yet.' }));
    } else {
      previewEl.appendChild(renderMarkdown(text));
    }
    revView.hidden = !viewing;
    if (viewing) {
      revViewText.textContent = 'Revision ' + str(viewing.revision) +
        (viewing.author ? ' by ' + str(viewing.author) : '') +
        (viewing.title ? ' — “' + str(viewing.title) + '”' : '') + ' (read-only)';
    }
    Array.prototype.forEach.call(revListEl.querySelectorAll('.kb-revision-item'), function (li) {
      li.classList.toggle('viewing', !!viewing && li.getAttribute('data-revision') === str(viewing.revision));
    });
  }
  function exitRevisionView() {
    if (!viewing) return;
    viewing = null;
    renderPreviewNow();
  }
  $('rev-view-close').addEventListener('click', exitRevisionView);

  function viewRevision(revision) {
    if (!current || current.mode !== 'edit') return;
    var key = articleKey(current.slug, current.language), seq = articleSeq;
    api('/api/kb/articles/' + encodeURIComponent(current.slug) + '/' + encodeURIComponent(current.language) +
        '/revisions/' + encodeURIComponent(revision)).then(function (r) {
      if (seq !== articleSeq || !current || articleKey(current.slug, current.language) !== key) return;
      viewing = r || { revision: revision, body: '' };
      if (viewing.revision == null) viewing.revision = revision;
      renderPreviewNow();
      if (window.matchMedia && window.matchMedia('(max-width: 1100px)').matches) {
        previewEl.scrollIntoView({ block: 'start', behavior: 'smooth' });
      }
    }).catch(function (err) { reportError(err, 'Could not load that revision.'); });
  }

  bodyEl.addEventListener('input', function () { if (viewing) viewing = null; schedulePreview(); updateDirty(); });
  [titleEl, tagsEl, catsEl, langEl].forEach(function (n) {
    n.addEventListener('input', function () {
      if (n === titleEl && current && current.mode === 'create' && !slugTouched) slugEl.value = slugify(titleEl.value);
      updateDirty();
    });
    n.addEventListener('change', updateDirty);
  });
  slugEl.addEventListener('input', function () {
    if (slugEl.readOnly) return;
    slugTouched = slugEl.value !== '';
    if (slugEl.getAttribute('aria-invalid') && (slugEl.value === '' || SLUG_RE.test(slugEl.value.trim()))) slugEl.removeAttribute('aria-invalid');
    updateDirty();
  });

  // ---------- save / publish / delete / rollback ----------
  function pathFor(slug, language) { return '/api/kb/articles/' + encodeURIComponent(slug) + '/' + encodeURIComponent(language); }

  function collect() {
    return {
      title: titleEl.value.trim(),
      body: bodyEl.value,
      tags: parseList(tagsEl.value),
      categories: parseList(catsEl.value)
    };
  }

  function afterSaved(a, published, verb) {
    fillForm(a);
    loadList();
    if (published) toast((verb ? verb + ' ' : '') + PUBLISHED_MSG, 'ok');
    else {
      var live = a && a.published_revision != null;
      toast(live ? 'Draft saved — the bot keeps using the published version until you publish.' : 'Draft saved.', 'ok');
    }
  }

  function save(publish) {
    if (!current || busy) return;
    var data = collect();
    if (current.mode === 'create') {
      var slug = slugEl.value.trim();
      if (!slug) { slugEl.setAttribute('aria-invalid', 'true'); slugEl.focus(); toast('Enter a slug, e.g. return-policy.', 'error'); return; }
      if (!SLUG_RE.test(slug)) {
        slugEl.setAttribute('aria-invalid', 'true'); slugEl.focus();
        toast('The slug must be kebab-case: lowercase letters a–z, digits and single dashes (e.g. return-policy).', 'error');
        return;
      }
      if (!data.title) { titleEl.focus(); toast('Enter a title.', 'error'); return; }
      data.slug = slug;
      data.language = langEl.value;
      data.publish = !!publish;
      setBusy(true);
      api('/api/kb/articles', { method: 'POST', body: data }).then(function (a) {
        afterSaved(a, publish, null);
      }).catch(function (err) {
        if (err && err.status === 409) {
          slugEl.setAttribute('aria-invalid', 'true');
          slugEl.focus();
          toast('An article “' + slug + '” already exists in ' + (LANG_LABEL[data.language] || data.language) + '. Choose another slug or edit the existing one.', 'error');
          return;
        }
        if (err && err.status === 400 && /slug/i.test(err.message || '')) slugEl.setAttribute('aria-invalid', 'true');
        reportError(err, 'Could not create the article.');
      }).then(function () { setBusy(false); });
      return;
    }

    // Editing an existing article.
    if (!data.title) { titleEl.focus(); toast('Enter a title.', 'error'); return; }
    var st = str(current.article && current.article.status);
    if (!isDirty()) {
      if (!publish) { toast('No changes to save.', 'info'); return; }
      if (st === 'draft' || st === 'unpublished_changes') { publishCurrent(); return; }
      if (st === 'published') { toast('No changes — this version is already published.', 'info'); return; }
    }
    data.publish = !!publish;
    var key = articleKey(current.slug, current.language);
    setBusy(true);
    api(pathFor(current.slug, current.language), { method: 'PUT', body: data }).then(function (a) {
      if (!current || articleKey(current.slug, current.language) !== key) { loadList(); return; }
      afterSaved(a, publish, null);
    }).catch(function (err) {
      if (err && err.status === 404) { toast('This article no longer exists (it may have been deleted by someone else).', 'error'); loadList(); return; }
      reportError(err, 'Could not save the article.');
    }).then(function () { setBusy(false); });
  }

  function publishCurrent() {
    if (!current || current.mode !== 'edit' || busy) return;
    var key = articleKey(current.slug, current.language);
    setBusy(true);
    api(pathFor(current.slug, current.language) + '/publish', { method: 'POST', body: {} }).then(function (a) {
      if (!current || articleKey(current.slug, current.language) !== key) { loadList(); return; }
      afterSaved(a, true, null);
    }).catch(function (err) { reportError(err, 'Could not publish the article.'); })
      .then(function () { setBusy(false); });
  }

  function rollback(revision) {
    if (!current || current.mode !== 'edit' || busy) return;
    if (isDirty() && !window.confirm('Rolling back replaces your unsaved changes. Continue?')) return;
    var key = articleKey(current.slug, current.language);
    setBusy(true);
    api(pathFor(current.slug, current.language) + '/rollback', { method: 'POST', body: { revision: Number(revision) } }).then(function (a) {
      if (!current || articleKey(current.slug, current.language) !== key) { loadList(); return; }
      afterSaved(a, true, 'Rolled back to revision ' + str(revision) + '.');
    }).catch(function (err) { reportError(err, 'Could not roll back.'); })
      .then(function () { setBusy(false); });
  }

  function deleteCurrent() {
    if (!current || current.mode !== 'edit' || busy) return;
    var name = titleEl.value.trim() || current.slug;
    if (!window.confirm('Delete “' + name + '” (' + (LANG_LABEL[current.language] || current.language) + ')?\nThe bot stops using it within seconds.')) return;
    var slug = current.slug, lang = current.language;
    setBusy(true);
    api(pathFor(slug, lang), { method: 'DELETE' }).then(function () {
      if (current && articleKey(current.slug, current.language) === articleKey(slug, lang)) {
        baseline = null;
        hideEditor();
      }
      toast('Article deleted.', 'ok');
      loadList();
    }).catch(function (err) {
      if (err && err.status === 404) { toast('This article was already deleted.', 'error'); loadList(); return; }
      reportError(err, 'Could not delete the article.');
    }).then(function () { setBusy(false); });
  }

  $('kb-form').addEventListener('submit', function (e) { e.preventDefault(); });
  btnSaveDraft.addEventListener('click', function () { save(false); });
  btnSavePublish.addEventListener('click', function () { save(true); });
  btnPublish.addEventListener('click', publishCurrent);
  btnDelete.addEventListener('click', deleteCurrent);
  document.addEventListener('keydown', function (e) {
    if ((e.ctrlKey || e.metaKey) && !e.altKey && (e.key === 's' || e.key === 'S') && current && !editorEl.hidden && !app.hidden) {
      e.preventDefault();
      save(false);
    }
  });

  $('back-btn').addEventListener('click', function () { layout.classList.remove('show-detail'); });

  // ---------- deep links: /editor#/en/return-policy ----------
  function setHash(slug, language) {
    if (!window.history || !history.replaceState) return;
    var h = slug ? '#/' + encodeURIComponent(language) + '/' + encodeURIComponent(slug) : '';
    if (location.hash === h || (!h && !location.hash)) return;
    try { history.replaceState(null, '', location.pathname + location.search + h); } catch (e) { /* ignore */ }
  }
  function parseHash() {
    var m = /^#\/([^\/]+)\/([^\/]+)$/.exec(location.hash || '');
    if (!m) return null;
    try { return { language: decodeURIComponent(m[1]), slug: decodeURIComponent(m[2]) }; } catch (e) { return null; }
  }

  // ---------- boot ----------
  // /editor?q=… (the dashboard's knowledge-gap links) starts with that search.
  try { searchEl.value = new URLSearchParams(location.search).get('q') || ''; } catch (e) { /* old browser */ }
  K.mountLogin({
    app: app, onSignedIn: onSignedIn, onSignedOut: onSignedOut, beforeLogout: confirmDiscard,
    onForbidden: function () { forbiddenBanner.hidden = false; }
  });
})();
