// capcode review: one card at a time, keyboard first. Plain JavaScript, no libraries, nothing from the
// network. Every text from a transcript or a codings file is put on the page with textContent, never as
// HTML, so a fragment that contains "<script>" shows as those characters.
"use strict";

(function () {
  const config = JSON.parse(document.body.dataset.config);
  const dimensions = config.dimensions;
  const dimensionById = {};
  const valueByKey = {};
  dimensions.forEach(function (d) {
    dimensionById[d.id] = d;
    d.values.forEach(function (v) { if (v.key) valueByKey[v.key] = [d.id, v.id]; });
  });

  let card = null;       // the card on screen, as the server sent it
  let chosen = {};       // {dimension: value} the coder picked on this card
  let busy = false;      // a request is on its way: keys wait
  let lastStatus = null;

  const $ = function (id) { return document.getElementById(id); };

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function percent(p) { return Math.round(p * 100) + "%"; }

  // ---- talking to the server ----------------------------------------------------------------------

  function api(path, body) {
    const options = { headers: { "X-Capcode-Token": config.token }, credentials: "same-origin", cache: "no-store" };
    if (body !== undefined) {
      options.method = "POST";
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(path, options).then(function (response) {
      return response.text().then(function (text) {
        let data = null;
        try { data = JSON.parse(text); } catch (e) { data = { error: text }; }
        if (!response.ok) {
          const error = new Error((data && data.error) || response.statusText);
          error.status = response.status;
          throw error;
        }
        return data;
      });
    }, function () {
      const error = new Error("The review server does not answer (was it stopped?). Every decision saved so far " +
                              "is in the codings file; start 'capcode review' again to go on.");
      error.status = 0;
      throw error;
    });
  }

  function say(text, kind) {
    const box = $("message");
    box.textContent = text || "";
    box.className = "message" + (kind ? " " + kind : "");
  }

  // ---- codes and conditions -----------------------------------------------------------------------

  function applies(id, codes) {
    let dimension = dimensionById[id];
    const seen = {};
    while (dimension && dimension.condition && !seen[dimension.id]) {
      seen[dimension.id] = true;
      if (codes[dimension.condition.dimension] !== dimension.condition.value) return false;
      dimension = dimensionById[dimension.condition.dimension];
    }
    return true;
  }

  function suggestions() { return (card && card.suggestions) || {}; }

  // what decides which dimensions show: the coder's picks, else the model's most probable values
  function effectiveCodes() {
    const codes = Object.assign({}, chosen);
    const suggested = suggestions();
    Object.keys(suggested).forEach(function (d) { if (!(d in codes)) codes[d] = suggested[d].value; });
    return codes;
  }

  function dropHidden() {
    let changed = true;
    while (changed) {
      changed = false;
      const codes = effectiveCodes();
      Object.keys(chosen).forEach(function (d) {
        if (!applies(d, codes)) { delete chosen[d]; changed = true; }
      });
    }
  }

  // ---- drawing ------------------------------------------------------------------------------------

  function drawSurroundings(box, container, items) {
    container.replaceChildren();
    let lastQuestion = card.fragment.context;
    items.forEach(function (item) {
      if (item.context && item.context !== lastQuestion) {
        const question = element("p", "near-question");
        question.append(element("span", "label", "Interviewer"), document.createTextNode(" " + item.context));
        container.append(question);
      }
      lastQuestion = item.context;
      const line = element("p", "near");
      if (item.speaker) line.append(element("span", "label", item.speaker), document.createTextNode(" "));
      line.append(document.createTextNode(item.text));
      container.append(line);
    });
    box.hidden = items.length === 0;
  }

  function drawCard() {
    const done = !card;
    $("done").hidden = !done;
    $("coding").hidden = done;
    if (done) return;
    const f = card.fragment;
    const meta = $("meta");
    meta.replaceChildren();
    [["case", f.case], ["respondent", f.respondent], ["role", f.role], ["source", f.source]].forEach(function (pair) {
      const item = element("span", "meta-item");
      item.append(element("span", "meta-name", pair[0]), document.createTextNode(" " + pair[1]));
      meta.append(item);
    });
    $("question").textContent = f.context || "";
    $("question-box").hidden = !f.context;
    $("text").textContent = f.text;
    $("text").dataset.fragmentId = f.id;
    drawSurroundings($("before-box"), $("before"), card.before || []);
    drawSurroundings($("after-box"), $("after"), card.after || []);
    const others = $("others");
    others.replaceChildren();
    (card.others || []).forEach(function (other) {
      const line = element("div", "other");
      line.append(element("span", "label", other.coder));
      Object.keys(other.codes).forEach(function (d) {
        const label = dimensionById[d] ? dimensionById[d].label : d;
        line.append(element("span", "code", label + ": " + other.codes[d]));
      });
      others.append(line);
    });
    drawChoices();
  }

  function drawChoices() {
    if (!card) return;
    const codes = effectiveCodes();
    const suggested = suggestions();
    document.querySelectorAll("fieldset.dimension").forEach(function (fieldset) {
      const id = fieldset.dataset.dimension;
      fieldset.hidden = !applies(id, codes);
      const s = suggested[id];
      const hint = fieldset.querySelector(".hint");
      hint.textContent = "";
      hint.className = "hint";
      if (s) {
        const label = valueLabel(id, s.value);
        if (s.abstained) {
          hint.textContent = "model unsure (abstains): " + label + " " + percent(s.probability) + "?";
          hint.classList.add("abstains");
        } else {
          hint.textContent = "suggested: " + label + " " + percent(s.probability);
        }
      }
      fieldset.querySelectorAll("button.value").forEach(function (button) {
        const value = button.dataset.value;
        const isSuggested = !!s && s.value === value;
        button.classList.toggle("chosen", chosen[id] === value);
        button.classList.toggle("suggested", isSuggested && !s.abstained);
        button.classList.toggle("unsure", isSuggested && s.abstained);
        button.setAttribute("aria-pressed", chosen[id] === value ? "true" : "false");
        button.querySelector(".probability").textContent = isSuggested ? " " + percent(s.probability) : "";
      });
    });
  }

  function valueLabel(dimension, value) {
    const d = dimensionById[dimension];
    const v = d && d.values.find(function (item) { return item.id === value; });
    return v ? v.label : value;
  }

  function drawStatus(status) {
    lastStatus = status;
    const p = status.progress;
    const total = p.total || 1;
    $("bar-fill").style.width = Math.round(100 * p.coded / total) + "%";
    $("counts").textContent = p.coded + " coded · " + p.queued + " to go";
    const panel = $("progress");
    panel.replaceChildren();
    const summary = element("p", "summary", p.coded + " of " + p.total + " fragments coded, " + p.queued +
                            " to go (" + p.this_session + " this session).");
    panel.append(summary);
    if (p.model && p.model.compared) {
      let line = "You kept " + percent(p.model.kept) + " of the model's suggestions";
      if (p.model.kappa !== null) line += "; κ coder–model " + p.model.kappa.toFixed(2) + " (mean over dimensions)";
      panel.append(element("p", "summary", line + "."));
    }
    p.dimensions.forEach(function (d) {
      const block = element("div", "dimension-progress");
      const head = element("div", "dimension-head");
      head.append(element("span", "name", d.label), element("span", "n", d.n));
      block.append(head);
      const most = Math.max.apply(null, d.counts.map(function (c) { return c.n; }).concat([1]));
      d.counts.forEach(function (c) {
        const row = element("div", "count-row");
        const bar = element("span", "count-bar");
        const fill = element("span", "count-fill");
        fill.style.width = Math.round(100 * c.n / most) + "%";
        bar.append(fill);
        row.append(element("span", "count-label", c.label), bar, element("span", "count-n", c.n));
        block.append(row);
      });
      if (d.compared) {
        let line = "kept " + percent(d.kept) + " of " + d.compared;
        line += d.kappa === null ? " · κ undefined yet" : " · κ " + d.kappa.toFixed(2);
        block.append(element("div", "agreement", line));
      }
      panel.append(block);
    });
    drawModel(status.model);
  }

  function drawModel(model) {
    const box = $("model");
    const r = model.retrain || {};
    let text = (config.blind ? "order: " : "model: ") + model.name;
    box.className = "model";
    if (r.running) {
      text += " · retraining… " + Math.round(r.running_for || 0) + " s";
      box.classList.add("busy");
    } else if (r.enabled) {
      if (r.version) text += " · retrained " + r.version + "×";
      if (r.message) {
        text += " · " + r.message;
        box.classList.add("warn");
      } else {
        text += " · retrains in " + Math.max(0, r.every - r.since) + " decisions";
      }
    }
    box.textContent = text;
  }

  function show(state, keep) {
    card = state.card;
    if (!keep) {
      chosen = {};
      $("note").value = "";
      if (card && card.previous) {
        chosen = Object.assign({}, card.previous.values);
        $("note").value = card.previous.note || "";
      }
    }
    dropHidden();
    drawCard();
    drawStatus({ progress: state.progress, model: state.model });
  }

  // ---- what the coder does ------------------------------------------------------------------------

  function request(path, body, then) {
    if (busy) return;
    busy = true;
    document.body.classList.add("busy");
    api(path, body).then(function (state) {
      then(state);
    }, function (error) {
      if (error.status === 409 && path === "/api/decide") {
        say(error.message, "warn");
        return api("/api/state").then(function (state) { show(state); });
      }
      say(error.message, "error");
    }).finally(function () {
      busy = false;
      document.body.classList.remove("busy");
    });
  }

  function pick(dimension, value) {
    if (!card || !applies(dimension, effectiveCodes())) return;
    if (chosen[dimension] === value) delete chosen[dimension];
    else chosen[dimension] = value;
    dropHidden();
    drawChoices();
    say("");
  }

  function accept() {
    if (!card || busy) return;
    const codes = Object.assign({}, chosen);
    if (!config.blind) {  // take the sure suggestions where nothing was picked (conditions first)
      const suggested = suggestions();
      let changed = true;
      while (changed) {
        changed = false;
        dimensions.forEach(function (d) {
          const s = suggested[d.id];
          if (!(d.id in codes) && s && !s.abstained && applies(d.id, codes)) { codes[d.id] = s.value; changed = true; }
        });
      }
    }
    const missing = dimensions.filter(function (d) { return applies(d.id, codes) && !(d.id in codes); });
    const values = {};
    dimensions.forEach(function (d) { if (d.id in codes && applies(d.id, codes)) values[d.id] = codes[d.id]; });
    if (missing.length) {
      chosen = values;
      drawChoices();
      const unsure = config.blind ? "" : " (the model is unsure there)";
      say("Choose a value for " + missing.map(function (d) { return d.label; }).join(", ") + unsure + ".", "warn");
      return;
    }
    request("/api/decide", { fragment_id: card.fragment.id, values: values, note: $("note").value }, function (state) {
      show(state);
      say("Saved. Backspace takes it back.", "ok");
    });
  }

  function skip() {
    if (!card) return;
    request("/api/skip", { fragment_id: card.fragment.id }, function (state) {
      show(state);
      say("Skipped: that card comes back at the end.");
    });
  }

  function undo() {
    request("/api/undo", {}, function (state) {
      show(state);
      say("Undone: the decision is out of the codings file. Change it and save again.", "ok");
    });
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const note = $("note");
    if (document.activeElement === note) {
      if (event.key === "Escape") { note.blur(); event.preventDefault(); }
      else if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); accept(); }
      return;
    }
    if (event.key === "Enter") { event.preventDefault(); accept(); return; }
    if (event.key === " ") { event.preventDefault(); skip(); return; }
    if (event.key === "Backspace") { event.preventDefault(); undo(); return; }
    if (event.key === "/") { event.preventDefault(); note.focus(); return; }
    const target = valueByKey[event.key.toLowerCase()];
    if (target && !busy) { event.preventDefault(); pick(target[0], target[1]); }
  });

  document.querySelectorAll("button.value").forEach(function (button) {
    button.addEventListener("click", function () { button.blur(); pick(button.dataset.dimension, button.dataset.value); });
  });
  $("accept").addEventListener("click", function (e) { e.currentTarget.blur(); accept(); });
  $("skip").addEventListener("click", function (e) { e.currentTarget.blur(); skip(); });
  $("undo").addEventListener("click", function (e) { e.currentTarget.blur(); undo(); });

  // ---- a retrained model: new suggestions for the card on screen, without waiting ----------------

  function poll() {
    api("/api/status").then(function (status) {
      drawStatus(status);
      if (card && !busy && status.model.version !== card.model_version) {
        return api("/api/state?fragment=" + encodeURIComponent(card.fragment.id)).then(function (state) {
          if (busy || !state.card || !card || state.card.fragment.id !== card.fragment.id) return;
          show(state, true);
          if (!config.blind) say("The model was retrained: suggestions refreshed.", "ok");
        });
      }
    }, function (error) { say(error.message, "error"); });
  }

  api("/api/state").then(function (state) { show(state); }, function (error) { say(error.message, "error"); });
  window.setInterval(poll, 2000);
}());
