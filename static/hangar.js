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
