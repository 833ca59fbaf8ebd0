// Trunkline control panel: passkeys (WebAuthn). The one script the pages
// load (CSP script-src 'self'); everything else works without it.
"use strict";
(function () {
  function dec(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    return Uint8Array.from(atob(s), function (c) { return c.charCodeAt(0); }).buffer;
  }
  function enc(buf) {
    var b = new Uint8Array(buf), s = "";
    for (var i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function asJSON(c) {
    var r = c.response, o = { id: c.id, rawId: enc(c.rawId), type: c.type,
      clientExtensionResults: c.getClientExtensionResults(), response: { clientDataJSON: enc(r.clientDataJSON) } };
    if (c.authenticatorAttachment) o.authenticatorAttachment = c.authenticatorAttachment;
    if (r.attestationObject) {
      o.response.attestationObject = enc(r.attestationObject);
      if (r.getTransports) o.response.transports = r.getTransports();
    } else {
      o.response.authenticatorData = enc(r.authenticatorData);
      o.response.signature = enc(r.signature);
      if (r.userHandle) o.response.userHandle = enc(r.userHandle);
    }
    return JSON.stringify(o);
  }
  function post(url, fields) {
    return fetch(url, { method: "POST", body: new URLSearchParams(fields), credentials: "same-origin" })
      .then(function (res) {
        return res.json().catch(function () { return {}; }).then(function (j) {
          if (!res.ok) throw new Error((j.error && j.error.message) || res.statusText);
          return j;
        });
      });
  }
  function say(msg) {
    var el = document.getElementById("passkey-status");
    if (el) el.textContent = msg;
  }
  function value(form, name) {
    var el = form && form.elements[name];
    return el ? el.value : "";
  }

  var signin = document.getElementById("passkey-signin");
  if (signin) signin.addEventListener("click", function () {
    var form = document.getElementById("login"), csrf = value(form, "csrf");
    var fields = { csrf: csrf };
    if (value(form, "username") && value(form, "password")) { fields.username = value(form, "username"); fields.password = value(form, "password"); }
    if (!window.PublicKeyCredential) { say("This browser has no passkeys."); return; }
    say("Waiting for your passkey…");
    post("/login/passkey/options", fields).then(function (o) {
      var pk = o.publicKey;
      pk.challenge = dec(pk.challenge);
      (pk.allowCredentials || []).forEach(function (c) { c.id = dec(c.id); });
      return navigator.credentials.get({ publicKey: pk }).then(function (c) {
        return post("/login/passkey", { csrf: csrf, ceremony: o.ceremony, credential: asJSON(c) });
      });
    }).then(function (j) { window.location.assign(j.next || "/"); })
      .catch(function (e) { say("Not signed in: " + e.message); });
  });

  var add = document.getElementById("passkey-add");
  if (add) add.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var csrf = value(add, "csrf"), name = value(add, "name");
    if (!window.PublicKeyCredential) { say("This browser has no passkeys."); return; }
    say("Follow your browser's prompt…");
    post("/account/passkeys/options", { csrf: csrf, password: value(add, "password"), totp: value(add, "totp") }).then(function (o) {
      var pk = o.publicKey;
      pk.challenge = dec(pk.challenge);
      pk.user.id = dec(pk.user.id);
      (pk.excludeCredentials || []).forEach(function (c) { c.id = dec(c.id); });
      return navigator.credentials.create({ publicKey: pk }).then(function (c) {
        return post("/account/passkeys", { csrf: csrf, ceremony: o.ceremony, name: name, credential: asJSON(c) });
      });
    }).then(function () { window.location.assign("/account"); })
      .catch(function (e) { say("No passkey added: " + e.message); });
  });
})();
