// Passkeys (WebAuthn) for forms marked data-passkey="create" (add a passkey) or "get" (use one:
// the second step of signing in, confirming a protected action, or signing in with a passkey
// alone). On submit the form asks the portal for a challenge (POST data-options with the CSRF
// token), lets the browser's passkey prompt answer it, puts the answer (JSON) in the form's
// hidden field (data-field, default "passkey") and sends the form. Without JavaScript or
// WebAuthn the other ways to sign in remain.
(function () {
  "use strict";
  function b64urlToBuf(s) {
    var pad = s.length % 4 === 0 ? "" : "====".slice(s.length % 4);
    var bin = atob(s.replace(/-/g, "+").replace(/_/g, "/") + pad);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function bufToB64url(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function creationOptions(o) {
    var pk = o.publicKey;
    pk.challenge = b64urlToBuf(pk.challenge);
    pk.user.id = b64urlToBuf(pk.user.id);
    (pk.excludeCredentials || []).forEach(function (c) { c.id = b64urlToBuf(c.id); });
    // Ask for a discoverable credential where the authenticator can make one, so that the
    // passkey can later sign in without a password.
    pk.authenticatorSelection = pk.authenticatorSelection || {};
    pk.authenticatorSelection.residentKey = "preferred";
    pk.authenticatorSelection.requireResidentKey = false;
    return { publicKey: pk };
  }
  function requestOptions(o) {
    var pk = o.publicKey;
    pk.challenge = b64urlToBuf(pk.challenge);
    (pk.allowCredentials || []).forEach(function (c) { c.id = b64urlToBuf(c.id); });
    return { publicKey: pk };
  }
  function created(cred) {
    return {
      id: cred.id,
      rawId: bufToB64url(cred.rawId),
      type: cred.type,
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: {
        attestationObject: bufToB64url(cred.response.attestationObject),
        clientDataJSON: bufToB64url(cred.response.clientDataJSON),
        transports: cred.response.getTransports ? cred.response.getTransports() : []
      }
    };
  }
  function asserted(cred) {
    var r = cred.response;
    return {
      id: cred.id,
      rawId: bufToB64url(cred.rawId),
      type: cred.type,
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: {
        authenticatorData: bufToB64url(r.authenticatorData),
        clientDataJSON: bufToB64url(r.clientDataJSON),
        signature: bufToB64url(r.signature),
        userHandle: r.userHandle ? bufToB64url(r.userHandle) : null
      }
    };
  }
  function purpose(form) {
    if (form.dataset.passkey === "create") return "register";
    return form.getAttribute("action") === "/login/passkey" ? "discover" : "verify";
  }
  document.querySelectorAll("form[data-passkey]").forEach(function (form) {
    var status = form.querySelector(".passkey-status");
    var field = form.querySelector('input[name="' + (form.dataset.field || "passkey") + '"]');
    if (!window.PublicKeyCredential || !navigator.credentials) {
      if (status) status.textContent = "This browser cannot use passkeys.";
      return;
    }
    form.addEventListener("submit", function (ev) {
      if (field.value) return;
      ev.preventDefault();
      if (form.dataset.passkey === "create") {
        var name = form.querySelector('input[name="name"]');
        if (name && !name.value.trim()) { name.focus(); if (status) status.textContent = "Name the passkey first."; return; }
      }
      var body = new URLSearchParams();
      body.set("csrf_token", form.querySelector('input[name="csrf_token"]').value);
      body.set("purpose", purpose(form));
      if (status) status.textContent = "Waiting for your passkey…";
      fetch(form.dataset.options, { method: "POST", body: body, credentials: "same-origin" })
        .then(function (res) {
          return res.json().then(function (j) { if (!res.ok) throw new Error(j.error || "The portal refused."); return j; });
        })
        .then(function (options) {
          return form.dataset.passkey === "create"
            ? navigator.credentials.create(creationOptions(options)).then(created)
            : navigator.credentials.get(requestOptions(options)).then(asserted);
        })
        .then(function (answer) {
          field.value = JSON.stringify(answer);
          if (status) status.textContent = "Checking…";
          form.submit();
        })
        .catch(function (e) {
          if (status) status.textContent = "No passkey was used (" + e.message + "). Try again or use another way.";
        });
    });
  });
})();
