/* Trellis dashboard runtime: plain JavaScript, no build step, nothing fetched from a CDN.
 *
 * The browser holds the whole session: the current value of every input. Each update sends
 * all of them with the names that changed and a sequence number; any server process can
 * answer. Replies older than the latest request covering an output are dropped, so a slow
 * answer never overwrites a newer one.
 */
(function () {
  "use strict";

  var configElement = document.getElementById("tr-config");
  if (!configElement) return;
  var config = JSON.parse(configElement.textContent);
  var inputs = config.inputs_state;
  var seq = 0;
  var wanted = {};        // output name -> seq of the newest request that recomputes it
  var renders = {};       // output name -> how many times the runtime re-rendered it
  var timers = {};        // input name -> pending debounce timer
  var presses = {};       // button name -> press count
  var transport = null;   // a WebSocket when one is open, else null (HTTP POST)
  var retryDelay = 500;
  var retrying = false;
  var statusElement = document.getElementById("tr-status");
  // State mirrored on <html> as data-* attributes, for tests and for CSS.
  var root = document.documentElement;

  function outputElement(name) {
    return document.getElementById("tr-out-" + name);
  }

  function setStatus(text, isError) {
    if (!statusElement) return;
    statusElement.textContent = text;
    statusElement.classList.toggle("tr-status-error", !!isError);
  }

  // -- reading inputs --

  function control(name) {
    return document.querySelector('[data-input="' + name + '"]');
  }

  function readFile(spec, element) {
    var file = element.files && element.files[0];
    if (!file) return Promise.resolve(null);
    if (file.size > spec.max_bytes) {
      return Promise.reject(new Error(file.name + " is larger than " + spec.max_bytes + " bytes"));
    }
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () {
        var url = String(reader.result);
        resolve({ name: file.name, type: file.type || "application/octet-stream",
                  data: url.slice(url.indexOf(",") + 1) });
      };
      reader.onerror = function () { reject(reader.error); };
      reader.readAsDataURL(file);
    });
  }

  function readValue(name, spec, box) {
    var fields = box.querySelectorAll("input, select, button");
    var first = fields[0];
    switch (spec.kind) {
      case "slider":
      case "numeric":
        return Promise.resolve(first.value === "" ? null : Number(first.value));
      case "checkbox":
        return Promise.resolve(first.checked);
      case "multiselect":
        return Promise.resolve(Array.prototype.map.call(first.selectedOptions, function (o) {
          return o.value;
        }));
      case "radio":
        var checked = box.querySelector("input:checked");
        return Promise.resolve(checked ? checked.value : null);
      case "daterange":
        return Promise.resolve([fields[0].value, fields[1].value]);
      case "file":
        return readFile(spec, first);
      case "button":
        presses[name] = (presses[name] || inputs[name] || 0) + 1;
        return Promise.resolve(presses[name]);
      default:
        return Promise.resolve(first.value);
    }
  }

  function onInput(name, spec, box, immediate) {
    if (spec.kind === "slider") {
      var shown = box.querySelector("output");
      if (shown) shown.textContent = box.querySelector("input").value;
    }
    clearTimeout(timers[name]);
    var run = function () {
      readValue(name, spec, box).then(function (value) {
        if (JSON.stringify(value) === JSON.stringify(inputs[name])) return;
        inputs[name] = value;
        send([name], []);
      }, function (error) {
        setStatus(String(error.message || error), true);
      });
    };
    if (immediate || !spec.debounce) run();
    else timers[name] = setTimeout(run, spec.debounce);
  }

  Object.keys(config.inputs).forEach(function (name) {
    var spec = config.inputs[name];
    var box = control(name);
    if (!box) return;
    if (spec.kind === "button") {
      box.querySelector("button").addEventListener("click", function () {
        onInput(name, spec, box, true);
      });
      return;
    }
    // Sliders and text debounce while moving/typing; a committed change is sent at once.
    box.addEventListener("input", function () { onInput(name, spec, box, false); });
    box.addEventListener("change", function () { onInput(name, spec, box, true); });
  });

  // Pressing Enter in a text box must not submit (and reload) the page.
  var inputsForm = document.getElementById("tr-inputs");
  if (inputsForm) {
    inputsForm.addEventListener("submit", function (event) { event.preventDefault(); });
  }

  // -- updates --

  function affected(changed, refresh) {
    var names = {};
    changed.forEach(function (input) {
      (config.affects[input] || []).forEach(function (o) { names[o] = true; });
    });
    refresh.forEach(function (o) { names[o] = true; });
    return Object.keys(names);
  }

  function send(changed, refresh, everything) {
    seq += 1;
    root.setAttribute("data-seq", String(seq));
    var targets = everything ? Object.keys(config.outputs) : affected(changed, refresh);
    targets.forEach(function (name) {
      wanted[name] = seq;
      var element = outputElement(name);
      if (element) {
        element.classList.add("tr-loading");
        element.setAttribute("aria-busy", "true");
      }
    });
    if (targets.length === 0) return;
    var envelope = { seq: seq, inputs: inputs, changed: everything ? null : changed,
                     refresh: refresh };
    if (transport && transport.readyState === 1) {
      transport.send(JSON.stringify(envelope));
      return;
    }
    post(envelope);
  }

  function post(envelope) {
    var headers = { "Content-Type": "application/json", "Accept": "application/json" };
    headers[config.header] = "1";
    if (config.csrf_token) headers[config.csrf_header] = config.csrf_token;
    fetch(config.endpoints.update, {
      method: "POST", headers: headers, body: JSON.stringify(envelope),
      credentials: "same-origin",
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) {
          clearLoading(envelope.seq);
          setStatus(body.detail || ("Update failed (" + response.status + ")"), true);
          return;
        }
        retryDelay = 500;
        apply(body);
      });
    }, function () {
      // The server is unreachable: one retry chain resends every input (with back-off).
      setStatus("Connection lost; retrying…", true);
      if (retrying) return;
      retrying = true;
      setTimeout(function () { retrying = false; send([], [], true); }, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 10000);
    });
  }

  function clearLoading(replySeq) {
    Object.keys(wanted).forEach(function (name) {
      if (wanted[name] <= replySeq) {
        var element = outputElement(name);
        if (element) {
          element.classList.remove("tr-loading");
          element.removeAttribute("aria-busy");
        }
      }
    });
  }

  function apply(reply) {
    setStatus("");
    Object.keys(reply.outputs).forEach(function (name) {
      // A newer request will recompute this output: this answer is stale, drop it.
      if ((wanted[name] || 0) > reply.seq) return;
      var element = outputElement(name);
      if (!element) return;
      var item = reply.outputs[name];
      if (item.error !== undefined) {
        element.innerHTML = "";
        var box = document.createElement("div");
        box.className = "tr-error";
        box.setAttribute("role", "alert");
        box.textContent = item.error;
        element.appendChild(box);
        if (item.traceback) {
          var pre = document.createElement("pre");
          pre.className = "tr-traceback";
          pre.textContent = item.traceback;
          element.appendChild(pre);
        }
      } else {
        element.innerHTML = item.html;
        hydrate(element);
      }
      renders[name] = (renders[name] || 0) + 1;
      element.setAttribute("data-renders", String(renders[name]));
      element.classList.remove("tr-loading");
      element.removeAttribute("aria-busy");
    });
  }

  // -- enhancing rendered outputs: tables, charts --

  function cellValue(row, column) {
    var cell = row.cells[column];
    if (cell && cell.hasAttribute("data-value")) return Number(cell.getAttribute("data-value"));
    var text = cell ? cell.textContent : "";
    var number = Number(text);
    return text !== "" && !isNaN(number) ? number : text.toLowerCase();
  }

  function enhanceTable(table) {
    var pageSize = Number(table.getAttribute("data-page-size")) || 0;
    var body = table.tBodies[0];
    var page = 0;
    var pager = null;
    function show() {
      var rows = Array.prototype.slice.call(body.rows);
      if (!pageSize || rows.length <= pageSize) return;
      var pages = Math.ceil(rows.length / pageSize);
      page = Math.max(0, Math.min(page, pages - 1));
      rows.forEach(function (row, i) {
        row.hidden = i < page * pageSize || i >= (page + 1) * pageSize;
      });
      if (!pager) {
        pager = document.createElement("div");
        pager.className = "tr-pager";
        pager.innerHTML = '<button type="button" data-step="-1">‹ Prev</button>' +
          '<span></span><button type="button" data-step="1">Next ›</button>';
        pager.addEventListener("click", function (event) {
          var step = event.target.getAttribute && event.target.getAttribute("data-step");
          if (step) { page += Number(step); show(); }
        });
        table.parentNode.insertBefore(pager, table.nextSibling);
      }
      pager.querySelector("span").textContent = "Page " + (page + 1) + " of " + pages;
    }
    if (table.getAttribute("data-sortable") === "true") {
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, column) {
        th.tabIndex = 0;
        th.setAttribute("aria-sort", "none");
        th.addEventListener("click", function () {
          var ascending = th.getAttribute("aria-sort") !== "ascending";
          Array.prototype.forEach.call(table.tHead.rows[0].cells, function (other) {
            other.setAttribute("aria-sort", "none");
          });
          th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
          var rows = Array.prototype.slice.call(body.rows);
          rows.sort(function (a, b) {
            var x = cellValue(a, column), y = cellValue(b, column);
            return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
          });
          rows.forEach(function (row) { body.appendChild(row); });
          page = 0;
          show();
        });
      });
    }
    show();
  }

  function enhanceChart(box) {
    var specElement = box.querySelector(".tr-chart-spec");
    if (!specElement) return;
    var spec = JSON.parse(specElement.textContent);
    var kind = box.getAttribute("data-chart");
    var target = document.createElement("div");
    if (kind === "vega-lite" && window.vegaEmbed) {
      box.querySelector(".tr-chart-fallback").remove();
      box.appendChild(target);
      window.vegaEmbed(target, spec, { actions: false });
    } else if (kind === "plotly" && window.Plotly) {
      box.querySelector(".tr-chart-fallback").remove();
      box.appendChild(target);
      window.Plotly.newPlot(target, spec.data || [], spec.layout || {});
    }
  }

  function hydrate(root) {
    Array.prototype.forEach.call(root.querySelectorAll("table.tr-table"), enhanceTable);
    Array.prototype.forEach.call(root.querySelectorAll(".tr-chart"), enhanceChart);
  }

  // -- tabs --

  Array.prototype.forEach.call(document.querySelectorAll(".tr-tabs"), function (tabs) {
    var buttons = tabs.querySelectorAll(':scope > [role="tablist"] > button');
    var panels = tabs.querySelectorAll(':scope > [role="tabpanel"]');
    Array.prototype.forEach.call(buttons, function (button, i) {
      button.addEventListener("click", function () {
        Array.prototype.forEach.call(buttons, function (b, j) {
          b.setAttribute("aria-selected", String(i === j));
          panels[j].hidden = i !== j;
        });
      });
    });
  });

  // -- the optional WebSocket: updates and pushes over one connection --

  function connectSocket() {
    var url = new URL(config.endpoints.websocket, window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    var socket = new WebSocket(url.toString());
    var opened = false;
    socket.addEventListener("open", function () {
      opened = true;
      transport = socket;
      retryDelay = 500;
      setStatus("");
      // Anything sent while disconnected may be lost: resend every input after a reconnect.
      if (socketConnectedBefore) send([], [], true);
      socketConnectedBefore = true;
      window.trellisDashboard.socketConnected = true;
      root.setAttribute("data-socket", "connected");
    });
    socket.addEventListener("message", function (event) {
      var message = JSON.parse(event.data);
      if (message.refresh) {
        send([], message.refresh);
      } else if (message.error) {
        clearLoading(message.seq);
        setStatus(message.error.detail || "Update refused", true);
      } else {
        apply(message);
      }
    });
    socket.addEventListener("close", function () {
      if (transport === socket) transport = null;
      window.trellisDashboard.socketConnected = false;
      root.setAttribute("data-socket", "closed");
      // Updates go over HTTP POST meanwhile; try the socket again with back-off.
      setTimeout(connectSocket, opened ? 500 : retryDelay);
      if (!opened) retryDelay = Math.min(retryDelay * 2, 10000);
    });
  }

  // -- pushes: timers, server events --

  Object.keys(config.outputs).forEach(function (name) {
    var every = config.outputs[name].refresh_every;
    if (every) setInterval(function () { send([], [name]); }, every * 1000);
  });

  var socketConnectedBefore = false;
  if (config.endpoints.websocket && window.WebSocket) {
    setTimeout(connectSocket, 0);
  } else if (config.endpoints.events && window.EventSource) {
    var connectedBefore = false;
    var source = new EventSource(config.endpoints.events);
    source.addEventListener("ready", function () {
      // After a reconnect pushes may have been missed: resend every input.
      if (connectedBefore) send([], [], true);
      connectedBefore = true;
      window.trellisDashboard.eventsConnected = true;
      root.setAttribute("data-events", "connected");
    });
    source.addEventListener("refresh", function (event) {
      send([], JSON.parse(event.data).outputs);
    });
  }

  hydrate(document);
  window.trellisDashboard = {
    inputs: inputs,
    renders: renders,
    send: send,
    eventsConnected: false,
    socketConnected: false,
    get seq() { return seq; },
    get transport() { return transport; },
    get pending() {
      return document.querySelectorAll(".tr-output.tr-loading").length;
    },
  };
  root.setAttribute("data-dashboard-ready", "true");
})();
