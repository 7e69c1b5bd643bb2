// The director's console, live: /ws/director sends the console's data whenever it
// changes; each table is redrawn from it (text only; forms cloned from <template>s
// that carry the CSRF token), so no reload is needed. Without JavaScript the page is
// the same, as the server drew it.
(function () {
  "use strict";
  const status = document.getElementById("console-live");
  let delay = 500;

  function cell(row, text, className) {
    const td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "–" : String(text);
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }

  function form(templateId, values) {
    const template = document.getElementById(templateId);
    const copy = template.content.cloneNode(true);
    for (const [name, value] of Object.entries(values)) {
      const input = copy.querySelector("input[name='" + name + "']");
      if (input) input.value = value;
    }
    const td = document.createElement("td");
    td.appendChild(copy);
    return td;
  }

  const drawn = {};

  function fill(tableId, items, draw) {
    const table = document.getElementById(tableId);
    if (!table) return;
    const body = table.querySelector("tbody");
    const key = JSON.stringify(items);
    if (drawn[tableId] === key) return; // unchanged: leave the rows (and their forms) alone
    // A form being filled in is not redrawn under the director's fingers.
    if (body.contains(document.activeElement)) return;
    drawn[tableId] = key;
    const rows = items.map(function (item) {
      const tr = document.createElement("tr");
      draw(tr, item);
      return tr;
    });
    body.replaceChildren.apply(body, rows);
  }

  function hhmmss(iso) {
    return iso ? iso.slice(11, 23) : "–";
  }

  function draw(data) {
    fill("readers", data.health, function (tr, h) {
      tr.className = h.connected ? "up" : "down";
      cell(tr, h.reader);
      cell(tr, (h.connected ? "connected " : "not connected ") + (h.agent_version || ""));
      cell(tr, h.source_connected === null || h.source_connected === undefined ? "–" : h.source_connected ? "open" : "closed");
      cell(tr, hhmmss(h.last_read));
      cell(tr, h.reads_per_min);
      cell(tr, h.reads);
      cell(tr, h.clock_offset_ms);
      const bad = h.reader_offset_ms !== null && h.reader_offset_ms !== undefined && Math.abs(h.reader_offset_ms) > 1000;
      cell(tr, h.reader_offset_ms, bad ? "clock-bad" : "");
      cell(tr, h.quarantined);
      cell(tr, h.backlog);
      cell(tr, h.lines || "–");
    });
    fill("unknown", data.unknown_chips, function (tr, u) {
      cell(tr, u.chip);
      cell(tr, u.reads);
      cell(tr, hhmmss(u.first_seen));
      cell(tr, u.readers.join(", "));
      tr.appendChild(form("tpl-assign", { chip: u.chip }));
    });
    fill("flags", data.flags, function (tr, f) {
      cell(tr, f.bib + " " + f.name);
      cell(tr, f.code);
      cell(tr, f.where);
      cell(tr, f.confidence);
      cell(tr, f.evidence_text);
      cell(tr, f.status);
      tr.appendChild(form("tpl-flag", { bib: f.bib, code: f.code, point: f.point || "" }));
    });
    fill("claims", data.claims, function (tr, c) {
      cell(tr, c.bib + " " + c.name);
      cell(tr, c.scope + " " + (c.sex || "") + " " + (c.category || "") + " (" + c.verdict + ")");
      cell(tr, c.time + " " + c.holder);
      cell(tr, c.margin);
      cell(tr, c.claim);
      tr.appendChild(form("tpl-record", { bib: c.bib, scope: c.scope }));
    });
    fill("unexplained", data.unexplained, function (tr, u) {
      cell(tr, u.bib + " " + u.name);
      cell(tr, u.time);
      cell(tr, u.reader);
      cell(tr, u.chip);
    });
    fill("contradictions", data.contradictions, function (tr, c) {
      cell(tr, c.bib + " " + c.name);
      cell(tr, c.where);
      cell(tr, c.manual);
      cell(tr, c.chip);
      cell(tr, c.counts);
    });
    fill("crossings", data.crossings, function (tr, c) {
      cell(tr, hhmmss(c.time));
      cell(tr, c.reader);
      cell(tr, c.antennas.join(","));
      cell(tr, c.chip);
      cell(tr, c.bib || "unknown");
      cell(tr, c.reads);
      cell(tr, c.peak_rssi === null ? "" : c.peak_rssi);
      if (c.bib && c.read_id) tr.appendChild(form("tpl-void", { bib: c.bib, chip: c.chip, read_id: c.read_id }));
      else cell(tr, "");
    });
    fill("quarantined", data.quarantined_lines, function (tr, q) {
      cell(tr, q.time);
      cell(tr, q.reader);
      cell(tr, q.reason);
      cell(tr, q.line, "raw");
    });
    const total = document.getElementById("quarantined-total");
    if (total) total.textContent = String(data.quarantined_total);
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + "/ws/director");
    socket.onopen = function () {
      delay = 500;
      status.textContent = "Live: the console updates itself.";
    };
    socket.onmessage = function (event) {
      const data = JSON.parse(event.data);
      if (data.type === "console") draw(data);
    };
    socket.onclose = function () {
      status.textContent = "Reconnecting…";
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10000);
    };
  }

  if (status) connect();
})();
