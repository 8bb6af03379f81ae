// Draw a workflow's diagram from the DOT text the page carries, with the vendored Viz.js (Graphviz in
// WebAssembly): nothing is fetched. The page also lists every transition as text, for screen readers.
document.addEventListener("DOMContentLoaded", async () => {
  const source = document.getElementById("dot-source");
  const target = document.getElementById("diagram");
  if (!source || !target || typeof Viz === "undefined") return;
  try {
    const viz = await Viz.instance();
    const svg = viz.renderSVGElement(source.textContent);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", target.dataset.label || "workflow diagram");
    target.replaceChildren(svg);
    target.dataset.rendered = "yes";
  } catch (error) {
    target.textContent = "The diagram could not be drawn: " + error;
    target.dataset.rendered = "failed";
  }
});
