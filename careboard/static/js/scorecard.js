// The KPI what-if (scorecard/template_form.html): each field's message is swapped in beside it out of band
// after every change; the field's aria-invalid follows it, so a screen reader hears which figure is wrong.
document.addEventListener("htmx:oobAfterSwap", (event) => {
  const message = event.target;
  if (!(message instanceof Element) || !message.id.startsWith("err-")) return;
  const field = document.getElementById(message.id.slice(4));
  if (!field) return;
  if (message.textContent.trim()) field.setAttribute("aria-invalid", "true");
  else field.removeAttribute("aria-invalid");
});
