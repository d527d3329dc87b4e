/*
 * VaultqlFields: embedded card fields for a merchant's checkout page.
 *
 * Served by the vault at /embedded/fields.js. The card number, expiry, CVV and postal code are
 * typed into an iframe served by the vault's own origin, so they never touch the merchant's
 * page: the page only receives a card token (card_id) to pass to its server or to the
 * `addCard` mutation.
 *
 *   <div id="card-fields"></div>
 *   <script src="https://VAULT/embedded/fields.js"></script>
 *   var handle = VaultqlFields.loadFrame(merchantId, {
 *     vaultUrl: "https://VAULT",          // the vault's origin
 *     transientKey: key,                  // from createCardSetup (or GET /platform/embedded)
 *     container: "card-fields",           // id of the element that receives the iframe
 *     onReady: function () {},            // the fields are loaded and hold the key
 *     onSuccess: function (card) {},      // {cardId, cardType, last4}: the card is tokenized
 *     onError: function (error) {}        // {code, message}
 *   });
 *   handle.submit();    // validate and tokenize what the customer typed
 *   handle.destroy();   // remove the iframe and stop listening
 *
 * Error codes passed to onError: "invalid_card" (a field is wrong; the frame shows which),
 * "declined" (the card's verification was declined), "key_invalid" (the transient key is
 * missing, used, expired or blocked after repeated declines: create a new setup and load the
 * frame again), "origin_refused", and "network_error" / "server_error".
 *
 * Messages go both ways with postMessage to exact origins only: the frame at
 * vaultUrl + "/embedded/frame?merchant_id=..." accepts the init only from a parent origin the
 * vault allows, and this library accepts messages only from vaultUrl's origin and from its own
 * iframe's window.
 */
(function (global) {
  "use strict";

  function noop() {}

  function loadFrame(merchantId, options) {
    options = options || {};
    var vaultOrigin = new URL(options.vaultUrl).origin;
    var container = typeof options.container === "string"
      ? document.getElementById(options.container)
      : options.container;
    if (!container) {
      throw new Error("VaultqlFields.loadFrame: no element with id " + options.container);
    }
    var onReady = options.onReady || noop;
    var onSuccess = options.onSuccess || noop;
    var onError = options.onError || noop;
    var ready = false;
    var pendingSubmit = false;

    var iframe = document.createElement("iframe");
    iframe.src = vaultOrigin + "/embedded/frame?merchant_id=" +
      encodeURIComponent(String(merchantId));
    iframe.title = "Card details";
    iframe.setAttribute("referrerpolicy", "origin");
    iframe.style.border = "0";
    iframe.style.width = "100%";
    iframe.style.height = "190px";

    function send(message) {
      if (!iframe.contentWindow) { return; }
      message.source = "vaultql-parent";
      iframe.contentWindow.postMessage(message, vaultOrigin);
    }

    function onLoad() {
      ready = false;
      send({ type: "init", transientKey: options.transientKey });
    }

    function onMessage(event) {
      if (event.origin !== vaultOrigin) { return; }
      if (event.source !== iframe.contentWindow) { return; }
      var data = event.data;
      if (!data || typeof data !== "object" || data.source !== "vaultql-fields") { return; }
      if (data.type === "ready") {
        ready = true;
        onReady();
        if (pendingSubmit) {
          pendingSubmit = false;
          send({ type: "submit" });
        }
      } else if (data.type === "token") {
        onSuccess({ cardId: data.cardId, cardType: data.cardType, last4: data.last4 });
      } else if (data.type === "error") {
        onError({ code: String(data.code), message: String(data.message) });
      }
    }

    window.addEventListener("message", onMessage);
    iframe.addEventListener("load", onLoad);
    container.appendChild(iframe);

    return {
      /** Validates and tokenizes; the answer comes through onSuccess or onError. */
      submit: function () {
        if (ready) {
          send({ type: "submit" });
        } else {
          pendingSubmit = true;
        }
      },
      /** Removes the iframe and the message listener. */
      destroy: function () {
        window.removeEventListener("message", onMessage);
        iframe.removeEventListener("load", onLoad);
        if (iframe.parentNode) { iframe.parentNode.removeChild(iframe); }
      }
    };
  }

  global.VaultqlFields = { loadFrame: loadFrame };
})(window);
