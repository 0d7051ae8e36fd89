/* Payments Processor & Alerts Mgr: look up a bill, pay it, follow the payment until its alerts are sent.
 *
 * Plain browser JavaScript, no library. The API address comes from config.js (window.PAYPROC_CONFIG.apiUrl),
 * which the deployment writes next to this file. Every piece of text the API returns is put on the page with
 * textContent, never as HTML.
 *
 * The card number is read from its field only to build the one request that sends it; the field is emptied as soon
 * as that request is answered (or given up on), and nothing here keeps it: a retry after a network error is
 * recognised by the other fields plus the card's last four digits, and then reuses the first attempt's idempotency
 * key, so the server replays its first answer instead of starting a second payment.
 */
(function () {
  "use strict";

  var config = window.PAYPROC_CONFIG || {};
  var API_URL = typeof config.apiUrl === "string" ? config.apiUrl.trim().replace(/\/+$/, "") : "";
  var CURRENCY = typeof config.currencySymbol === "string" ? config.currencySymbol : "$";
  var POLL_INTERVAL_MS = positive(config.pollIntervalMs, 1000);
  var POLL_TIMEOUT_MS = positive(config.pollTimeoutMs, 180000);
  var REQUEST_TIMEOUT_MS = positive(config.requestTimeoutMs, 30000);
  var SEND_ATTEMPTS = 3; // one payment request, retried with the same key only when no answer came back

  // API field name -> the id of the control that shows its error.
  var FIELD_CONTROLS = {
    CardNumber: "card-number",
    ExpiryDate: "expiry",
    EmailId: "email",
    PhnNumber: "phone",
    Choices: "choices"
  };
  var FIELD_LABELS = {
    InvoiceID: "Invoice",
    BillersName: "Customer name",
    BillingAmount: "Amount",
    CardNumber: "Card number",
    ExpiryDate: "Expiry date",
    EmailId: "Email",
    PhnNumber: "Phone",
    Choices: "Alerts"
  };

  var $ = function (id) { return document.getElementById(id); };
  var ui = {
    configError: $("config-error"),
    lookupForm: $("lookup-form"),
    invoiceId: $("invoice-id"),
    lookupButton: $("lookup-button"),
    lookupMessage: $("lookup-message"),
    bill: $("bill"),
    billInvoice: $("bill-invoice"),
    billName: $("bill-name"),
    billAmount: $("bill-amount"),
    payForm: $("pay-form"),
    payHint: $("pay-form-hint"),
    payFields: $("pay-fields"),
    cardNumber: $("card-number"),
    expiry: $("expiry"),
    email: $("email"),
    phone: $("phone"),
    choiceEmail: $("choice-email"),
    choiceText: $("choice-text"),
    payError: $("pay-error"),
    payButton: $("pay-button"),
    payStatus: $("pay-status")
  };

  var state = {
    bill: null, // {InvoiceID, CustomerName, Balance} of the looked-up bill with an amount due
    inFlight: false, // a payment request is on its way: the button stays disabled
    pending: null, // {key, fingerprint} of an attempt whose answer never arrived
    generation: 0 // bumped by every lookup; a status poll of an older generation stops
  };

  function positive(value, fallback) {
    return typeof value === "number" && value > 0 ? value : fallback;
  }

  // --- helpers -------------------------------------------------------------------------------------------------

  /** A v4 UUID. crypto.randomUUID exists only in secure contexts (https, localhost); the S3 website endpoint of
   *  the local stack is plain http on another host name, so fall back to getRandomValues, which exists everywhere. */
  function newIdempotencyKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    var bytes = window.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  function delay(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  function NetworkError(cause) {
    this.name = "NetworkError";
    this.message = "the payment service could not be reached";
    this.cause = cause;
  }

  /** fetch with a timeout; resolves to {status, body} (body: parsed JSON or null), rejects with NetworkError. */
  function request(url, options) {
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS);
    var init = Object.assign({ mode: "cors", credentials: "omit", cache: "no-store", signal: controller.signal },
      options || {});
    init.headers = Object.assign({ Accept: "application/json" }, (options && options.headers) || {});
    return fetch(url, init).then(function (response) {
      return response.text().then(function (text) {
        var body = null;
        try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
        return { status: response.status, body: body };
      });
    }, function (error) {
      throw new NetworkError(error);
    }).finally(function () { clearTimeout(timer); });
  }

  function apiMessage(body) {
    return body && typeof body.message === "string" ? body.message : "";
  }

  /** An API message as a sentence of the page: capitalised, ending with a full stop. */
  function sentence(text) {
    return text.charAt(0).toUpperCase() + text.slice(1) + (/[.!?]$/.test(text) ? "" : ".");
  }

  /** An amount as the API gives it (a string with two decimals; a JSON number is accepted too) with the currency
   *  symbol; formatted as text, never through floating point. */
  function money(amount) {
    var text = String(amount);
    var parts = /^(-?\d+)(?:\.(\d+))?$/.exec(text);
    if (parts) text = parts[1] + "." + ((parts[2] || "") + "00").slice(0, Math.max(2, (parts[2] || "").length));
    return CURRENCY + text;
  }

  function isNothingDue(bill) {
    return Number(bill.IsProcessed) === 1 || Number(bill.Balance) === 0;
  }

  /** Why nothing is due: paid, or (a bill issued with a zero balance) nothing was owed in the first place. */
  function nothingDueMessage(bill) {
    return Number(bill.IsProcessed) === 1
      ? "Nothing due: invoice " + bill.InvoiceID + " has been paid."
      : "Nothing due: invoice " + bill.InvoiceID + " has a balance of " + money(bill.Balance) + ".";
  }

  function setText(element, text) {
    element.textContent = text || "";
  }

  function showNotice(element, text) {
    setText(element, text);
    element.hidden = !text;
  }

  // --- the bill ------------------------------------------------------------------------------------------------

  function showLookupMessage(kind, text) {
    ui.lookupMessage.dataset.kind = kind;
    setText(ui.lookupMessage, text);
  }

  function showBill(bill) {
    setText(ui.billInvoice, String(bill.InvoiceID));
    setText(ui.billName, bill.CustomerName);
    setText(ui.billAmount, money(bill.Balance));
    ui.bill.hidden = false;
    ui.bill.dataset.due = isNothingDue(bill) ? "none" : "due";
  }

  function hideBill() {
    ui.bill.hidden = true;
    setText(ui.billInvoice, "");
    setText(ui.billName, "");
    setText(ui.billAmount, "");
  }

  /** The pay form is usable only for a looked-up bill with an amount due and no payment on its way. */
  function setPayable(bill, hint) {
    state.bill = bill;
    ui.payFields.disabled = !bill || state.inFlight;
    setText(ui.payHint, hint || (bill
      ? "Paying " + money(bill.Balance) + " for invoice " + bill.InvoiceID + " (" + bill.CustomerName + ")."
      : "Look up a bill with an amount due to pay it."));
  }

  function lookup(event) {
    event.preventDefault();
    var generation = ++state.generation;
    var raw = ui.invoiceId.value.trim();
    hideBill();
    setPayable(null);
    clearPayErrors();
    clearPayStatus();
    ui.invoiceId.removeAttribute("aria-invalid");

    if (!raw) {
      return invalidInvoice("Enter the invoice id printed on your bill.");
    }
    if (!/^[0-9]+$/.test(raw) || /^0+$/.test(raw)) {
      return invalidInvoice("\u201c" + raw + "\u201d is not an invoice id: it is a whole number above zero, " +
        "for example 1042.");
    }
    showLookupMessage("busy", "Looking up invoice " + raw + "\u2026");
    ui.lookupButton.disabled = true;
    return request(API_URL + "/paymentbalance/" + encodeURIComponent(raw)).then(function (answer) {
      if (generation !== state.generation) return;
      var body = answer.body || {};
      if (answer.status === 200) {
        showBill(body);
        if (isNothingDue(body)) {
          showLookupMessage("done", nothingDueMessage(body));
          setPayable(null, "This bill has nothing to pay.");
        } else {
          showLookupMessage("ok", body.CustomerName + " owes " + money(body.Balance) + " on invoice " +
            body.InvoiceID + ".");
          setPayable({ InvoiceID: body.InvoiceID, CustomerName: body.CustomerName, Balance: body.Balance });
        }
      } else if (answer.status === 404) {
        showLookupMessage("error", "No bill found for invoice " + raw + ". Check the number on your bill.");
      } else if (answer.status === 429) {
        showLookupMessage("error", sentence(apiMessage(body) || "too many lookups; try again in a minute"));
      } else if (answer.status === 400) {
        var reason = (body.errors && body.errors.InvoiceID) || apiMessage(body);
        invalidInvoice("\u201c" + raw + "\u201d is not a valid invoice id" + (reason ? ": " + reason : "") + ".");
      } else {
        showLookupMessage("error", "The payment service could not look up the bill (error " + answer.status +
          (apiMessage(body) ? ": " + apiMessage(body) : "") + "). Please try again.");
      }
    }, function () {
      if (generation !== state.generation) return;
      showLookupMessage("error", "Could not reach the payment service. Check your connection and try again.");
    }).finally(function () {
      ui.lookupButton.disabled = !API_URL;
    });
  }

  function invalidInvoice(text) {
    ui.invoiceId.setAttribute("aria-invalid", "true");
    showLookupMessage("error", text);
    ui.invoiceId.focus();
  }

  /** Reads the bill again after a payment ends, so the page shows what is due now. */
  function refreshBill(invoiceId, generation) {
    return request(API_URL + "/paymentbalance/" + encodeURIComponent(invoiceId)).then(function (answer) {
      if (generation !== state.generation || answer.status !== 200) return;
      showBill(answer.body);
      if (isNothingDue(answer.body)) {
        showLookupMessage("done", nothingDueMessage(answer.body));
        setPayable(null, "This bill has nothing to pay.");
      } else {
        setPayable({ InvoiceID: answer.body.InvoiceID, CustomerName: answer.body.CustomerName,
          Balance: answer.body.Balance });
      }
    }, function () { /* the status already says what happened; the bill stays as shown */ });
  }

  // --- paying --------------------------------------------------------------------------------------------------

  function chosenAlerts() {
    var email = ui.choiceEmail.checked;
    var text = ui.choiceText.checked;
    return email && text ? "both" : email ? "email" : text ? "text" : "";
  }

  function normaliseExpiry(value) {
    var compact = value.replace(/\s+/g, "");
    return /^\d{4}$/.test(compact) ? compact.slice(0, 2) + "/" + compact.slice(2) : compact;
  }

  function clearPayErrors() {
    Object.keys(FIELD_CONTROLS).forEach(function (field) { showFieldError(field, ""); });
    showNotice(ui.payError, "");
  }

  function showFieldError(field, reason) {
    var controlId = FIELD_CONTROLS[field];
    var error = $(controlId + "-error");
    setText(error, reason);
    var controls = field === "Choices" ? [ui.choiceEmail, ui.choiceText] : [$(controlId)];
    controls.forEach(function (control) {
      if (reason) control.setAttribute("aria-invalid", "true");
      else control.removeAttribute("aria-invalid");
    });
    if (field === "Choices") {
      var group = $("choices");
      if (reason) group.setAttribute("aria-invalid", "true"); else group.removeAttribute("aria-invalid");
    }
  }

  /** Shows {field: reason} next to the fields; reasons about the bill itself go to the form's notice. */
  function showErrors(errors, fallback) {
    var first = null;
    var others = [];
    Object.keys(errors || {}).forEach(function (field) {
      var reason = String(errors[field]);
      if (FIELD_CONTROLS[field]) {
        showFieldError(field, reason);
        if (!first) first = field === "Choices" ? ui.choiceEmail : $(FIELD_CONTROLS[field]);
      } else {
        others.push((FIELD_LABELS[field] || field) + ": " + reason);
      }
    });
    if (others.length) {
      showNotice(ui.payError, others.join(" ") + " Look the bill up again before paying.");
    } else if (!first && fallback) {
      showNotice(ui.payError, fallback);
    }
    if (first) first.focus();
  }

  /** The few checks that need no server: something to send and somewhere to send the alerts. */
  function localErrors(values) {
    var errors = {};
    if (!values.CardNumber) errors.CardNumber = "Enter the card number.";
    if (!values.ExpiryDate) errors.ExpiryDate = "Enter the expiry date as MM/YY.";
    if (!values.Choices) errors.Choices = "Choose at least one alert: email, text or both.";
    if (values.Choices !== "text" && values.Choices && !values.EmailId) {
      errors.EmailId = "Enter the email address for the alert.";
    }
    if (values.Choices !== "email" && values.Choices && !values.PhnNumber) {
      errors.PhnNumber = "Enter the mobile number for the text, for example +15555550100.";
    }
    return Object.keys(errors).length ? errors : null;
  }

  function setInFlight(inFlight) {
    state.inFlight = inFlight;
    ui.payButton.disabled = inFlight;
    ui.lookupButton.disabled = inFlight || !API_URL; // the bill being paid stays on the page until it is answered
    ui.payFields.disabled = inFlight || !state.bill;
    ui.payForm.setAttribute("aria-busy", inFlight ? "true" : "false");
    setText(ui.payButton, inFlight ? "Sending\u2026" : "Post Payment");
  }

  /** Empties the card field; its placeholder says which card was sent, so a retry is easy to type. */
  function forgetCardNumber(last4, retry) {
    ui.cardNumber.value = "";
    ui.cardNumber.placeholder = retry ? "Card ending " + last4 + ": type it again to retry" : "";
  }

  function pay(event) {
    event.preventDefault();
    if (state.inFlight || !state.bill) return; // never two sends at once
    clearPayErrors();
    clearPayStatus();

    var alerts = chosenAlerts();
    var cardNumber = ui.cardNumber.value.replace(/[\s-]+/g, "");
    var values = {
      CardNumber: cardNumber,
      ExpiryDate: normaliseExpiry(ui.expiry.value),
      EmailId: ui.email.value.trim(),
      PhnNumber: ui.phone.value.replace(/[\s().-]+/g, ""),
      Choices: alerts
    };
    ui.expiry.value = values.ExpiryDate;
    var problems = localErrors(values);
    if (problems) {
      showErrors(problems);
      return;
    }

    var bill = state.bill;
    var body = {
      InvoiceID: bill.InvoiceID,
      BillersName: bill.CustomerName,
      BillingAmount: bill.Balance,
      CardNumber: cardNumber,
      ExpiryDate: values.ExpiryDate,
      Choices: alerts
    };
    // Only the contact the customer chose to be alerted on is sent.
    if (alerts !== "text") body.EmailId = values.EmailId;
    if (alerts !== "email") body.PhnNumber = values.PhnNumber;

    var last4 = cardNumber.slice(-4);
    var fingerprint = JSON.stringify([body.InvoiceID, body.BillersName, body.BillingAmount, body.ExpiryDate,
      body.EmailId, body.PhnNumber, body.Choices, cardNumber.length, last4]);
    var sameAttempt = state.pending && state.pending.fingerprint === fingerprint;
    var key = sameAttempt ? state.pending.key : newIdempotencyKey();
    state.pending = { key: key, fingerprint: fingerprint };
    var generation = state.generation;

    setInFlight(true);
    showPayStatus("pending", "Sending your payment\u2026", []);
    var payload = JSON.stringify(body);
    body.CardNumber = cardNumber = values.CardNumber = ""; // from here on only the request body has it

    return send(payload, key).then(function (answer) {
      if (answer.status === 422) {
        // The server saw this key with another body (a retry typed differently): this is a new attempt.
        key = newIdempotencyKey();
        state.pending = { key: key, fingerprint: fingerprint };
        return send(payload, key);
      }
      return answer;
    }).then(function (answer) {
      payload = null;
      forgetCardNumber(last4, answer.status === 400 || answer.status >= 500);
      setInFlight(false);
      if (answer.status >= 500) {
        // Keep the key: the same attempt retried is replayed, never paid twice.
        showPayStatus("failed", "The payment service had a problem (error " + answer.status + "). " +
          "Type the card number again and press Post Payment to retry; you will not be charged twice.", []);
        return;
      }
      state.pending = null;
      handlePaymentAnswer(answer, bill, alerts, last4, generation);
    }, function () {
      payload = null;
      forgetCardNumber(last4, true);
      setInFlight(false);
      showPayStatus("failed", "Could not reach the payment service, so it is not known whether the payment " +
        "arrived. Type the card number again and press Post Payment to retry; you will not be charged twice.", []);
    });
  }

  /** POSTs one attempt; when no answer arrives (network error, gateway timeout) retries with the same key. */
  function send(payload, key) {
    var attempt = 0;
    function once() {
      attempt += 1;
      return request(API_URL + "/paymentbalance", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Idempotency-Key": key },
        body: payload
      }).then(function (answer) {
        if ((answer.status === 502 || answer.status === 503 || answer.status === 504) && attempt < SEND_ATTEMPTS) {
          return delay(1000 * attempt).then(once);
        }
        return answer;
      }, function (error) {
        if (attempt < SEND_ATTEMPTS) return delay(1000 * attempt).then(once);
        throw error;
      });
    }
    return once();
  }

  function handlePaymentAnswer(answer, bill, alerts, last4, generation) {
    var body = answer.body || {};
    if (answer.status === 202 || answer.status === 200) {
      setPayable(null, "Payment sent for invoice " + bill.InvoiceID + ".");
      showPayStatus("pending", "Payment accepted. Processing your payment of " + money(bill.Balance) + "\u2026",
        [], body.PaymentId);
      return follow(body.StatusUrl || "/payments/" + encodeURIComponent(body.PaymentId), body.PaymentId, bill,
        alerts, generation);
    }
    if (answer.status === 400) {
      showPayStatus("", "", []);
      showErrors(body.errors, apiMessage(body) || "The payment was not accepted. Check the fields and try again.");
      return;
    }
    if (answer.status === 404) {
      setPayable(null, "This bill cannot be paid.");
      showPayStatus("failed", "Invoice " + bill.InvoiceID + " no longer exists. Nothing was charged.", []);
      return;
    }
    if (answer.status === 409) {
      setPayable(null, "This bill has nothing to pay.");
      showPayStatus("failed", "Invoice " + bill.InvoiceID + " is already paid" +
        (apiMessage(body) ? " (" + apiMessage(body) + ")" : "") + ". Nothing more was charged.", []);
      return refreshBill(bill.InvoiceID, generation);
    }
    if (answer.status === 429) {
      showPayStatus("failed", sentence(apiMessage(body) || "too many failed payment attempts; try again later") +
        " Nothing was charged.", []);
      return;
    }
    showPayStatus("failed", "The payment was not accepted (error " + answer.status +
      (apiMessage(body) ? ": " + apiMessage(body) : "") + "). Please try again.", []);
  }

  // --- following a payment -------------------------------------------------------------------------------------

  function statusUrl(url) {
    return /^https?:\/\//i.test(url) ? url : API_URL + (url.charAt(0) === "/" ? "" : "/") + url;
  }

  /** Polls the payment until it is notified (or paid with every chosen alert answered), declined or failed. */
  function follow(url, paymentId, bill, alerts, generation) {
    var deadline = Date.now() + POLL_TIMEOUT_MS;
    var target = statusUrl(url);
    function poll() {
      if (generation !== state.generation) return null; // another bill was looked up
      if (Date.now() > deadline) {
        showPayStatus("pending", "Your payment is still being processed. Look the bill up again in a minute " +
          "to see its state.", [], paymentId);
        return null;
      }
      return request(target).then(function (answer) {
        if (generation !== state.generation) return null;
        if (answer.status === 200 && answer.body) {
          if (renderPayment(answer.body, bill, alerts)) {
            return refreshBill(bill.InvoiceID, generation);
          }
        }
        return delay(POLL_INTERVAL_MS).then(poll);
      }, function () {
        return delay(POLL_INTERVAL_MS).then(poll);
      });
    }
    return delay(Math.min(POLL_INTERVAL_MS, 500)).then(poll);
  }

  var CHANNELS = [["email", "Email"], ["text", "Text message"]];

  /** Puts the payment's state on the page; returns true when it will not change any more. */
  function renderPayment(payment, bill, alerts) {
    // Notifications: {email?, text?} each "pending" | "sent" | "failed"; NotificationErrors says why one failed.
    var notifications = payment.Notifications || {};
    var notificationErrors = payment.NotificationErrors || {};
    var wanted = CHANNELS.filter(function (c) { return alerts === "both" || alerts === c[0]; });
    var card = payment.CardLast4 ? " with " + (payment.CardBrand ? payment.CardBrand + " " : "card ") +
      "ending " + payment.CardLast4 : "";
    var amount = payment.Amount !== undefined ? money(payment.Amount) : money(bill.Balance);
    var lines = wanted.map(function (channel) {
      var result = notifications[channel[0]] || (payment.Status === "notified" ? "sent" : "");
      var to = channel[0] === "email" ? ui.email.value.trim() : ui.phone.value.trim();
      if (result === "sent") return { kind: "sent", text: channel[1] + " sent" + (to ? " to " + to : "") + "." };
      if (result === "failed") {
        var why = notificationErrors[channel[0]];
        return { kind: "failed", text: channel[1] + " could not be sent" + (why ? " (" + why + ")" : "") + "." };
      }
      return { kind: "pending", text: channel[1] + ": sending\u2026" };
    });
    // Status stays "paid" when an alert failed (the payment is never undone): that is final too.
    var answered = wanted.every(function (c) {
      return notifications[c[0]] === "sent" || notifications[c[0]] === "failed";
    });

    if (payment.Status === "declined") {
      showPayStatus("failed", "Declined" + card + ": " + (payment.Reason || "the card was declined.") +
        " Nothing was charged and the bill is still due: you can pay it with another card.", [], payment.PaymentId);
      return true;
    }
    if (payment.Status === "failed") {
      showPayStatus("failed", "The payment of " + amount + " for invoice " + bill.InvoiceID + " failed" +
        (payment.Reason ? ": " + payment.Reason : "") + ".", [], payment.PaymentId);
      return true;
    }
    if (payment.Status === "notified" || (payment.Status === "paid" && answered)) {
      var allSent = payment.Status === "notified" ||
        wanted.every(function (c) { return notifications[c[0]] === "sent"; });
      showPayStatus(allSent ? "done" : "partial", "Paid " + amount + " for invoice " + bill.InvoiceID + card +
        (allSent ? ". Your alerts were sent." : ". Some alerts could not be sent."), lines, payment.PaymentId);
      return true;
    }
    if (payment.Status === "paid") {
      showPayStatus("pending", "Paid " + amount + " for invoice " + bill.InvoiceID + card +
        ". Sending your alerts\u2026", lines, payment.PaymentId);
      return false;
    }
    showPayStatus("pending", "Payment accepted. Processing your payment of " + amount + "\u2026", [],
      payment.PaymentId);
    return false;
  }

  function clearPayStatus() {
    showPayStatus("", "", []);
  }

  function showPayStatus(kind, headline, lines, paymentId) {
    var box = ui.payStatus;
    box.dataset.state = kind;
    box.textContent = "";
    if (!headline) return;
    var p = document.createElement("p");
    p.className = "status-headline";
    p.textContent = headline;
    box.appendChild(p);
    if (lines.length) {
      var list = document.createElement("ul");
      list.className = "alerts";
      lines.forEach(function (line) {
        var item = document.createElement("li");
        item.dataset.kind = line.kind;
        item.textContent = line.text;
        list.appendChild(item);
      });
      box.appendChild(list);
    }
    if (paymentId) {
      var ref = document.createElement("p");
      ref.className = "hint";
      ref.textContent = "Payment reference: " + paymentId;
      box.appendChild(ref);
    }
  }

  // --- wiring --------------------------------------------------------------------------------------------------

  function start() {
    if (!API_URL) {
      showNotice(ui.configError, "This page is not set up: config.js with the API address (apiUrl) is missing. " +
        "Bills cannot be looked up until it is deployed.");
      ui.lookupButton.disabled = true;
    }
    ui.lookupForm.addEventListener("submit", lookup);
    ui.payForm.addEventListener("submit", pay);
    // An error goes away as soon as its field is edited.
    [["card-number", "CardNumber"], ["expiry", "ExpiryDate"], ["email", "EmailId"], ["phone", "PhnNumber"]]
      .forEach(function (pair) {
        $(pair[0]).addEventListener("input", function () { showFieldError(pair[1], ""); });
      });
    [ui.choiceEmail, ui.choiceText].forEach(function (box) {
      box.addEventListener("change", function () { showFieldError("Choices", ""); });
    });
    ui.expiry.addEventListener("blur", function () { ui.expiry.value = normaliseExpiry(ui.expiry.value); });
    ui.invoiceId.addEventListener("input", function () { ui.invoiceId.removeAttribute("aria-invalid"); });
    setPayable(null);
  }

  start();
})();
