/*
 * sscard self-service kiosk: the on-screen keypad, the idle timer and printing.
 * Plain ES5-style JavaScript written for this project; no framework, no network access
 * beyond this server. Everything is driven by data attributes in the pages:
 *
 *   form[data-keypad-form]        a form with an on-screen keypad
 *   [data-keypad-target]          an input the keypad types into (data-max: longest value)
 *   button[data-key="7"]          types "7" into the active input
 *   button[data-action="delete"]  【删除】 removes the last character
 *   button[data-action="reset"]   【重置】 clears the active input
 *   body[data-idle="60"]          seconds without a touch before the session ends
 *   a[data-print]                 prints the linked PDF through a hidden frame
 */
(function () {
  'use strict';

  function each(list, fn) {
    Array.prototype.forEach.call(list, fn);
  }

  /* ---- On-screen keypad ---- */

  function initKeypad(form) {
    var targets = form.querySelectorAll('[data-keypad-target]');
    if (!targets.length) {
      return;
    }
    var status = form.querySelector('[data-keypad-status]');
    var active = targets[0];

    function describe() {
      if (!status) {
        return;
      }
      var n = active.value.length;
      var label = active.getAttribute('data-label') || '';
      status.textContent = (document.documentElement.lang === 'en')
        ? label + ': ' + n + ' character' + (n === 1 ? '' : 's') + ' entered'
        : label + '已输入 ' + n + ' 位';
    }

    function setActive(t) {
      active = t;
      each(targets, function (x) {
        x.classList.toggle('active', x === t);
        x.setAttribute('aria-current', x === t ? 'true' : 'false');
      });
      describe();
    }

    each(targets, function (t) {
      // Only the on-screen keypad types here: no system keyboard pops up.
      t.readOnly = true;
      t.setAttribute('inputmode', 'none');
      t.addEventListener('focus', function () { setActive(t); });
      t.addEventListener('click', function () { setActive(t); });
    });
    setActive(targets[0]);

    form.addEventListener('click', function (e) {
      var b = e.target.closest ? e.target.closest('button[data-key], button[data-action]') : null;
      if (!b || !form.contains(b)) {
        return;
      }
      e.preventDefault();
      var max = parseInt(active.getAttribute('data-max') || '18', 10);
      var key = b.getAttribute('data-key');
      var action = b.getAttribute('data-action');
      if (key !== null) {
        if (active.value.length < max) {
          active.value += key;
        }
        if (active.value.length >= max) {
          // Full: move on to the next empty field (old PIN → new PIN → confirmation).
          for (var i = 0; i < targets.length; i++) {
            if (targets[i] !== active && targets[i].value.length === 0) {
              setActive(targets[i]);
              break;
            }
          }
        }
      } else if (action === 'delete') {
        active.value = active.value.slice(0, -1);
      } else if (action === 'reset') {
        active.value = '';
      }
      describe();
    });

    // Tabs choosing the reader (social security card / ID card) on the home page.
    each(form.querySelectorAll('[data-reader]'), function (tab) {
      tab.addEventListener('click', function (e) {
        e.preventDefault();
        var reader = tab.getAttribute('data-reader');
        var field = form.querySelector('input[name="reader"]');
        if (field) {
          field.value = reader;
        }
        each(form.querySelectorAll('[data-reader]'), function (t) {
          var on = t === tab;
          t.classList.toggle('selected', on);
          t.setAttribute('aria-pressed', on ? 'true' : 'false');
        });
        var prompt = form.querySelector('[data-prompt-' + reader + ']');
        var label = form.querySelector('label[for="' + active.id + '"]');
        if (prompt && label) {
          label.textContent = prompt.getAttribute('data-prompt-' + reader);
        }
        active.value = '';
        active.setAttribute('data-max', reader === 'id_card' ? '18' : '9');
        describe();
      });
    });
  }

  /* ---- Idle timer ---- */

  function initIdle() {
    var body = document.body;
    var idle = parseInt(body.getAttribute('data-idle') || '0', 10);
    var form = document.getElementById('idle-form');
    if (!(idle > 0) || !form) {
      return;
    }
    var csrfField = form.querySelector('input[name="csrf_token"]');
    var csrf = csrfField ? csrfField.value : '';
    var shown = document.getElementById('idle-seconds');
    var last = Date.now();
    var lastPing = Date.now();
    var pingEvery = Math.min(15000, idle * 1000 / 3);
    var done = false;

    function ping() {
      if (!window.fetch) {
        return;
      }
      window.fetch('/kiosk/ping', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'csrf_token=' + encodeURIComponent(csrf)
      }).then(function (r) {
        if (r.status === 401 || r.status === 403) {
          window.location.href = '/kiosk/?timeout=1';
        }
      }, function () { /* the next touch tries again */ });
    }

    function activity() {
      last = Date.now();
      if (last - lastPing >= pingEvery) {
        lastPing = last;
        ping();
      }
    }

    each(['pointerdown', 'touchstart', 'keydown', 'input'], function (ev) {
      document.addEventListener(ev, activity, { passive: true, capture: true });
    });

    window.setInterval(function () {
      if (done) {
        return;
      }
      var left = idle - Math.floor((Date.now() - last) / 1000);
      if (shown) {
        shown.textContent = String(Math.max(left, 0));
      }
      body.classList.toggle('idle-warning', left <= 10);
      if (left <= 0) {
        done = true;
        form.submit();
      }
    }, 250);
  }

  /* ---- Printing ---- */

  function initPrint() {
    each(document.querySelectorAll('a[data-print]'), function (a) {
      a.addEventListener('click', function (e) {
        e.preventDefault();
        var old = document.getElementById('print-frame');
        if (old) {
          old.parentNode.removeChild(old);
        }
        var frame = document.createElement('iframe');
        frame.id = 'print-frame';
        frame.className = 'print-frame';
        frame.title = a.textContent;
        frame.src = a.href;
        frame.addEventListener('load', function () {
          try {
            frame.contentWindow.focus();
            frame.contentWindow.print();
          } catch (err) {
            window.location.href = a.href;
          }
        });
        document.body.appendChild(frame);
        var note = document.getElementById('print-status');
        if (note) {
          note.textContent = note.getAttribute('data-printing') || '';
        }
      });
    });
  }

  function init() {
    each(document.querySelectorAll('form[data-keypad-form]'), initKeypad);
    initIdle();
    initPrint();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
}());
