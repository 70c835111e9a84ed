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

  // Links with data-open-dialog open the dialog instead of navigating to the no-JS page.
  document.querySelectorAll("[data-open-dialog]").forEach(function (el) {
    el.addEventListener("click", function (ev) {
      var dlg = document.getElementById(el.getAttribute("data-open-dialog"));
      if (!dlg || typeof dlg.showModal !== "function") return;
      ev.preventDefault();
      dlg.keydeskOpener = el;
      dlg.showModal();
      var first = dlg.querySelector("input:not([type=hidden]), select, textarea");
      if (first) first.focus();
    });
  });

  // Row actions open a shared dialog, filled from the link's data attributes (as text, never
  // as HTML). Without JS the same links lead to plain confirmation pages.
  document.querySelectorAll("a[data-dialog]").forEach(function (link) {
    link.addEventListener("click", function (ev) {
      var dlg = document.getElementById(link.getAttribute("data-dialog"));
      if (!dlg || typeof dlg.showModal !== "function") return;
      ev.preventDefault();
      var form = dlg.querySelector("form[data-action-form]");
      form.action = "/settings/api-keys/" + link.getAttribute("data-id") + "/" + link.getAttribute("data-action");
      dlg.querySelectorAll("[data-fill=name]").forEach(function (el) { el.textContent = link.getAttribute("data-name"); });
      dlg.querySelectorAll("[data-fill=display]").forEach(function (el) { el.textContent = link.getAttribute("data-display") || ""; });
      dlg.querySelectorAll("[data-fill-value=name]").forEach(function (el) { el.value = link.getAttribute("data-name"); });
      var recent = link.getAttribute("data-recent") || "";
      dlg.querySelectorAll("[data-fill=recent]").forEach(function (el) { el.textContent = recent; });
      dlg.querySelectorAll("[data-fill-recent]").forEach(function (el) { el.hidden = recent === ""; });
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
  document.querySelectorAll("[data-close-dialog]").forEach(function (el) {
    el.addEventListener("click", function (ev) {
      var dlg = el.closest("dialog");
      if (!dlg || !dlg.open) return;
      ev.preventDefault();
      dlg.close();
    });
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

  // Expiration: show the custom date-time input only when "Custom" is chosen.
  document.querySelectorAll("select[data-expiration]").forEach(function (sel) {
    var box = sel.parentElement.querySelector("[data-custom-expiration]");
    if (!box) return;
    function sync() { box.hidden = sel.value !== "custom"; }
    sel.addEventListener("change", sync);
    sync();
  });

  // Wallet linking: ask an installed Solana wallet (Wallet Standard-era providers expose
  // window.phantom.solana or window.solana) to sign the challenge; the server verifies it.
  var B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  function base58(bytes) {
    var digits = [0];
    for (var i = 0; i < bytes.length; i++) {
      var carry = bytes[i];
      for (var j = 0; j < digits.length; j++) {
        carry += digits[j] << 8;
        digits[j] = carry % 58;
        carry = (carry / 58) | 0;
      }
      while (carry > 0) { digits.push(carry % 58); carry = (carry / 58) | 0; }
    }
    var out = "";
    for (var k = 0; k < bytes.length && bytes[k] === 0; k++) out += "1";
    for (var m = digits.length - 1; m >= 0; m--) out += B58[digits[m]];
    return out;
  }
  document.querySelectorAll("[data-sign-with-wallet]").forEach(function (btn) {
    var form = btn.closest("form");
    var status = document.getElementById("sign-status");
    function say(msg, problem) {
      if (!status) return;
      status.textContent = msg;
      status.classList.toggle("problem", !!problem);
    }
    btn.hidden = false;
    btn.addEventListener("click", function () {
      var provider = (window.phantom && window.phantom.solana) || window.solana;
      if (!provider || typeof provider.signMessage !== "function") {
        say("No Solana wallet extension was found in this browser. Paste a signature made with your own tools below.", true);
        return;
      }
      var address = form.querySelector("input[name=address]").value;
      var message = new TextEncoder().encode(document.getElementById("challenge-message").value);
      say("Waiting for your wallet…");
      Promise.resolve(provider.connect ? provider.connect() : null)
        .then(function () {
          var pk = provider.publicKey && provider.publicKey.toBase58 ? provider.publicKey.toBase58() : null;
          if (pk && pk !== address) {
            throw new Error("your wallet is on " + pk + ", not " + address + ". Switch accounts in the wallet, or start again with that address");
          }
          return provider.signMessage(message, "utf8");
        })
        .then(function (res) {
          var sig = res && res.signature ? res.signature : res;
          form.querySelector("input[name=signature]").value = base58(new Uint8Array(sig));
          say("Signed. Linking…");
          form.submit();
        })
        .catch(function (e) {
          say("The wallet didn't sign: " + (e && e.message ? e.message : e) + ".", true);
        });
    });
  });

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
