// The playground page: stream a reply with fetch (POST, CSRF header), render it as sanitised
// Markdown as tokens arrive, fold the model's reasoning, show per-reply figures.
// Event format: see playground/chat.py. A conversation keeps its deployment: reopened once
// that is gone, it is shown read-only, and nothing of it is ever sent to another deployment.
(function () {
  "use strict";

  const root = document.getElementById("playground");
  if (!root) return;
  const form = document.getElementById("pg-form"); // absent when nothing is ready to chat with

  const $ = (id) => document.getElementById(id);
  const endpointSelect = $("pg-endpoint");
  const modelSelect = $("pg-model");
  const log = $("pg-log");
  const status = $("pg-status");
  const prompt = $("pg-prompt");
  const sendButton = $("pg-send");
  const stopButton = $("pg-stop");
  const thinkLabel = $("pg-think-label");
  const exportLink = $("pg-export");
  const title = $("pg-title");
  const readOnlyNote = $("pg-read-only");

  const csrfToken = () => {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  };
  const urlFor = (template, id) => template.replace(/\/0\//, "/" + id + "/").replace(/\/0$/, "/" + id);

  let conversation = null; // id once the first reply is stored
  let conversationDeployment = null; // the deployment an opened conversation belongs to
  let readOnly = false;
  let history = []; // [{role, content}] sent with every turn
  let controller = null;

  // Model output is untrusted: Markdown to HTML, then DOMPurify removes scripts, handlers
  // and anything else that could run. Nothing from the model reaches innerHTML otherwise.
  const render = (text) => DOMPurify.sanitize(marked.parse(text, { gfm: true, breaks: true }));

  for (const id of ["pg-temperature", "pg-top-p"]) {
    const input = $(id);
    if (input) input.addEventListener("input", () => { $(id + "-value").value = input.value; });
  }

  async function loadModels() {
    if (!endpointSelect) return;
    const id = endpointSelect.value;
    modelSelect.innerHTML = "";
    const response = await fetch(urlFor(root.dataset.modelsUrl, id), { credentials: "same-origin" });
    if (!response.ok) { setStatus("Could not list the endpoint's models.", true); return; }
    const data = await response.json();
    for (const name of data.models) {
      const option = new Option(name, name, name === data.default, name === data.default);
      modelSelect.add(option);
    }
    thinkLabel.hidden = !data.supports_reasoning;
    if (data.problem) setStatus("The endpoint did not list its models: " + data.problem, true);
  }

  function setStatus(text, isError) {
    status.textContent = text || "";
    status.classList.toggle("pg-error", Boolean(isError));
  }

  function bubble(role, text) {
    const item = document.createElement("article");
    item.className = "pg-msg pg-" + role;
    const body = document.createElement("div");
    body.className = "pg-body";
    if (role === "user") body.textContent = text; else body.innerHTML = render(text || "");
    item.appendChild(body);
    log.appendChild(item);
    item.scrollIntoView({ block: "end" });
    return item;
  }

  function reasoningBox(item) {
    let box = item.querySelector("details.pg-reasoning");
    if (!box) {
      box = document.createElement("details");
      box.className = "pg-reasoning";
      box.innerHTML = "<summary>Reasoning</summary><div class=\"pg-reasoning-text\"></div>";
      item.insertBefore(box, item.firstChild);
    }
    return box.querySelector(".pg-reasoning-text");
  }

  function statsLine(item, stats) {
    const parts = [];
    if (stats.ttft_ms != null) parts.push("first token " + (stats.ttft_ms / 1000).toFixed(2) + " s");
    if (stats.tokens_per_second != null) parts.push(stats.tokens_per_second + " tokens/s");
    const approx = stats.estimated ? "≈" : "";
    parts.push(approx + stats.prompt_tokens + " prompt + " + approx + stats.completion_tokens + " completion tokens");
    if (stats.finish_reason) parts.push("finish: " + stats.finish_reason);
    const line = document.createElement("p");
    line.className = "pg-stats muted";
    line.textContent = parts.join(" · ");
    if (stats.estimated) line.title = "The endpoint gave no counts; these are Hangar's estimate.";
    item.appendChild(line);
  }

  function busy(on) {
    sendButton.disabled = on;
    stopButton.disabled = !on;
    sendButton.setAttribute("aria-busy", on ? "true" : "false");
  }

  function* parseEvents(buffer) {
    // Yields [name, data] for each complete event; the caller keeps the remainder.
    let index;
    while ((index = buffer.text.indexOf("\n\n")) >= 0) {
      const block = buffer.text.slice(0, index);
      buffer.text = buffer.text.slice(index + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) name = line.slice(7);
        else if (line.startsWith("data: ")) data.push(line.slice(6));
      }
      if (data.length) yield [name, JSON.parse(data.join("\n"))];
    }
  }

  async function send(text) {
    history.push({ role: "user", content: text });
    bubble("user", text);
    const item = bubble("assistant", "");
    item.classList.add("pg-streaming");
    const body = item.querySelector(".pg-body");
    let content = "";
    let reasoning = "";
    let pending = false;
    const paint = () => {
      pending = false;
      body.innerHTML = render(content);
      if (reasoning) reasoningBox(item).textContent = reasoning;
      item.scrollIntoView({ block: "end" });
    };
    const schedule = () => { if (!pending) { pending = true; requestAnimationFrame(paint); } };

    controller = new AbortController();
    busy(true);
    setStatus("Sending…");
    const payload = {
      // An opened conversation goes on with its own deployment only (the server refuses others).
      deployment: conversationDeployment !== null ? conversationDeployment : Number(endpointSelect.value),
      conversation: conversation,
      model: modelSelect.value,
      messages: history,
      system: $("pg-system").value,
      temperature: Number($("pg-temperature").value),
      top_p: Number($("pg-top-p").value),
      max_tokens: Number($("pg-max-tokens").value) || null,
      think: !thinkLabel.hidden && $("pg-think").checked,
    };
    let failed = null;
    try {
      const response = await fetch(root.dataset.chatUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify(payload),
        signal: controller.signal,
      });
      if (!response.ok) {
        const data = await response.json().catch(() => ({}));
        throw new Error((data.error && data.error.message) || "HTTP " + response.status);
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      const buffer = { text: "" };
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer.text += decoder.decode(value, { stream: true });
        for (const [name, data] of parseEvents(buffer)) {
          if (name === "start") setStatus("Waiting for " + data.model + "…");
          else if (name === "warming") setStatus(data.message);
          else if (name === "token") {
            if (status.textContent) setStatus("");
            if (data.content) content += data.content;
            if (data.reasoning) reasoning += data.reasoning;
            schedule();
          } else if (name === "error") failed = data.message;
          else if (name === "done") {
            paint();
            statsLine(item, data);
            if (data.notice) setStatus(data.notice);
            if (data.conversation_id === null) continue; // counted, but not saved
            if (conversation !== data.conversation_id) listConversation(data.conversation_id, text);
            conversation = data.conversation_id;
            conversationDeployment = payload.deployment;
            exportLink.href = urlFor(root.dataset.exportUrl, conversation);
            exportLink.hidden = false;
          }
        }
      }
    } catch (error) {
      failed = error.name === "AbortError" ? null : error.message;
      if (error.name === "AbortError") setStatus("Stopped.");
    } finally {
      paint();
      item.classList.remove("pg-streaming");
      busy(false);
      controller = null;
    }
    if (failed) {
      const note = document.createElement("p");
      note.className = "pg-error";
      note.setAttribute("role", "alert");
      note.textContent = failed;
      item.appendChild(note);
      setStatus("");
    } else if (status.textContent.startsWith("Waiting") || status.textContent === "Sending…") {
      setStatus("");
    }
    if (content) history.push({ role: "assistant", content: content });
    else history.pop(); // nothing came back: let the user send the question again
    if (title.textContent === "New conversation") title.textContent = text.slice(0, 80);
  }

  async function openConversation(id) {
    const response = await fetch(urlFor(root.dataset.conversationUrl, id), { credentials: "same-origin" });
    if (!response.ok) { setStatus("Could not open that conversation.", true); return; }
    const data = await response.json();
    newConversation();
    conversation = data.id;
    conversationDeployment = data.deployment_id;
    title.textContent = data.title;
    exportLink.href = urlFor(root.dataset.exportUrl, id);
    exportLink.hidden = false;
    const offered = endpointSelect && [...endpointSelect.options].some((o) => o.value === String(data.deployment_id));
    if (data.read_only || !offered) {
      // Never another deployment in its place: its replies came from this one's model.
      setReadOnly(data.read_only_reason || "Read-only: " + data.deployment + " is not one you can chat with now.");
    } else {
      endpointSelect.value = String(data.deployment_id);
      await loadModels();
      if (data.model) modelSelect.value = data.model;
      $("pg-system").value = data.system_prompt || "";
    }
    for (const m of data.messages) {
      const item = bubble(m.role, m.content);
      if (m.reasoning) reasoningBox(item).textContent = m.reasoning;
      if (m.role === "assistant" && m.stats && m.stats.completion_tokens != null) statsLine(item, m.stats);
      history.push({ role: m.role, content: m.content });
    }
  }

  function listConversation(id, text) {
    const list = document.getElementById("pg-conversations");
    const none = document.getElementById("pg-no-conversations");
    if (none) none.remove();
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = "#";
    link.dataset.conversation = id;
    link.textContent = text.slice(0, 80);
    const note = document.createElement("small");
    note.className = "muted";
    note.textContent = endpointSelect.options[endpointSelect.selectedIndex].text.split(" · ")[0] + " · just now";
    item.append(link, note);
    list.prepend(item);
  }

  function setReadOnly(reason) {
    readOnly = Boolean(reason);
    readOnlyNote.textContent = reason || "";
    readOnlyNote.hidden = !readOnly;
    if (form) form.hidden = readOnly;
  }

  function newConversation() {
    conversation = null;
    conversationDeployment = null;
    setReadOnly("");
    history = [];
    log.innerHTML = "";
    title.textContent = form ? "New conversation" : "";
    exportLink.hidden = true;
    setStatus("");
  }

  if (form) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = prompt.value.trim();
      if (!text || controller || readOnly) return;
      prompt.value = "";
      send(text);
    });
    prompt.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
    });
    // Aborting the fetch closes the connection; the proxy then cancels the upstream request.
    stopButton.addEventListener("click", () => { if (controller) controller.abort(); });
    endpointSelect.addEventListener("change", () => { newConversation(); loadModels(); });
  }
  $("pg-new").addEventListener("click", newConversation);
  document.getElementById("pg-conversations").addEventListener("click", (event) => {
    const link = event.target.closest("a[data-conversation]");
    if (!link) return;
    event.preventDefault();
    openConversation(link.dataset.conversation);
  });

  if (endpointSelect && root.dataset.selected && [...endpointSelect.options].some((o) => o.value === root.dataset.selected)) {
    endpointSelect.value = root.dataset.selected;
  }
  loadModels();
})();
