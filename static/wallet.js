// keydesk: sign a wallet challenge with a browser wallet (the wallets page only). Without
// this file the signature is pasted by hand.
(function () {
  "use strict";

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
})();
