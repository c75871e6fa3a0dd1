// The portal's small behaviours on top of htmx; every page works without them.
(function () {
  "use strict";

  function toast(kind, message) {
    var area = document.getElementById("toasts");
    if (!area) return;
    var box = document.createElement("div");
    box.className = "toast toast-" + kind;
    box.setAttribute("role", kind === "error" ? "alert" : "status");
    var text = document.createElement("span");
    text.textContent = message;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.textContent = "\u00d7";
    box.append(text, close);
    area.append(box);
    settle(box);
  }

  // Toasts that are not errors go away by themselves after a while.
  function settle(box) {
    if (!box.classList.contains("toast-error")) {
      setTimeout(function () { box.remove(); }, 6000);
    }
  }

  document.addEventListener("click", function (event) {
    var close = event.target.closest(".toast-close");
    if (close) close.closest(".toast").remove();
  });

  // Selects marked data-autosubmit (language, tenant) submit their form on change.
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-autosubmit]")) event.target.form.requestSubmit();
  });

  // Forms that htmx does not handle may ask for a confirmation too (htmx ones use hx-confirm).
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#toasts .toast").forEach(settle);
  });

  // Error answers that the server shaped for htmx (a toast retargeted to #toasts, or a form re-rendered
  // with its validation messages as 422) are swapped in; any other failure becomes a generic toast.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.status < 400) return;
    if (xhr.getResponseHeader("HX-Retarget") || xhr.status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    } else if (!xhr.getResponseHeader("HX-Redirect")) {
      toast("error", document.body.dataset.errorText || "Error " + xhr.status);
    }
  });

  document.addEventListener("htmx:sendError", function () {
    toast("error", document.body.dataset.offlineText || "Offline");
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "toasts") {
      event.detail.target.querySelectorAll(".toast").forEach(settle);
    }
  });

  // A response may ask for a toast besides its swap: HX-Trigger {"portal:toast": {kind, message}}.
  document.addEventListener("portal:toast", function (event) {
    toast(event.detail.kind || "info", event.detail.message || "");
  });

  window.portal = { toast: toast };
})();
