// Animates the server-rendered lifetime bar; the page reads the same without it.
(() => {
  const box = document.getElementById('lifetime');
  if (!box) return;
  const issuedAt = Number(box.dataset.issuedAt);
  const expiresAt = Number(box.dataset.expiresAt);
  // The server's policy decides when renewal starts: the page only counts towards it.
  const half = Number(box.dataset.halfLifeAt);
  // Align the browser's clock with the server's, once, so the countdown matches the cookie.
  const skew = Number(box.dataset.serverNow) - Date.now();
  const bar = document.getElementById('lifetime-bar');
  const left = document.getElementById('time-left');
  const phase = document.getElementById('phase');
  const tick = () => {
    const now = Date.now() + skew;
    const elapsed = Math.min(Math.max(now - issuedAt, 0), expiresAt - issuedAt);
    bar.value = Math.round((elapsed / (expiresAt - issuedAt)) * 1000);
    left.textContent = String(Math.max(0, Math.ceil((expiresAt - now) / 1000)));
    phase.textContent =
      now >= expiresAt ? 'expired: the next request asks you to sign in'
      : now >= half ? 'past half-life: the next request renews'
      : 'before half-life: no renewal yet';
    if (now < expiresAt) setTimeout(tick, 250);
  };
  tick();
})();
