// The Print button of a letter page (a file, not an inline handler, so the pages' CSP can forbid inline script).
document.addEventListener("click", (event) => {
  if (event.target instanceof Element && event.target.closest("[data-print]")) window.print();
});
