// The embedded card fields, inside the vault's iframe. The card number and CVV never leave
// this frame except in the POST to /embedded/tokenize on the vault's own origin; the parent
// page only ever hears {type: "ready" | "token" | "error"}. Field values are never logged.
(function () {
  "use strict";

  var SOURCE = "vaultql-fields";
  var allowed = (document.body.getAttribute("data-parent-origins") || "")
    .split(/\s+/)
    .filter(function (o) { return o.length > 0; });

  // Set by the first accepted init; kept here, never in the DOM.
  var parentOrigin = null;
  var transientKey = null;
  var busy = false;

  var inputs = {
    number: document.getElementById("card-number"),
    exp: document.getElementById("card-exp"),
    cvv: document.getElementById("card-cvv"),
    zip: document.getElementById("card-zip")
  };
  var brandEl = document.getElementById("card-brand");
  var overallEl = document.getElementById("fields-error");
  // The tokenize endpoint's field names, to show its errors next to the right input.
  var byServerField = { card_number: "number", exp_date: "exp", cvv2: "cvv", avs_zip: "zip" };

  var BRANDS = [
    { name: "American Express", code: "amex", test: function (d) { return /^3[47]/.test(d); } },
    { name: "Visa", code: "visa", test: function (d) { return /^4/.test(d); } },
    { name: "Mastercard", code: "mastercard", test: function (d) {
      if (/^5[1-5]/.test(d)) { return true; }
      var p = parseInt(d.slice(0, 4), 10);
      return d.length >= 4 && p >= 2221 && p <= 2720;
    } },
    { name: "Discover", code: "discover", test: function (d) {
      if (/^6011/.test(d) || /^65/.test(d)) { return true; }
      var p = parseInt(d.slice(0, 3), 10);
      return d.length >= 3 && p >= 644 && p <= 649;
    } },
    { name: "JCB", code: "jcb", test: function (d) {
      var p = parseInt(d.slice(0, 4), 10);
      return d.length >= 4 && p >= 3528 && p <= 3589;
    } },
    { name: "Diners Club", code: "diners", test: function (d) {
      if (/^3[68]/.test(d)) { return true; }
      var p = parseInt(d.slice(0, 3), 10);
      return d.length >= 3 && p >= 300 && p <= 305;
    } }
  ];

  function digits(s) { return s.replace(/\D/g, ""); }

  function brandOf(d) {
    for (var i = 0; i < BRANDS.length; i++) {
      if (BRANDS[i].test(d)) { return BRANDS[i]; }
    }
    return null;
  }

  function maxLength(brand) {
    if (brand && brand.code === "amex") { return 15; }
    if (brand && brand.code === "diners") { return 14; }
    return 19;
  }

  function luhn(d) {
    var sum = 0;
    for (var i = 0; i < d.length; i++) {
      var n = d.charCodeAt(d.length - 1 - i) - 48;
      if (i % 2 === 1) { n *= 2; if (n > 9) { n -= 9; } }
      sum += n;
    }
    return d.length > 0 && sum % 10 === 0;
  }

  function formatNumber(d, brand) {
    var groups = brand && brand.code === "amex" ? [4, 6, 5] : null;
    var out = [];
    var at = 0;
    if (groups) {
      for (var g = 0; g < groups.length && at < d.length; g++) {
        out.push(d.slice(at, at + groups[g]));
        at += groups[g];
      }
    } else {
      for (; at < d.length; at += 4) { out.push(d.slice(at, at + 4)); }
    }
    return out.join(" ");
  }

  // ---- errors, shown accessibly ----

  function errorEl(input) { return document.getElementById(input.id + "-error"); }

  function setError(input, message) {
    var el = errorEl(input);
    el.textContent = message;
    el.hidden = false;
    input.setAttribute("aria-invalid", "true");
  }

  function clearError(input) {
    var el = errorEl(input);
    el.textContent = "";
    el.hidden = true;
    input.setAttribute("aria-invalid", "false");
  }

  function setOverall(message) { overallEl.textContent = message; }

  // ---- formatting as the user types ----

  inputs.number.addEventListener("input", function () {
    var d = digits(inputs.number.value);
    var brand = brandOf(d);
    d = d.slice(0, maxLength(brand));
    inputs.number.value = formatNumber(d, brand);
    brandEl.textContent = brand ? brand.name : "";
    inputs.cvv.setAttribute("maxlength", brand && brand.code === "amex" ? "4" : "3");
    clearError(inputs.number);
  });

  inputs.exp.addEventListener("input", function (event) {
    var d = digits(inputs.exp.value).slice(0, 4);
    if (d.length === 1 && d > "1") { d = "0" + d; }
    var deleting = event.inputType && event.inputType.indexOf("delete") === 0;
    inputs.exp.value = d.length > 2 || (d.length === 2 && !deleting)
      ? d.slice(0, 2) + "/" + d.slice(2)
      : d;
    clearError(inputs.exp);
  });

  inputs.cvv.addEventListener("input", function () {
    inputs.cvv.value = digits(inputs.cvv.value).slice(0, 4);
    clearError(inputs.cvv);
  });

  inputs.zip.addEventListener("input", function () { clearError(inputs.zip); });

  // ---- validation ----

  // Returns the request fields, or null after showing the errors.
  function validate() {
    var number = digits(inputs.number.value);
    var brand = brandOf(number);
    var exp = digits(inputs.exp.value);
    var cvv = digits(inputs.cvv.value);
    var zip = inputs.zip.value.trim();
    var ok = true;
    var first = null;
    function fail(input, message) {
      setError(input, message);
      ok = false;
      if (!first) { first = input; }
    }
    Object.keys(inputs).forEach(function (k) { clearError(inputs[k]); });
    setOverall("");

    if (number.length === 0) {
      fail(inputs.number, "Enter the card number.");
    } else if (number.length < 13 || number.length > maxLength(brand) || !luhn(number)) {
      fail(inputs.number, "The card number is not valid.");
    }

    var month = parseInt(exp.slice(0, 2), 10);
    var year = parseInt(exp.slice(2, 4), 10);
    if (exp.length !== 4 || !(month >= 1 && month <= 12)) {
      fail(inputs.exp, "Enter the expiry date as MM/YY.");
    } else {
      var now = new Date();
      var thisYear = now.getFullYear() % 100;
      var thisMonth = now.getMonth() + 1;
      if (year < thisYear || (year === thisYear && month < thisMonth)) {
        fail(inputs.exp, "The card has expired.");
      }
    }

    var cvvLength = brand && brand.code === "amex" ? 4 : 3;
    if (cvv.length !== cvvLength) {
      fail(inputs.cvv, "Enter the " + cvvLength + "-digit security code.");
    }

    if (zip.length > 0 && !/^[A-Za-z0-9 -]{3,10}$/.test(zip)) {
      fail(inputs.zip, "The postal code is not valid.");
    }

    if (!ok) {
      first.focus();
      return null;
    }
    return { card_number: number, exp_date: exp, cvv2: cvv, avs_zip: zip };
  }

  // ---- talking to the parent ----

  function post(message) {
    if (parentOrigin === null) { return; }
    message.source = SOURCE;
    window.parent.postMessage(message, parentOrigin);
  }

  function fail(code, message, field) {
    var input = field && byServerField[field] ? inputs[byServerField[field]] : null;
    if (input) { setError(input, message); } else { setOverall(message); }
    post({ type: "error", code: code, message: message });
  }

  function submit() {
    if (busy) { return; }
    var fields = validate();
    if (!fields) {
      post({ type: "error", code: "invalid_card", message: "Check the card details." });
      return;
    }
    if (!transientKey) {
      fail("key_invalid", "The card form is not ready. Reload the page and try again.");
      return;
    }
    busy = true;
    var body = JSON.stringify({
      transient_key: transientKey,
      card_number: fields.card_number,
      exp_date: fields.exp_date,
      cvv2: fields.cvv2,
      avs_zip: fields.avs_zip
    });
    fields = null;
    fetch("/embedded/tokenize", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: body,
      credentials: "omit",
      cache: "no-store"
    }).then(function (response) {
      return response.json().then(
        function (json) { return { status: response.status, json: json }; },
        function () { return { status: response.status, json: {} }; }
      );
    }).then(function (answer) {
      busy = false;
      var json = answer.json || {};
      if (answer.status === 200 && json.card_id) {
        inputs.number.value = "";
        inputs.cvv.value = "";
        brandEl.textContent = "";
        post({
          type: "token",
          cardId: json.card_id,
          cardType: json.card_type,
          last4: json.last4
        });
        return;
      }
      var code = typeof json.code === "string" ? json.code : "server_error";
      var message = typeof json.message === "string" && json.message
        ? json.message
        : "The card could not be saved. Try again.";
      fail(code, message, json.field);
    }, function () {
      busy = false;
      fail("network_error", "The card could not be sent. Check your connection and try again.");
    });
  }

  window.addEventListener("message", function (event) {
    if (allowed.indexOf(event.origin) < 0) { return; }
    if (event.source !== window.parent) { return; }
    if (parentOrigin !== null && event.origin !== parentOrigin) { return; }
    var data = event.data;
    if (!data || typeof data !== "object" || data.source !== "vaultql-parent") { return; }
    if (data.type === "init" && typeof data.transientKey === "string") {
      parentOrigin = event.origin;
      transientKey = data.transientKey;
      post({ type: "ready" });
    } else if (data.type === "submit" && parentOrigin !== null) {
      submit();
    }
  });

  // Enter in a field submits the parent's form flow, not a navigation.
  document.getElementById("card-form").addEventListener("submit", function (event) {
    event.preventDefault();
    submit();
  });
})();
