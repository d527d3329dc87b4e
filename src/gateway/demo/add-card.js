// The demo checkout: creates a card setup with the customer's session token, loads the vault's
// card fields, and saves the token the fields answer on the customer. Text only: every value
// from a server goes into the page through textContent.
(function () {
  "use strict";

  var body = document.body;
  var token = body.getAttribute("data-session-token");
  var customerId = body.getAttribute("data-customer-id");
  var vaultUrl = body.getAttribute("data-vault-url");
  var saveButton = document.getElementById("save-card");
  var statusEl = document.getElementById("status");
  var errorEl = document.getElementById("error");
  var cardsEl = document.getElementById("cards");
  var handle = null;

  document.getElementById("customer-id").textContent = customerId;

  var SETUP = "mutation($input: CreateCardSetupInput!) { createCardSetup(input: $input) " +
    "{ transientKey frameUrl merchantId expiresAt } }";
  var ADD_CARD = "mutation($input: AddCardInput!) { addCard(input: $input) " +
    "{ card { cardId maskedNumber brand } customer { cards { cardId maskedNumber brand } } } }";
  var CARDS = "query($id: String!) { customer(customerId: $id) " +
    "{ cards { cardId maskedNumber brand } } }";

  function showError(message) {
    statusEl.textContent = "";
    errorEl.textContent = message;
  }

  function showStatus(message) {
    errorEl.textContent = "";
    statusEl.textContent = message;
  }

  // POSTs a GraphQL request; resolves with `data`, rejects with the first error's message.
  function graphql(query, variables) {
    return fetch("/graphql", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "authorization": "Bearer " + token
      },
      body: JSON.stringify({ query: query, variables: variables })
    }).then(function (response) {
      return response.json().catch(function () {
        throw new Error("The gateway answered " + response.status + ".");
      });
    }).then(function (json) {
      if (json.errors && json.errors.length > 0) {
        throw new Error(String(json.errors[0].message));
      }
      return json.data;
    });
  }

  function renderCards(cards) {
    while (cardsEl.firstChild) { cardsEl.removeChild(cardsEl.firstChild); }
    (cards || []).forEach(function (card) {
      var item = document.createElement("li");
      item.textContent = card.maskedNumber + " (" + (card.brand || "card") + ")";
      cardsEl.appendChild(item);
    });
  }

  function setup() {
    saveButton.disabled = true;
    if (handle) {
      handle.destroy();
      handle = null;
    }
    return graphql(SETUP, { input: { customerId: customerId } }).then(function (data) {
      var setupData = data.createCardSetup;
      handle = VaultqlFields.loadFrame(setupData.merchantId, {
        vaultUrl: vaultUrl,
        transientKey: setupData.transientKey,
        container: "card-fields",
        onReady: function () { saveButton.disabled = false; },
        onSuccess: saveCard,
        onError: function (error) {
          saveButton.disabled = false;
          showError(error.message);
          if (error.code === "key_invalid") {
            setup().catch(function (e) { showError(e.message); });
          }
        }
      });
    });
  }

  function saveCard(card) {
    showStatus("Saving the card...");
    graphql(ADD_CARD, {
      input: { customerId: customerId, cardToken: card.cardId, verify: true }
    }).then(function (data) {
      renderCards(data.addCard.customer.cards);
      saveButton.disabled = false;
      showStatus("Card saved");
    }).catch(function (e) {
      saveButton.disabled = false;
      showError(e.message);
    });
  }

  saveButton.addEventListener("click", function () {
    if (!handle) { return; }
    errorEl.textContent = "";
    statusEl.textContent = "";
    saveButton.disabled = true;
    handle.submit();
  });

  graphql(CARDS, { id: customerId })
    .then(function (data) { renderCards(data.customer ? data.customer.cards : []); })
    .catch(function () { /* the list is a convenience; the setup below reports errors */ });
  setup().catch(function (e) { showError(e.message); });
})();
