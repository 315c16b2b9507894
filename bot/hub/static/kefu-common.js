/* Kefu staff pages: shared sign-in, token storage, API calls and DOM building.
   Loaded before a page's own script; exposes one global, `Kefu`. Server data is only ever
   rendered through textContent / attributes (el() has no innerHTML path). */
(function (global) {
  'use strict';

  // One sign-in works on every staff page (console, editor, dashboard).
  var TOKEN_KEY = 'kefu_token';
  var USER_KEY = 'kefu_user';

  // sessionStorage can throw (private mode, blocked storage): fall back to memory.
  var store = (function () {
    try {
      sessionStorage.setItem('__kefu_test__', '1');
      sessionStorage.removeItem('__kefu_test__');
      return sessionStorage;
    } catch (e) {
      var mem = {};
      return {
        getItem: function (k) { return Object.prototype.hasOwnProperty.call(mem, k) ? mem[k] : null; },
        setItem: function (k, v) { mem[k] = String(v); },
        removeItem: function (k) { delete mem[k]; }
      };
    }
  })();

  // ---------- DOM ----------
  function str(v) { return v == null ? '' : String(v); }

  // el('a', {href: u, text: label, 'data-testid': 'x'}, [children]); strings become text nodes.
  function el(tag, attrs, children) {
    var n = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (!Object.prototype.hasOwnProperty.call(attrs, k) || attrs[k] == null) continue;
      if (k === 'class') n.className = attrs[k];
      else if (k === 'text') n.textContent = str(attrs[k]);
      else n.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) {
      if (c == null || c === false) return;
      n.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    });
    return n;
  }
  function clear(n) { while (n.firstChild) n.removeChild(n.firstChild); }
  function cssToken(v) { return str(v).toLowerCase().replace(/[^a-z0-9_-]/g, ''); }

  // ---------- time ----------
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
  function fullTime(v) { var d = toDate(v); return d ? d.toLocaleString() : ''; }

  // ---------- session ----------
  var session = { token: store.getItem(TOKEN_KEY), user: null };
  try { session.user = JSON.parse(store.getItem(USER_KEY) || 'null'); } catch (e) { session.user = null; }
  var onUnauthorized = null;
  var onForbidden = null;   // the page's way of showing a 403 (the editor's banner), if any

  function token() { return session.token; }
  function user() { return session.user; }
  function setSession(tok, usr) {
    session.token = tok; session.user = usr || null;
    store.setItem(TOKEN_KEY, tok);
    store.setItem(USER_KEY, JSON.stringify(session.user));
  }
  function clearSession() {
    session.token = null; session.user = null;
    store.removeItem(TOKEN_KEY); store.removeItem(USER_KEY);
  }

  // ---------- errors ----------
  function AuthError() { this.name = 'AuthError'; this.message = 'unauthorized'; }
  AuthError.prototype = Object.create(Error.prototype);
  AuthError.prototype.constructor = AuthError;

  // status 0 = the server could not be reached.
  function ApiError(status, data) {
    var e = data && data.error;
    this.name = 'ApiError';
    this.status = status;
    this.code = e && e.code ? String(e.code) : '';
    this.detail = e && e.message ? String(e.message) : '';
    this.message = this.detail || (status ? 'HTTP ' + status : 'network error');
  }
  ApiError.prototype = Object.create(Error.prototype);
  ApiError.prototype.constructor = ApiError;

  // A message for people: the server's own wording when it gave one.
  function errText(err, fallback) {
    fallback = fallback || 'Something went wrong.';
    if (err instanceof ApiError) {
      if (err.status === 0) return fallback + ' Cannot reach the server.';
      if (err.detail) return err.detail;
      if (err.status === 403) return 'You are not allowed to do this.';
      return fallback + ' (HTTP ' + err.status + ')';
    }
    return fallback;
  }

  // ---------- API ----------
  function request(path, opts, accept) {
    opts = opts || {};
    var headers = { 'Accept': accept };
    if (session.token) headers['Authorization'] = 'Bearer ' + session.token;
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    return fetch(path, {
      method: opts.method || 'GET',
      headers: headers,
      body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
      cache: 'no-store'
    }).then(function (res) {
      if (res.status === 401) {
        clearSession();
        if (onUnauthorized) onUnauthorized('Your session has expired. Please sign in again.');
        throw new AuthError();
      }
      return res;
    }, function () { throw new ApiError(0, null); });
  }

  function failure(res, opts) {
    return res.text().then(function (txt) {
      var data = null;
      if (txt) { try { data = JSON.parse(txt); } catch (e) { data = null; } }
      var err = new ApiError(res.status, data);
      if (res.status === 403 && onForbidden && !(opts && opts.quiet403)) onForbidden(err);
      throw err;
    });
  }

  /* JSON in, JSON out; rejects with AuthError (after sending the page back to its login) or ApiError.
     opts: method, body, quiet403 (handle a 403 here, without the page's onForbidden). */
  function api(path, opts) {
    return request(path, opts, 'application/json').then(function (res) {
      if (!res.ok) return failure(res, opts);
      if (res.status === 204) return null;
      return res.text().then(function (txt) {
        if (!txt) return null;
        try { return JSON.parse(txt); } catch (e) { throw new ApiError(res.status, null); }
      });
    });
  }

  // A file behind the bearer token (a plain link cannot send the header): {blob, filename}.
  function download(path, fallbackName) {
    return request(path, {}, '*/*').then(function (res) {
      if (!res.ok) return failure(res, null);
      var cd = res.headers.get('Content-Disposition') || '';
      var m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(cd);
      var name = m ? decodeURIComponent(m[1]) : fallbackName;
      return res.blob().then(function (blob) { return { blob: blob, filename: name }; });
    });
  }

  function saveBlob(blob, filename) {
    var url = URL.createObjectURL(blob);
    var a = el('a', { href: url, download: filename || 'download' });
    a.style.display = 'none';
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(url); a.remove(); }, 1000);
  }

  // ---------- sign-in ----------
  function login(username, password) {
    return fetch('/api/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
      body: JSON.stringify({ username: username, password: password })
    }).then(function (res) {
      if (res.status === 401) throw new Error('Wrong username or password');
      if (!res.ok) throw new Error('Sign-in failed (HTTP ' + res.status + ')');
      return res.json();
    }, function () {
      throw new Error('Cannot reach the server. Please try again.');
    }).then(function (data) {
      if (!data || !data.token) throw new Error('Sign-in failed: no token returned');
      setSession(data.token, data.user || { username: username, role: '' });
      return session.user;
    });
  }

  /* Wires a page's login view and app container (the markup of console.html):
       ids login-view, login-form, login-username, login-password, login-submit, login-error,
       logout-btn, user-name, user-role, and opts.app (the element shown when signed in).
     onSignedIn(user) runs after sign-in and on load with a stored token; onSignedOut(expired) on
     logout, expired = true when a 401 ended the session. Optional: beforeLogout() returns false to
     stay signed in (unsaved work); onForbidden(apiError) shows any 403 that api() was not told to
     keep quiet. Returns {showLogin(message), logout(message), renderUser()}. */
  function mountLogin(opts) {
    function $(id) { return document.getElementById(id); }
    var view = $('login-view'), form = $('login-form'), errorEl = $('login-error');
    var userEl = $('login-username'), passEl = $('login-password'), submit = $('login-submit');
    var app = opts.app;

    function showLogin(message) {
      app.hidden = true;
      view.hidden = false;
      errorEl.hidden = !message;
      errorEl.textContent = message || '';
      passEl.value = '';
      (userEl.value ? passEl : userEl).focus();
    }
    function renderUser() {
      var u = session.user || {};
      $('user-name').textContent = str(u.username);
      var role = str(u.role);
      var roleEl = $('user-role');
      roleEl.textContent = role;
      roleEl.hidden = !role;
      roleEl.className = 'badge role role-' + cssToken(role);
    }
    function showApp() {
      view.hidden = true;
      app.hidden = false;
      renderUser();
      opts.onSignedIn(session.user || {});
    }
    function logout(message) {
      clearSession();
      if (opts.onSignedOut) opts.onSignedOut(false);
      showLogin(typeof message === 'string' ? message : '');
    }

    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var username = userEl.value.trim(), password = passEl.value;
      if (!username || !password) {
        errorEl.hidden = false;
        errorEl.textContent = 'Enter your username and password.';
        return;
      }
      submit.disabled = true;
      errorEl.hidden = true;
      login(username, password).then(function () {
        passEl.value = '';
        showApp();
      }, function (err) {
        errorEl.hidden = false;
        errorEl.textContent = err && err.message ? err.message : 'Sign-in failed.';
        passEl.value = '';
        passEl.focus();
      }).then(function () { submit.disabled = false; });
    });
    $('logout-btn').addEventListener('click', function () {
      if (opts.beforeLogout && opts.beforeLogout() === false) return;
      logout();
    });
    onUnauthorized = function (message) {
      if (opts.onSignedOut) opts.onSignedOut(true);
      showLogin(message);
    };
    onForbidden = opts.onForbidden || null;

    if (session.token) showApp(); else showLogin();
    return { showLogin: showLogin, logout: logout, renderUser: renderUser };
  }

  global.Kefu = {
    el: el, clear: clear, str: str, cssToken: cssToken,
    toDate: toDate, relTime: relTime, fullTime: fullTime, store: store,
    token: token, user: user, setSession: setSession, clearSession: clearSession,
    AuthError: AuthError, ApiError: ApiError, errText: errText,
    api: api, download: download, saveBlob: saveBlob,
    login: login, mountLogin: mountLogin
  };
})(window);
