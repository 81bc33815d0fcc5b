// Small behaviours every page shares. Delegated from the document, so parts that htmx
// swaps in later (the live deployment section) work without re-binding.
"use strict";

// A button with data-copy="<selector>" copies that element's text.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  const text = "value" in source && source.value ? source.value : source.textContent;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // No Clipboard API off a secure origin: select the text so Ctrl-C does it.
    const range = document.createRange();
    range.selectNodeContents(source);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    document.execCommand("copy");
  }
  const label = button.textContent;
  button.textContent = "Copied";
  setTimeout(() => { button.textContent = label; }, 1500);
});

// A button with data-set-field="<name>" data-value="<value>" sets that field of the page's
// form (the estimate's suggested machine, say) and tells the form it changed, so the live
// estimate is asked again.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-set-field]");
  if (!button) return;
  const field = document.querySelector(`form [name="${CSS.escape(button.dataset.setField)}"]`);
  if (!field) return;
  field.value = button.dataset.value;
  field.dispatchEvent(new Event("change", { bubbles: true }));
});

// The request form's target tabs carry the fields every target shares (their data-carry,
// from CARRIED_FIELDS in deployments/views.py), so switching target keeps Name and
// Justification.
document.addEventListener("click", (event) => {
  const link = event.target.closest(".target-switch a[href]");
  const form = document.getElementById("request-form");
  if (!link || !form) return;
  const url = new URL(link.href, window.location.href);
  for (const name of (link.closest(".target-switch").dataset.carry || "").split(" ")) {
    const field = form.querySelector(`[name="${CSS.escape(name)}"]`);
    if (field && field.value) url.searchParams.set(name, field.value);
  }
  link.href = url.toString();
});

// The deployment page's live section polls with `after` (its data-timeline-cursor); the
// answer's timeline then holds only the rows from that moment (data-timeline-since), so
// the rows before it are kept from the section being replaced and put back in front.
let keptTimeline = null;

document.addEventListener("htmx:configRequest", (event) => {
  const section = event.detail.elt;
  if (section.id === "deployment-live" && section.dataset.timelineCursor) {
    event.detail.parameters.after = section.dataset.timelineCursor;
  }
});

document.addEventListener("htmx:beforeSwap", (event) => {
  const section = event.detail.target;
  if (section.id !== "deployment-live" || !event.detail.shouldSwap) return;
  const since = section.dataset.timelineCursor;
  keptTimeline = !since ? null : [...section.querySelectorAll("ol.timeline > li[data-at]")]
    .filter((row) => Number(row.dataset.at) < Number(since));
});

document.addEventListener("htmx:afterSettle", (event) => {
  const section = event.target;
  if (section.id !== "deployment-live") return;
  const kept = keptTimeline;
  keptTimeline = null;
  if (!kept || !section.dataset.timelineSince) return;
  const list = section.querySelector("ol.timeline");
  if (list) list.prepend(...kept);
});
