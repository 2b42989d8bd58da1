// flameprof interactive SVG: zoom, search, tooltip, URL state, keyboard, label fitting.
// Reads the FLAMEPROF table written just before this code. Each graph is a nested svg element
// (class "view") whose viewBox spans the profile in integer ticks, so zooming is a
// viewBox change. State is mirrored on the root element (data-ready, data-errors,
// data-zoom-*, data-matched-*) for tests and tools.
(function () {
  'use strict';
  var NS = 'http://www.w3.org/2000/svg';
  var D = FLAMEPROF;
  var root = document.documentElement;
  var errors = [];
  function fail(e) {
    errors.push(String((e && (e.message || e.reason)) || e));
    root.setAttribute('data-errors', errors.join(' | '));
  }
  window.addEventListener('error', function (e) { fail(e.error || e.message); });
  root.setAttribute('data-errors', '');

  var fitWidth = +root.getAttribute('data-fit');
  var row = +root.getAttribute('data-row');
  var font = parseFloat(root.getAttribute('font-size')) || 12;
  var cw = font * D.cw;
  var details = document.getElementById('details');
  var resetBtn = document.getElementById('reset');
  var views = [];
  var byId = {};
  var search = { re: null, text: '', cs: false };
  var tip = null;

  // ---------- numbers ----------
  function pct(a, b) { return b > 0 ? (100 * a / b).toFixed(2) + '%' : '0%'; }
  function dur(t) {
    // A sampled profile without an interval: its times are sample counts.
    if (D.counts) return (Math.round(t * 10) / 10) + ' samples';
    if (t >= 1 || t === 0) return t.toFixed(3) + ' s';
    if (t >= 1e-3) return (t * 1e3).toFixed(3) + ' ms';
    return (t * 1e6).toFixed(3) + ' \u00b5s';
  }
  function fitText(s, n) { return s.length <= n ? s : s.slice(0, Math.max(0, n - 2)) + '..'; }
  // `s` cut at spaces into lines of at most `n` characters, as the footer is written.
  function wrap(s, n) {
    var lines = [], rest = s.trim();
    while (rest) {
      if (rest.length <= n) { lines.push(rest); break; }
      var cut = rest[n] === ' ' ? n : rest.lastIndexOf(' ', n - 1);
      if (cut <= 0) cut = rest.indexOf(' ');
      if (cut < 0) cut = rest.length;
      lines.push(rest.slice(0, cut).replace(/ +$/, ''));
      rest = rest.slice(cut).replace(/^ +/, '');
    }
    return lines;
  }

  // ---------- views ----------
  function View(el) {
    var id = el.id, data = D.views[id];
    this.id = id;
    this.el = el;
    this.labels = document.getElementById(id + '-l');
    this.matched = document.getElementById(id + '-m');
    this.rects = el.getElementsByTagName('rect');
    this.f = data.f;
    // A differential graph (flameprof diff) adds both sides' numbers per frame.
    this.d = data.d || null;
    this.secPerTick = data.total / D.ticks;
    this.height = +el.getAttribute('height');
    var n = this.rects.length;
    this.x = new Float64Array(n);
    this.w = new Float64Array(n);
    this.parent = new Int32Array(n);
    var stack = [];
    for (var i = 0; i < n; i++) {
      var r = this.rects[i];
      r.__i = i;
      this.x[i] = +r.getAttribute('x');
      this.w[i] = +r.getAttribute('width');
      var depth = this.f[i][1];
      stack.length = depth - 1;
      this.parent[i] = depth > 1 && stack[depth - 2] !== undefined ? stack[depth - 2] : -1;
      stack[depth - 1] = i;
    }
    this.zoomed = -1;
    this.dimmed = [];
  }

  View.prototype.index = function (rect) {
    return rect.__i;
  };

  View.prototype.range = function () {
    var z = this.zoomed;
    return z < 0 ? [0, D.ticks] : [this.x[z], this.w[z]];
  };

  View.prototype.zoom = function (i) {
    if (!(i >= 0 && i < this.rects.length)) i = -1;
    for (var k = 0; k < this.dimmed.length; k++) this.rects[this.dimmed[k]].classList.remove('d');
    this.dimmed = [];
    this.zoomed = i;
    var r = this.range();
    this.el.setAttribute('viewBox', r[0] + ' 0 ' + r[1] + ' ' + this.height);
    for (var p = i < 0 ? -1 : this.parent[i]; p >= 0; p = this.parent[p]) {
      this.rects[p].classList.add('d');
      this.dimmed.push(p);
    }
    root.setAttribute('data-zoom-' + this.id, String(i));
    this.fit();
    this.count();
  };

  // Re-fits every label for the current zoom and width: pure arithmetic with a
  // monospace font, one DOM write per visible label.
  View.prototype.fit = function () {
    var r = this.range(), zx = r[0], zw = r[1], end = zx + zw;
    var px = this.el.getBoundingClientRect().width / zw;
    var frag = document.createDocumentFragment();
    for (var i = 0; i < this.rects.length; i++) {
      var a = Math.max(this.x[i], zx), b = Math.min(this.x[i] + this.w[i], end);
      if (b <= a) continue;
      var chars = Math.floor(((b - a) * px - 2 * D.pad) / cw);
      if (chars < 3) continue;
      var t = document.createElementNS(NS, 'text');
      t.setAttribute('x', (D.left + D.span * (a - zx) / zw).toFixed(3) + '%');
      t.setAttribute('y', this.rects[i].getAttribute('y'));
      t.textContent = fitText(D.fn[this.f[i][0]][1], chars);
      frag.appendChild(t);
    }
    this.labels.textContent = '';
    this.labels.appendChild(frag);
  };

  // Highlights matches and writes Matched %: a match inside a match counts once
  // (frames are in pre-order, so offsets never decrease).
  View.prototype.search = function (hit) {
    var sum = 0, end = -1;
    for (var i = 0; i < this.rects.length; i++) {
      var m = hit ? hit[this.f[i][0]] : false;
      var rect = this.rects[i];
      if (m !== rect.__m) { rect.classList.toggle('m', m); rect.__m = m; }
      if (m && this.x[i] >= end) {
        end = this.x[i] + this.w[i];
        sum += this.w[i];
      }
    }
    this.sum = sum;
    this.count();
  };

  View.prototype.count = function () {
    if (!search.re) {
      this.matched.textContent = ' ';
      root.removeAttribute('data-matched-' + this.id);
      return;
    }
    var whole = (100 * this.sum / D.ticks).toFixed(2);
    var s = 'Matched: ' + whole + '%';
    if (this.zoomed >= 0) {
      // Recount inside the zoomed range.
      var r = this.range(), zx = r[0], zend = r[0] + r[1], end = -1, zsum = 0;
      for (var i = 0; i < this.rects.length; i++) {
        if (this.rects[i].__m && this.x[i] >= end) {
          end = this.x[i] + this.w[i];
          zsum += Math.max(0, Math.min(end, zend) - Math.max(this.x[i], zx));
        }
      }
      s += ' (' + (100 * zsum / r[1]).toFixed(2) + '% of zoomed)';
    }
    this.matched.textContent = s;
    root.setAttribute('data-matched-' + this.id, whole);
  };

  View.prototype.describe = function (i) {
    var d = this.f[i], fn = D.fn[d[0]], s = this.secPerTick;
    var p = this.parent[i], w = this.w[i];
    // The label (function first), then pstats' full name; a builtin's are alike.
    var lines = fn[4] === 'b' ? [fn[0]] : [fn[1], fn[0]];
    if (this.d) return this.describeDiff(i, lines);
    var share = pct(w, D.ticks) + ' of total, ' + pct(w, p < 0 ? D.ticks : this.w[p]) + ' of parent';
    if (this.zoomed >= 0) share += ', ' + pct(Math.min(w, this.w[this.zoomed]), this.w[this.zoomed]) + ' of zoomed';
    lines.push(share);
    // d[2] is the frame's own time; children too narrow to draw (d[4] ticks in d[5]
    // frames) are not, so they are shown apart.
    var cut = d.length > 4 ? d[4] : 0, self = 'total ' + dur(w * s) + ', self ' + dur(d[2] * s);
    if (cut > 0) self += ' + ' + dur(cut * s) + ' in ' + d[5] + (d[5] === 1 ? ' frame' : ' frames') + ' too small to draw';
    lines.push(self);
    // A negative count is one the file does not know (sampling profilers write -1).
    if (fn[2] < 0) lines.push('calls not recorded in the file');
    // Sampled: nc counts the samples with the function on the stack, cc on top.
    else if (D.unit === 'samples') lines.push('samples here ' + d[3] + '; function on the stack in ' + fn[2] + ', on top in ' + fn[3]);
    else lines.push('calls here ' + d[3] + '; function calls ' + (fn[2] === fn[3] ? fn[2] : fn[2] + '/' + fn[3]));
    var cl = this.rects[i].classList;
    if (cl.contains('e')) {
      lines.push((cl.contains('g') ? 'rough guess' : 'close estimate') + ' (split between callers): the data allows ' + dur(d[6] * s) + ' to ' + dur(d[7] * s));
    }
    return lines;
  };

  // A frame of a differential graph: its width is no side's time, so the lines give
  // each side's: [total, self, calls] per side, 0 where the stack is absent.
  View.prototype.describeDiff = function (i, lines) {
    var b = this.d[i][0], a = this.d[i][1];
    var bt = b ? b[0] : 0, at = a ? a[0] : 0, ch = at - bt;
    function side(x, k) { return x ? dur(x[k]) : '-'; }
    function signed(t) { return (t > 0 ? '+' : t < 0 ? '-' : '') + dur(Math.abs(t)); }
    var rel = !b ? 'new' : !a ? 'vanished' : bt > 0 ? (ch > 0 ? '+' : '') + (100 * ch / bt).toFixed(1) + '%' : '0%';
    lines.push('before ' + side(b, 0) + ' \u2192 after ' + side(a, 0) + ': ' + signed(ch) + ' (' + rel + ')');
    lines.push('share of total ' + pct(bt, D.diff.before) + ' \u2192 ' + pct(at, D.diff.after) + '; self ' + side(b, 1) + ' \u2192 ' + side(a, 1));
    function calls(x) { return x ? String(Math.round(x[2])) : '-'; }
    lines.push((D.unit === 'samples' ? 'samples here ' : 'calls here ') + calls(b) + ' \u2192 ' + calls(a));
    if (this.rects[i].classList.contains('e')) lines.push('estimated (split between callers) on either side');
    return lines;
  };

  // ---------- tooltip and details ----------
  var widthCache = 0;
  function rootWidth() {
    return widthCache || (widthCache = root.getBoundingClientRect().width);
  }

  function makeTip() {
    var g = document.createElementNS(NS, 'g');
    g.id = 'tip';
    g.setAttribute('visibility', 'hidden');
    g.appendChild(document.createElementNS(NS, 'rect'));
    g.appendChild(document.createElementNS(NS, 'text'));
    root.appendChild(g);
    return g;
  }

  function show(view, i, evt) {
    var lines = view.describe(i);
    var room = Math.floor((rootWidth() - 20) / cw);
    details.textContent = fitText(lines.join(' \u00b7 '), Math.max(room, 10));
    if (!evt) return;
    tip = tip || makeTip();
    var text = tip.lastChild, box = tip.firstChild, longest = 0;
    text.textContent = '';
    for (var k = 0; k < lines.length; k++) {
      var ts = document.createElementNS(NS, 'tspan');
      ts.setAttribute('x', 6);
      ts.setAttribute('dy', k ? font + 3 : font + 2);
      ts.textContent = lines[k];
      text.appendChild(ts);
      longest = Math.max(longest, lines[k].length);
    }
    var w = longest * cw + 12, h = lines.length * (font + 3) + 8;
    box.setAttribute('width', w);
    box.setAttribute('height', h);
    box.setAttribute('rx', 3);
    var pw = rootWidth();
    var scale = fitWidth && root.getAttribute('viewBox') ? fitWidth / pw : 1;
    var pt = [evt.clientX * scale, evt.clientY * scale + (window.scrollY || 0)];
    var x = pt[0] + 12, y = pt[1] + 14;
    if (x + w > pw * scale) x = Math.max(0, pt[0] - w - 12);
    var ph = +root.getAttribute('height');
    if (y + h > ph) y = Math.max(0, pt[1] - h - 8);
    tip.setAttribute('transform', 'translate(' + x + ',' + y + ')');
    tip.setAttribute('visibility', 'visible');
  }

  // With nothing under the pointer, the details line describes the zoomed frame.
  function hide() {
    if (tip) tip.setAttribute('visibility', 'hidden');
    details.textContent = ' ';
    for (var k = views.length - 1; k >= 0; k--) {
      if (views[k].zoomed >= 0) { show(views[k], views[k].zoomed, null); break; }
    }
  }

  // ---------- page: footer, scrolling ----------
  // The footer is written wrapped for the fitted width; a fluid picture in another
  // width re-wraps it (a narrower window would clip it at the right edge) and moves
  // the legend and the picture's bottom with it. A fixed-width picture scales instead.
  var foot = document.getElementById('foot'), footText = null;
  function wrapFoot() {
    if (!foot || root.getAttribute('viewBox')) return;
    var lines = foot.getElementsByTagName('text');
    if (!lines.length) return;
    var top = +lines[0].getAttribute('y'), step = font + 3;
    if (footText === null) {
      // Paragraphs: a line of class `more` goes on the one before it.
      footText = [];
      for (var k = 0; k < lines.length; k++) {
        var t = lines[k].textContent;
        if (k && lines[k].classList.contains('more')) footText[footText.length - 1] += ' ' + t;
        else footText.push(t);
      }
    }
    var chars = Math.max(20, Math.floor((rootWidth() - 20) / cw)), want = [];
    footText.forEach(function (p) {
      wrap(p, chars).forEach(function (l, n) { want.push([n > 0, l]); });
    });
    var same = want.length === lines.length && want.every(function (l, k) { return lines[k].textContent === l[1]; });
    if (same) return;
    foot.textContent = '';
    want.forEach(function (l, k) {
      var t = document.createElementNS(NS, 'text');
      t.setAttribute('class', l[0] ? 'foot more' : 'foot');
      t.setAttribute('x', 10);
      t.setAttribute('y', top + k * step);
      t.textContent = l[1];
      foot.appendChild(t);
    });
    var last = top + (want.length - 1) * step;
    var legend = document.querySelector('.legend');
    if (legend) legend.setAttribute('transform', 'translate(10,' + (last + 10) + ')');
    root.setAttribute('height', String(last + 30));
  }

  // Scrolls so that the graph `id` starts at the top of the window (its caption just
  // in view; the first graph shows the header too).
  function jumpTo(id) {
    var v = byId[id];
    if (!v) return;
    var y = v === views[0] ? 0 : v.el.getBoundingClientRect().top + (window.scrollY || 0) - 30;
    window.scrollTo(0, Math.max(0, y));
  }

  // Scrolls a zoomed frame restored from the URL into view when it is off the screen.
  function reveal(v) {
    var r = v.rects[v.zoomed].getBoundingClientRect();
    if (r.top >= 0 && r.bottom <= window.innerHeight) return;
    window.scrollTo(0, Math.max(0, r.top + (window.scrollY || 0) - window.innerHeight / 3));
  }

  // ---------- state in the URL ----------
  function readState() {
    var q = (location.search.slice(1) + '&' + location.hash.slice(1)).split('&');
    var st = {};
    for (var k = 0; k < q.length; k++) {
      if (!q[k]) continue;
      var eq = q[k].indexOf('=');
      var key = eq < 0 ? q[k] : q[k].slice(0, eq);
      try { st[key] = eq < 0 ? '' : decodeURIComponent(q[k].slice(eq + 1).replace(/\+/g, ' ')); } catch (e) { st[key] = ''; }
    }
    return st;
  }

  function writeState() {
    var parts = [];
    for (var k = 0; k < views.length; k++) {
      if (views[k].zoomed >= 0) parts.push(views[k].id + '=' + views[k].zoomed);
    }
    if (search.re) parts.push('s=' + encodeURIComponent(search.text));
    if (search.cs) parts.push('cs=1');
    var hash = parts.length ? '#' + parts.join('&') : '';
    try {
      history.replaceState(null, '', location.pathname + location.search.replace(/^\?.*$/, '') + hash);
    } catch (e) {
      try { location.hash = hash; } catch (e2) { /* nowhere to keep it */ }
    }
  }

  // ---------- actions ----------
  function updateReset() {
    var any = views.some(function (v) { return v.zoomed >= 0; });
    resetBtn.classList.toggle('off', !any);
    resetBtn.setAttribute('tabindex', any ? '0' : '-1');
  }

  function zoom(view, i) {
    view.zoom(i);
    hide();
    updateReset();
    writeState();
  }

  function resetZoom() {
    views.forEach(function (v) { if (v.zoomed >= 0) v.zoom(-1); });
    updateReset();
    hide();
    writeState();
  }

  // ---------- search ----------
  // A search may come from a shared link, so a pattern must not be able to hang the
  // page: backtracking makes `(a+)+$` take exponential time on one short label, which no
  // time check between labels can interrupt. A pattern runs as a regular expression only
  // when it cannot backtrack without bound: no backreference, no repeated group that
  // holds a quantifier or an alternation, at most two repeating quantifiers (each one
  // more multiplies the worst case by the label's length). Anything else is searched
  // as plain text. Returns why a pattern is unsafe, or '' when it is safe.
  function unsafePattern(p) {
    var repeats = 0;
    // Per open group: whether it holds a quantifier or an alternation.
    var groups = [];
    var inClass = false;
    var last = '';  // what the next quantifier applies to: 'group', 'atom' or ''
    var lastGroupBusy = false;
    for (var i = 0; i < p.length; i++) {
      var c = p[i];
      if (c === '\\') {
        var n = p[i + 1] || '';
        if (!inClass && (/[1-9]/.test(n) || n === 'k')) return 'a backreference';
        i++;
        last = inClass ? last : 'atom';
        continue;
      }
      if (inClass) {
        if (c === ']') { inClass = false; last = 'atom'; }
        continue;
      }
      var quant = '';
      if (c === '*' || c === '+') quant = 'many';
      else if (c === '?') quant = last ? 'once' : '';
      else if (c === '{') {
        var m = /^\{(\d*)(,?)(\d*)\}/.exec(p.slice(i));
        if (m) {
          quant = m[2] && m[3] !== '1' || (!m[2] && m[1] !== '0' && m[1] !== '1') ? 'many' : 'once';
          i += m[0].length - 1;
        } else {
          last = 'atom';
          continue;
        }
      }
      if (quant) {
        if (!last) continue;  // a lazy `?` after a quantifier, or a group's `(?`
        if (quant === 'many') {
          if (last === 'group' && lastGroupBusy) return 'a repeated group holding a quantifier or |';
          if (++repeats > 2) return 'more than two repeating quantifiers';
        }
        if (groups.length) groups[groups.length - 1] = true;
        last = '';
        continue;
      }
      if (c === '[') { inClass = true; continue; }
      if (c === '(') { groups.push(false); last = ''; continue; }
      if (c === ')') {
        lastGroupBusy = groups.length ? groups.pop() : false;
        if (lastGroupBusy && groups.length) groups[groups.length - 1] = true;
        last = 'group';
        continue;
      }
      if (c === '|') {
        if (groups.length) groups[groups.length - 1] = true;
        last = '';
        continue;
      }
      last = (c === '^' || c === '$') ? '' : 'atom';
    }
    return '';
  }

  // Searching stops being a regular expression after this long (a safe pattern can
  // still be slow over many long labels) and starts again as plain text.
  var SEARCH_BUDGET_MS = 500;

  function setSearch(text, cs) {
    search.text = text || '';
    search.cs = !!cs;
    search.re = null;
    var hit = null;
    var note = '';
    var flags = search.cs ? '' : 'i';
    var literal = new RegExp(search.text.replace(/[\\^$.*+?()[\]{}|\/-]/g, '\\$&'), flags);
    if (search.text) {
      var why = unsafePattern(search.text);
      if (why) {
        search.re = literal;
        note = 'Searched as plain text: as a regular expression, ' + why + ' could take too long';
      } else {
        try {
          search.re = new RegExp(search.text, flags);
        } catch (e) {
          details.textContent = 'Invalid regular expression: ' + e.message;
        }
      }
    }
    if (search.re) {
      var start = Date.now();
      hit = [];
      for (var k = 0; k < D.fn.length; k++) {
        var fn = D.fn[k];
        hit.push(search.re.test(fn[0]) || search.re.test(fn[1]));
        if ((k & 63) === 63 && search.re !== literal && Date.now() - start > SEARCH_BUDGET_MS) {
          search.re = literal;
          note = 'Searched as plain text: the regular expression was too slow';
          k = -1;
          hit = [];
        }
      }
    }
    if (note) details.textContent = note;
    document.getElementById('search').textContent = search.re ? 'Clear' : 'Search';
    document.getElementById('case').setAttribute('aria-pressed', String(search.cs));
    root.setAttribute('data-search', search.re ? search.text : '');
    if (search.re === literal && search.text) root.setAttribute('data-search-literal', '1');
    else root.removeAttribute('data-search-literal');
    views.forEach(function (v) { v.search(hit); });
    writeState();
  }

  function askSearch() {
    if (search.re) { setSearch('', search.cs); return; }
    var t = window.prompt('Search for (regular expression' + (search.cs ? ', case sensitive' : '') + '):', search.text);
    if (t !== null) setSearch(t, search.cs);
  }

  function target(evt) {
    var r = evt.target;
    if (!r || r.tagName !== 'rect') return null;
    var v = r.ownerSVGElement && byId[r.ownerSVGElement.id];
    return v ? [v, v.index(r)] : null;
  }

  function guard(fn) {
    return function (evt) {
      try { fn(evt); } catch (e) { fail(e); }
    };
  }

  function init() {
    var els = document.querySelectorAll('svg.view');
    for (var k = 0; k < els.length; k++) {
      var v = new View(els[k]);
      views.push(v);
      byId[v.id] = v;
      v.el.addEventListener('click', guard(function (evt) {
        var t = target(evt);
        if (t) zoom(t[0], t[1]);
      }));
      v.el.addEventListener('mousemove', guard(function (evt) {
        var t = target(evt);
        if (t) show(t[0], t[1], evt); else hide();
      }));
      v.el.addEventListener('mouseleave', guard(hide));
      v.el.addEventListener('focusin', guard(function (evt) {
        var t = target(evt);
        if (t) show(t[0], t[1], null);
      }));
    }
    resetBtn.addEventListener('click', guard(resetZoom));
    var jumps = document.querySelectorAll('[data-to]');
    for (var j = 0; j < jumps.length; j++) {
      jumps[j].addEventListener('click', guard(function (evt) {
        jumpTo(evt.currentTarget.getAttribute('data-to'));
      }));
    }
    document.getElementById('search').addEventListener('click', guard(askSearch));
    document.getElementById('case').addEventListener('click', guard(function () {
      setSearch(search.text, !search.cs);
    }));
    document.addEventListener('keydown', guard(function (evt) {
      var k = evt.key;
      if ((k === 'f' && (evt.ctrlKey || evt.metaKey)) || k === 'F3' || (k === '/' && !evt.ctrlKey)) {
        evt.preventDefault();
        askSearch();
      } else if (k === 'Escape') {
        resetZoom();
      } else if (k === 'Enter' || k === ' ') {
        var el = document.activeElement;
        if (el && el.tagName === 'rect') {
          var t = target({ target: el });
          if (t) { evt.preventDefault(); zoom(t[0], t[1]); }
        } else if (el && el.classList && el.classList.contains('btn')) {
          evt.preventDefault();
          el.dispatchEvent(new MouseEvent('click'));
        }
      }
    }));
    var timer = 0;
    window.addEventListener('resize', function () {
      clearTimeout(timer);
      timer = setTimeout(guard(function () {
        widthCache = 0;
        views.forEach(function (v) { v.fit(); });
        wrapFoot();
      }), 100);
    });

    // Restore the state from the URL; re-fit labels only when something changed.
    // Labels were fitted for data-fit pixels. A fixed-width picture keeps them; a fluid
    // one re-fits at load only when the window is narrower (labels would overflow) or
    // much wider. Reading innerWidth lays the picture out now rather than just after
    // load; the re-fit itself is arithmetic.
    var st = readState();
    var ratio = root.getAttribute('viewBox') ? 1 : window.innerWidth / fitWidth;
    var refit = ratio < 0.995 || ratio > 1.25;
    views.forEach(function (v) {
      var z = st[v.id] !== undefined ? parseInt(st[v.id], 10) : -1;
      if (z >= 0) v.zoom(z); else if (refit) v.fit();
      root.setAttribute('data-zoom-' + v.id, String(v.zoomed));
    });
    if (refit) wrapFoot();
    views.some(function (v) { return v.zoomed >= 0 && (reveal(v), true); });
    updateReset();
    hide();
    if (st.s) setSearch(st.s, st.cs === '1');
  }

  try {
    init();
  } catch (e) {
    fail(e);
  }
  root.setAttribute('data-ready', '1');
  root.setAttribute('data-ready-ms', String(Math.round(performance.now())));
})();
