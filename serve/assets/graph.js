// graph.js draws mlprov's graphs: for each <svg data-graph="ID">, it reads the nodes and edges
// from the JSON in the element with that ID, lays them out with dagre and draws them as SVG.
"use strict";
(function () {
  var NS = "http://www.w3.org/2000/svg";

  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (parent) { parent.appendChild(e); }
    return e;
  }

  function draw(svg) {
    var data = JSON.parse(document.getElementById(svg.getAttribute("data-graph")).textContent);
    var g = new dagre.graphlib.Graph({ multigraph: true });
    g.setGraph({ rankdir: data.rankdir || "LR", nodesep: 14, ranksep: 24, edgesep: 6, marginx: 10, marginy: 10 });
    g.setDefaultEdgeLabel(function () { return {}; });

    var arrow = svg.id + "-arrow";
    var marker = el("marker", { id: arrow, viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" }, el("defs", {}, svg));
    el("path", { d: "M0,0 L10,5 L0,10 z", "class": "arrowhead" }, marker);
    var edgeLayer = el("g", { "class": "edges" }, svg);
    var nodeLayer = el("g", { "class": "nodes" }, svg);

    var drawn = {};
    data.nodes.forEach(function (n) {
      var group = el(n.href ? "a" : "g", { "class": "node " + n.kind + " " + (n.class || "") }, nodeLayer);
      if (n.href) { group.setAttribute("href", n.href); }
      el("title", {}, group).textContent = n.title || n.label;
      var shape = el(n.kind === "artifact" ? "ellipse" : "rect", {}, group);
      var text = el("text", { "text-anchor": "middle" }, group);
      var lines = n.label.split("\n");
      lines.forEach(function (line, i) {
        el("tspan", { x: 0, dy: i === 0 ? "0.35em" : "1.2em" }, text).textContent = line;
      });
      var box = text.getBBox();
      var w = box.width + (n.kind === "artifact" ? 30 : 18), h = box.height + 12;
      drawn[n.id] = { group: group, shape: shape, text: text, w: w, h: h, lines: lines.length, kind: n.kind };
      g.setNode(n.id, { width: w, height: h });
    });
    // An edge's label is laid out with the graph, so that no node covers it.
    var labels = {}, titles = {};
    data.edges.forEach(function (e, i) {
      if (!drawn[e.from] || !drawn[e.to]) { return; }
      var attrs = {};
      if (e.label) {
        var group = el("g", { "class": "edge" }, edgeLayer);
        var text = el("text", { "text-anchor": "middle" }, group);
        text.textContent = e.label;
        var box = text.getBBox();
        attrs = { width: box.width + 4, height: box.height, labelpos: "c" };
        labels["e" + i] = text;
      }
      titles["e" + i] = e.title || "";
      g.setEdge(e.from, e.to, attrs, "e" + i);
    });

    dagre.layout(g);

    g.nodes().forEach(function (id) {
      var n = drawn[id], p = g.node(id);
      if (n.kind === "artifact") {
        n.shape.setAttribute("cx", p.x);
        n.shape.setAttribute("cy", p.y);
        n.shape.setAttribute("rx", n.w / 2);
        n.shape.setAttribute("ry", n.h / 2);
      } else {
        n.shape.setAttribute("x", p.x - n.w / 2);
        n.shape.setAttribute("y", p.y - n.h / 2);
        n.shape.setAttribute("width", n.w);
        n.shape.setAttribute("height", n.h);
        n.shape.setAttribute("rx", 3);
      }
      // The first line sits on the centre; the others below it: move the block up by half.
      n.text.setAttribute("transform", "translate(" + p.x + "," + (p.y - (n.lines - 1) * 0.6 * 12) + ")");
    });
    g.edges().forEach(function (e) {
      var pts = g.edge(e).points;
      var group = el("g", { "class": "edge" }, edgeLayer);
      var d = pts.map(function (p, i) { return (i === 0 ? "M" : "L") + p.x.toFixed(1) + "," + p.y.toFixed(1); }).join(" ");
      el("path", { d: d, "marker-end": "url(#" + arrow + ")" }, group);
      if (titles[e.name]) { el("title", {}, group).textContent = titles[e.name]; }
      var label = labels[e.name];
      if (label) {
        var at = g.edge(e);
        label.setAttribute("x", at.x);
        label.setAttribute("y", at.y);
        label.setAttribute("dominant-baseline", "central");
      }
    });

    var size = g.graph();
    svg.setAttribute("viewBox", "0 0 " + Math.ceil(size.width) + " " + Math.ceil(size.height));
    svg.setAttribute("width", Math.ceil(size.width));
    svg.setAttribute("height", Math.ceil(size.height));
    // Wide graphs shrink to the page's width, but not below 80% of their size: then they scroll.
    svg.style.minWidth = Math.ceil(size.width * 0.8) + "px";
    // Wide graphs shrink to the page's width, but not below half their size: then they scroll.
    svg.style.minWidth = Math.ceil(size.width / 2) + "px";
    svg.setAttribute("data-drawn", String(g.nodeCount()));
  }

  Array.prototype.forEach.call(document.querySelectorAll("svg[data-graph]"), draw);
})();
