// keydesk progressive enhancement. Everything works without this file; with it, dialogs
// open in place, the key can be copied with one click, and the browser's time zone is offered.
(function () {
  "use strict";

  function upgradeDialog(dlg) {
    if (!dlg || typeof dlg.showModal !== "function") return;
    // Removing the attribute (rather than calling close()) fires no close event, so the
    // secret dialog's remove-on-close handler doesn't run during the upgrade.
    dlg.removeAttribute("open");
    dlg.showModal();
  }

  // Expiration: show the custom date-time input only when "Custom" is chosen.
  function syncExpiration(sel) {
    var box = sel.parentElement.querySelector("[data-custom-expiration]");
    if (box) box.hidden = sel.value !== "custom";
  }
  function enhance(root) { root.querySelectorAll("select[data-expiration]").forEach(syncExpiration); }
  document.addEventListener("change", function (ev) {
    if (ev.target.matches("select[data-expiration]")) syncExpiration(ev.target);
  });

  // Links with data-open-dialog open the dialog instead of navigating to the no-JS page. A
  // dialog with data-load gets its form from that page the first time (one copy of the form,
  // not a hidden second one in every keys page); if that fails, the link is followed.
  document.querySelectorAll("[data-open-dialog]").forEach(function (el) {
    el.addEventListener("click", function (ev) {
      var dlg = document.getElementById(el.getAttribute("data-open-dialog"));
      if (!dlg || typeof dlg.showModal !== "function") return;
      ev.preventDefault();
      var src = dlg.getAttribute("data-load");
      var ready = !src ? Promise.resolve() : fetch(src, { credentials: "same-origin", redirect: "error" })
        .then(function (res) { if (!res.ok) throw new Error(res.status); return res.text(); })
        .then(function (html) {
          var form = new DOMParser().parseFromString(html, "text/html").querySelector("main form[method=post]");
          if (!form) throw new Error("no form");
          form.className = "stack";
          var cancel = form.querySelector(".actions a");
          if (cancel) cancel.setAttribute("data-close-dialog", "");
          dlg.removeAttribute("data-load");
          dlg.appendChild(document.adoptNode(form));
          enhance(form);
        });
      ready.then(function () {
        dlg.keydeskOpener = el;
        dlg.showModal();
        var first = dlg.querySelector("input:not([type=hidden]), select, textarea");
        if (first) first.focus();
      }, function () { window.location.href = el.href; });
    });
  });

  // Row actions open a shared dialog, filled from the row's data attributes (as text, never
  // as HTML); the form posts to the link's own address. Without JS the same links lead to
  // plain confirmation pages.
  document.querySelectorAll("a[data-dialog]").forEach(function (link) {
    link.addEventListener("click", function (ev) {
      var dlg = document.getElementById(link.getAttribute("data-dialog"));
      var row = link.closest("[data-key-id]");
      if (!dlg || !row || typeof dlg.showModal !== "function") return;
      ev.preventDefault();
      // The name and display come from the row's own cells; data-recent only when used lately.
      var cells = { name: row.querySelector(".key-name a"), display: row.querySelector(".prefix") };
      function data(name) { return cells[name] ? cells[name].textContent : row.getAttribute("data-" + name) || ""; }
      dlg.querySelector("form").action = link.getAttribute("href");
      dlg.querySelectorAll("[data-fill]").forEach(function (el) { el.textContent = data(el.getAttribute("data-fill")); });
      dlg.querySelectorAll("[data-fill-value]").forEach(function (el) { el.value = data(el.getAttribute("data-fill-value")); });
      dlg.querySelectorAll("[data-fill-recent]").forEach(function (el) { el.hidden = data("recent") === ""; });
      var menu = link.closest("details");
      if (menu) menu.open = false;
      // Focus goes back to the row's Actions button when the dialog closes (the link itself
      // sits in the menu that just closed).
      dlg.keydeskOpener = (menu && menu.querySelector("summary")) || link;
      dlg.showModal();
      var field = dlg.querySelector("input[type=text]");
      if (field) { field.focus(); field.select(); }
    });
  });

  // A dialog that closes (Cancel, Escape, a submit that stays on the page) gives focus back to
  // whatever opened it.
  document.querySelectorAll("dialog").forEach(function (dlg) {
    dlg.addEventListener("close", function () {
      var opener = dlg.keydeskOpener;
      dlg.keydeskOpener = null;
      if (opener && document.body.contains(opener)) opener.focus();
    });
  });

  // Cancel links close their dialog instead of reloading the page.
  document.addEventListener("click", function (ev) {
    var el = ev.target.closest("[data-close-dialog]");
    var dlg = el && el.closest("dialog");
    if (!dlg || !dlg.open) return;
    ev.preventDefault();
    dlg.close();
  });

  // Dialogs rendered open by the server (secret, form with errors) become modal.
  document.querySelectorAll("dialog[data-upgrade-modal]").forEach(function (dlg) {
    upgradeDialog(dlg);
    var field = dlg.querySelector("[aria-invalid=true]") || dlg.querySelector("[autofocus]");
    if (field) { field.focus(); if (field.select) field.select(); }
  });

  // The secret is hard to lose: Done or Escape before it was copied asks first. It leaves the
  // page as soon as its dialog closes; focus lands on the new key's row, with a notice.
  document.querySelectorAll("dialog[data-remove-on-close]").forEach(function (dlg) {
    var LOSE = "Did you copy the key? It won't be shown again.";
    var value = dlg.querySelector("#secret-value");
    if (value) value.addEventListener("copy", function () { value.setAttribute("data-copied", "true"); });
    function copied() { return !value || value.getAttribute("data-copied") === "true"; }
    function leave(ev) {
      ev.preventDefault();
      if (copied() || window.confirm(LOSE)) dlg.close();
    }
    // Escape's keydown is prevented, so it makes no close request of its own.
    dlg.addEventListener("keydown", function (ev) { if (ev.key === "Escape") leave(ev); });
    dlg.addEventListener("cancel", function (ev) { if (!copied() && !window.confirm(LOSE)) ev.preventDefault(); });
    var done = dlg.querySelector("[data-secret-done]");
    if (done) done.addEventListener("click", leave);
    dlg.addEventListener("close", function () {
      var id = dlg.getAttribute("data-new-key-id");
      dlg.remove();
      if (window.history && history.replaceState) history.replaceState(null, "", "/settings/api-keys");
      var notice = document.getElementById("created-notice");
      if (notice) notice.hidden = false;
      var row = id && document.querySelector('tr[data-key-id="' + id + '"] .key-name a');
      var create = document.getElementById("create-button");
      if (row) row.focus(); else if (create) create.focus();
    });
  });

  // Copy button (shown only with JS): Clipboard API, falling back to selecting the text.
  document.querySelectorAll("[data-copy]").forEach(function (btn) {
    btn.hidden = false;
    btn.addEventListener("click", function () {
      var field = document.getElementById(btn.getAttribute("data-copy"));
      var status = document.getElementById(btn.getAttribute("data-copy-status"));
      if (!field) return;
      function say(msg) { if (status) status.textContent = msg; }
      function fallback() {
        field.focus();
        field.select();
        say("Selected — press Ctrl+C (⌘C) to copy");
      }
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(field.value).then(function () {
          field.setAttribute("data-copied", "true");
          say("Copied");
          btn.textContent = "Copied";
        }, fallback);
      } else {
        fallback();
      }
    });
  });

  enhance(document);


  // Offer the browser's time zone when it differs from the account's.
  var offer = document.querySelector("[data-tz-offer]");
  if (offer && window.Intl && Intl.DateTimeFormat) {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && zone !== offer.getAttribute("data-user-zone")) {
      offer.querySelector("[data-tz-input]").value = zone;
      offer.querySelector("[data-tz-name]").textContent = zone;
      offer.hidden = false;
    }
  }
})();
