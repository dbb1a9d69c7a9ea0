// Keyboard shortcuts and the as-you-type vocabulary check for the review page.
// Any element with data-key="x" is what the key x does: a form is submitted, an input
// is focused, anything else is clicked. No inline scripts: the page's CSP forbids them.
(function () {
  "use strict";

  const ALIASES = { ArrowRight: "j", ArrowLeft: "k" };
  let dirty = false;
  let warnedDirty = false;

  function isTyping(el) {
    return !!el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  function note(message) {
    let box = document.getElementById("key-note");
    if (!box) {
      box = document.createElement("div");
      box.id = "key-note";
      box.className = "flash flash-error key-note";
      box.setAttribute("role", "status");
      document.body.appendChild(box);
    }
    box.textContent = message;
  }

  function trigger(key) {
    const el = document.querySelector('[data-key="' + CSS.escape(key) + '"]');
    if (!el) return false;
    if ((key === "j" || key === "k") && dirty && !warnedDirty) {
      warnedDirty = true;
      note("You have unsaved edits: Enter saves, a approves. Press " + key + " again to leave them.");
      return true;
    }
    if (el.tagName === "FORM") {
      el.requestSubmit();
    } else if (/^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName)) {
      el.focus();
      if (el.select) el.select();
    } else {
      el.click();
    }
    return true;
  }

  function checkField(input) {
    const value = input.value.trim();
    let message = "";
    if (value) {
      if (input.dataset.allowed) {
        const allowed = input.dataset.allowed.split("|");
        if (!allowed.includes(value)) message = "not one of " + allowed.join(", ");
      } else if (input.dataset.numeric && !Number.isFinite(Number(value))) {
        message = "not a number";
      }
    }
    input.setCustomValidity(message);
    const label = input.closest(".field");
    if (label) {
      label.classList.toggle("invalid", message !== "");
      const check = label.querySelector(".check");
      if (check) check.textContent = message;
    }
  }

  function onKey(event) {
    const active = document.activeElement;
    if (event.key === "Escape") {
      if (isTyping(active)) active.blur();
      return;
    }
    if (isTyping(active)) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && active.form &&
          active.form.id === "row-form") {
        event.preventDefault();
        const approve = document.getElementById("approve");
        if (approve) approve.click();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const key = ALIASES[event.key] || event.key;
    if (trigger(key)) event.preventDefault();
  }

  function toggleZoom() {
    const viewer = document.getElementById("viewer");
    if (viewer) viewer.classList.toggle("zoomed");
  }

  function setup() {
    document.addEventListener("keydown", onKey);

    // Confirmations fade; errors stay until the next page.
    document.querySelectorAll(".flashes .flash-ok").forEach(function (flash) {
      window.setTimeout(function () { flash.classList.add("faded"); }, 6000);
    });

    const help = document.getElementById("help");
    document.querySelectorAll(".help-button").forEach(function (button) {
      button.addEventListener("click", function () { if (help && !help.open) help.showModal(); });
    });

    const zoom = document.getElementById("zoom");
    if (zoom) zoom.addEventListener("click", toggleZoom);
    const image = document.getElementById("main-image");
    if (image) {
      image.addEventListener("click", toggleZoom);
      const size = document.getElementById("image-size");
      const showSize = function () {
        if (size && image.naturalWidth) size.textContent = image.naturalWidth + " × " + image.naturalHeight + " px";
      };
      if (image.complete) showSize(); else image.addEventListener("load", showSize);
    }

    document.querySelectorAll("input[data-allowed], input[data-numeric]").forEach(function (input) {
      checkField(input);
      input.addEventListener("input", function () { checkField(input); });
    });

    // The two offset clocks: a key puts that clock's day into the offset field.
    document.querySelectorAll("button.use-clock").forEach(function (button) {
      button.addEventListener("click", function () {
        const input = document.querySelector('input[name="f_offset"]');
        if (!input) return;
        input.value = button.dataset.offset;
        input.dispatchEvent(new Event("input", { bubbles: true }));
      });
    });

    const rowForm = document.getElementById("row-form");
    if (rowForm) {
      rowForm.addEventListener("input", function () { dirty = true; });
      rowForm.addEventListener("submit", function () { dirty = false; });
    }

    // Hovering a field lights up the words it came from, and the other way round.
    document.querySelectorAll(".field[data-field]").forEach(function (label) {
      const name = label.dataset.field;
      const marks = Array.from(document.querySelectorAll("mark.ev")).filter(function (mark) {
        return mark.dataset.fields.split(" ").includes(name);
      });
      function light(on) {
        marks.forEach(function (mark) { mark.classList.toggle("lit", on); });
        label.classList.toggle("lit", on);
      }
      label.addEventListener("mouseenter", function () { light(true); });
      label.addEventListener("mouseleave", function () { light(false); });
      label.addEventListener("focusin", function () { light(true); });
      label.addEventListener("focusout", function () { light(false); });
    });

    document.querySelectorAll("form.filters select").forEach(function (select) {
      select.addEventListener("change", function () { select.form.requestSubmit(); });
    });

    const reviewer = document.querySelector("form.reviewer input[name=name]");
    if (reviewer) reviewer.addEventListener("change", function () { reviewer.form.requestSubmit(); });

    document.querySelectorAll("#bulk-approve, #bulk-reject").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        const button = event.submitter;
        if (button && !window.confirm(button.textContent.trim() + " from this source?")) {
          event.preventDefault();
        }
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
