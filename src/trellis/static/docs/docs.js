// The Trellis API docs page: reads the OpenAPI 3.1 document and shows every operation, with a
// "Try it" form that sends a real request from the browser. No dependencies, no network access
// beyond the app itself. Text from the document is always inserted as text, never as HTML.
"use strict";

(function () {
  const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
  let spec = null;
  let apiKey = "";

  // -- small DOM helpers --

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("data-")) node.setAttribute(key, value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function paragraphs(text) {
    return String(text || "")
      .split(/\n\s*\n/)
      .filter((part) => part.trim())
      .map((part) => el("p", { text: part.trim() }));
  }

  // -- schemas --

  function resolve(schema, seen) {
    let current = schema || {};
    const visited = seen || new Set();
    while (current && typeof current.$ref === "string") {
      if (visited.has(current.$ref)) return { title: current.$ref.split("/").pop() };
      visited.add(current.$ref);
      const parts = current.$ref.replace(/^#\//, "").split("/");
      let target = spec;
      for (const part of parts) target = target ? target[part.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined;
      current = target || {};
    }
    return current;
  }

  function refName(schema) {
    return schema && typeof schema.$ref === "string" ? schema.$ref.split("/").pop() : null;
  }

  function typeLabel(schema) {
    const name = refName(schema);
    const s = resolve(schema);
    if (name) return name;
    if (s.const !== undefined) return JSON.stringify(s.const);
    if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
    const variants = s.anyOf || s.oneOf;
    if (Array.isArray(variants)) return variants.map(typeLabel).join(" | ");
    if (Array.isArray(s.allOf) && s.allOf.length === 1) return typeLabel(s.allOf[0]);
    let type = Array.isArray(s.type) ? s.type.join(" | ") : s.type;
    if (type === "array") return (s.items ? typeLabel(s.items) : "any") + "[]";
    if (type === "object" && s.additionalProperties && typeof s.additionalProperties === "object") {
      return "{string: " + typeLabel(s.additionalProperties) + "}";
    }
    if (!type) type = s.properties ? "object" : "any";
    if (s.format) type += " (" + s.format + ")";
    return type;
  }

  function constraints(s) {
    const notes = [];
    const names = {
      minimum: "≥", exclusiveMinimum: ">", maximum: "≤", exclusiveMaximum: "<",
      minLength: "min length", maxLength: "max length", minItems: "min items",
      maxItems: "max items", pattern: "pattern",
    };
    for (const [key, label] of Object.entries(names)) {
      if (s[key] !== undefined) notes.push(label + " " + s[key]);
    }
    if (s.default !== undefined) notes.push("default " + JSON.stringify(s.default));
    return notes.join(", ");
  }

  function schemaTree(schema, depth, seen) {
    const s = resolve(schema);
    const visited = new Set(seen || []);
    const name = refName(schema);
    if (name) {
      if (visited.has(name) || depth > 6) return null;
      visited.add(name);
    }
    let target = s;
    if (s.type === "array" && s.items) target = resolve(s.items);
    if (!target.properties) return null;
    const required = new Set(target.required || []);
    const list = el("ul");
    for (const [prop, sub] of Object.entries(target.properties)) {
      const resolved = resolve(sub);
      const note = [resolved.description, constraints(resolved)].filter(Boolean).join(" — ");
      const item = el(
        "li",
        {},
        el("span", { class: "name", text: prop }),
        ": ",
        el("span", { class: "type", text: typeLabel(sub) }),
        required.has(prop) ? el("span", { class: "required", text: " required" }) : null,
        note ? el("span", { class: "note", text: " — " + note }) : null,
      );
      const nested = schemaTree(sub, depth + 1, visited);
      if (nested) item.append(nested);
      list.append(item);
    }
    return list;
  }

  function schemaView(schema) {
    const box = el("div", { class: "schema" });
    const s = resolve(schema);
    box.append(el("div", {}, el("span", { class: "type", text: typeLabel(schema) })));
    if (s.description && refName(schema)) box.append(el("div", { class: "note", text: s.description }));
    const tree = schemaTree(schema, 0);
    if (tree) box.append(tree);
    return box;
  }

  function example(schema, depth) {
    const s = resolve(schema);
    if (depth > 6) return null;
    if (s.examples && s.examples.length) return s.examples[0];
    if (s.example !== undefined) return s.example;
    if (s.default !== undefined) return s.default;
    if (s.const !== undefined) return s.const;
    if (Array.isArray(s.enum) && s.enum.length) return s.enum[0];
    const variants = s.anyOf || s.oneOf || s.allOf;
    if (Array.isArray(variants) && variants.length) {
      const usable = variants.find((v) => resolve(v).type !== "null") || variants[0];
      return example(usable, depth + 1);
    }
    const type = Array.isArray(s.type) ? s.type.find((t) => t !== "null") : s.type;
    if (type === "object" || (!type && s.properties)) {
      const out = {};
      for (const [prop, sub] of Object.entries(s.properties || {})) out[prop] = example(sub, depth + 1);
      return out;
    }
    if (type === "array") {
      const count = Math.max(1, s.minItems || 1);
      return Array.from({ length: count }, () => example(s.items || {}, depth + 1));
    }
    if (type === "integer") return s.minimum !== undefined ? s.minimum : 0;
    if (type === "number") return s.minimum !== undefined ? s.minimum : 0.0;
    if (type === "boolean") return false;
    if (type === "string") {
      if (s.format === "uuid") return "00000000-0000-0000-0000-000000000000";
      if (s.format === "date-time") return new Date().toISOString();
      if (s.format === "date") return new Date().toISOString().slice(0, 10);
      return "string";
    }
    return null;
  }

  // -- one operation --

  function operationParameters(pathItem, operation) {
    const byKey = new Map();
    for (const p of [...(pathItem.parameters || []), ...(operation.parameters || [])]) {
      const param = resolve(p);
      byKey.set(param.in + ":" + param.name, param);
    }
    return [...byKey.values()];
  }

  function parametersTable(params, inputs) {
    const table = el("table", {}, el("tr", {}, el("th", { text: "Name" }), el("th", { text: "In" }),
      el("th", { text: "Type" }), el("th", { text: "Value" })));
    for (const param of params) {
      const schema = param.schema || {};
      const input = el("input", {
        name: param.name,
        "data-in": param.in,
        placeholder: resolve(schema).default !== undefined ? String(resolve(schema).default) : "",
        "aria-label": param.name + " (" + param.in + ")",
      });
      if (param.in === "path") input.value = String(example(schema, 0) ?? "");
      inputs.push({ param, input });
      const note = [param.description, constraints(resolve(schema))].filter(Boolean).join(" — ");
      table.append(el("tr", {},
        el("td", {}, el("code", { text: param.name }),
          param.required ? el("span", { class: "required", text: " required" }) : null,
          note ? el("div", { class: "note", text: note }) : null),
        el("td", { text: param.in }),
        el("td", {}, el("code", { text: typeLabel(schema) })),
        el("td", {}, input)));
    }
    return table;
  }

  function responsesView(responses) {
    const table = el("table", {}, el("tr", {}, el("th", { text: "Status" }), el("th", { text: "Meaning" })));
    for (const [status, raw] of Object.entries(responses || {})) {
      const response = resolve(raw);
      const cell = el("td", {}, response.description || "");
      for (const [media, content] of Object.entries(response.content || {})) {
        cell.append(el("div", {}, el("small", { class: "note", text: media })));
        if (!content.schema) continue;
        // Success bodies in full; error bodies (the same Problem every time) by name only.
        if (/^2/.test(status)) cell.append(schemaView(content.schema));
        else cell.append(el("div", { class: "schema" }, el("span", { class: "type", text: typeLabel(content.schema) })));
      }
      table.append(el("tr", { "data-status": status }, el("td", { class: "response-status", text: status }), cell));
    }
    return table;
  }

  function operationView(path, method, pathItem, operation) {
    const params = operationParameters(pathItem, operation);
    const secured = Array.isArray(operation.security) && operation.security.length > 0;
    const inputs = [];
    const details = el("details", {
      class: "operation" + (operation.deprecated ? " deprecated" : ""),
      "data-operation": operation.operationId || method + " " + path,
      "data-method": method.toUpperCase(),
      "data-path": path,
    });
    const scopes = secured ? [...new Set(operation.security.flatMap((req) => Object.values(req).flat()))] : [];
    details.append(el("summary", {},
      el("span", { class: "method " + method, text: method }),
      el("span", { class: "path", text: path }),
      el("span", { class: "summary", text: operation.summary || "" }),
      secured ? el("span", { class: "lock", text: "API key" + (scopes.length ? ": " + scopes.join(", ") : "") }) : null));
    const body = el("div", { class: "body" });
    details.append(body);
    body.append(...paragraphs(operation.description));
    if (params.length) body.append(el("h3", { text: "Parameters" }), parametersTable(params, inputs));

    let bodyInput = null;
    let bodyMedia = null;
    const requestBody = operation.requestBody ? resolve(operation.requestBody) : null;
    if (requestBody && requestBody.content) {
      bodyMedia = Object.keys(requestBody.content)[0];
      const schema = requestBody.content[bodyMedia].schema || {};
      body.append(el("h3", { text: "Request body (" + bodyMedia + ")" }), schemaView(schema));
      bodyInput = el("textarea", { class: "request-body", "aria-label": "Request body", spellcheck: "false" });
      bodyInput.value = JSON.stringify(example(schema, 0), null, 2);
      body.append(bodyInput);
    }
    body.append(el("h3", { text: "Responses" }), responsesView(operation.responses));

    const result = el("div", { class: "result", "aria-live": "polite" });
    const button = el("button", { type: "button", class: "try-it", text: "Try it" });
    button.addEventListener("click", () => send(method, path, inputs, bodyInput, bodyMedia, secured, button, result));
    body.append(el("h3", { text: "Try it" }), button, result);
    return details;
  }

  function baseUrl() {
    const server = spec.servers && spec.servers[0] && spec.servers[0].url;
    if (!server) return "";
    return server.replace(/\/$/, "");
  }

  async function send(method, path, inputs, bodyInput, bodyMedia, secured, button, result) {
    result.replaceChildren();
    let url = path;
    const query = new URLSearchParams();
    const headers = { Accept: "application/json" };
    for (const { param, input } of inputs) {
      const value = input.value;
      if (param.in === "path") {
        if (value === "") return showProblem(result, "Fill in the path parameter " + param.name + ".");
        url = url.replace("{" + param.name + "}", encodeURIComponent(value));
      } else if (value !== "") {
        if (param.in === "query") {
          const items = resolve(param.schema || {}).type === "array" ? value.split(",") : [value];
          for (const item of items) query.append(param.name, item.trim());
        } else if (param.in === "header") headers[param.name] = value;
      } else if (param.required) {
        return showProblem(result, "Fill in the required parameter " + param.name + ".");
      }
    }
    const init = { method: method.toUpperCase(), headers };
    if (bodyInput) {
      try {
        JSON.parse(bodyInput.value);
      } catch (error) {
        return showProblem(result, "The request body is not valid JSON: " + error.message);
      }
      init.body = bodyInput.value;
      headers["Content-Type"] = bodyMedia || "application/json";
    }
    if (secured && apiKey) headers["X-API-Key"] = apiKey;
    const target = baseUrl() + url + (query.toString() ? "?" + query : "");
    button.disabled = true;
    try {
      const response = await fetch(target, init);
      const text = await response.text();
      let shown = text;
      const type = response.headers.get("content-type") || "";
      if (type.includes("json") && text) {
        try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (error) { shown = text; }
      }
      const headerLines = [];
      response.headers.forEach((value, name) => headerLines.push(name + ": " + value));
      result.append(
        el("div", {}, el("code", { text: init.method + " " + target })),
        el("div", { class: "response-status", "data-status": String(response.status), text: response.status + " " + response.statusText }),
        el("pre", { class: "response-headers", text: headerLines.join("\n") }),
        el("pre", { class: "response-body", text: shown || "(empty body)" }),
      );
    } catch (error) {
      showProblem(result, "The request failed: " + error.message);
    } finally {
      button.disabled = false;
    }
  }

  function showProblem(result, message) {
    result.replaceChildren(el("p", { class: "error", text: message }));
  }

  // -- the page --

  function render() {
    const info = spec.info || {};
    document.title = info.title || document.title;
    document.getElementById("api-title").textContent = info.title || "API";
    document.getElementById("api-version").textContent = "Version " + (info.version || "?") + " · OpenAPI " + spec.openapi;
    document.getElementById("api-description").replaceChildren(...paragraphs(info.description));
    const schemes = (spec.components && spec.components.securitySchemes) || {};
    if (Object.keys(schemes).length) {
      const form = document.getElementById("auth");
      form.hidden = false;
      form.addEventListener("submit", (event) => event.preventDefault());
      document.getElementById("api-key").addEventListener("input", (event) => { apiKey = event.target.value.trim(); });
    }
    const groups = new Map();
    for (const tag of spec.tags || []) groups.set(tag.name, { tag, items: [] });
    for (const [path, pathItem] of Object.entries(spec.paths || {})) {
      for (const method of METHODS) {
        const operation = pathItem[method];
        if (!operation) continue;
        for (const tag of operation.tags && operation.tags.length ? operation.tags : ["default"]) {
          if (!groups.has(tag)) groups.set(tag, { tag: { name: tag }, items: [] });
          groups.get(tag).items.push(operationView(path, method, pathItem, operation));
        }
      }
    }
    const main = document.getElementById("operations");
    main.replaceChildren();
    let count = 0;
    for (const { tag, items } of groups.values()) {
      if (!items.length) continue;
      const section = el("section", { "data-tag": tag.name }, el("h2", { text: tag.name }), ...paragraphs(tag.description), ...items);
      main.append(section);
      count += items.length;
    }
    if (!count) main.append(el("p", { class: "status", text: "This API has no documented operations." }));
    document.body.dataset.ready = "true";
  }

  async function load() {
    const url = document.body.dataset.specUrl;
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(url + " answered " + response.status);
      spec = await response.json();
      render();
    } catch (error) {
      const main = document.getElementById("operations");
      main.replaceChildren(el("p", { class: "error", text: "Could not load the API description: " + error.message }));
      document.body.dataset.ready = "error";
    }
  }

  load();
})();
