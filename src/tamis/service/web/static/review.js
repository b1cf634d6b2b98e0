// The review page: media blurred until revealed (and again when the pointer leaves it),
// keyboard shortcuts, the video timeline, the claim kept while the page is open.
(function () {
  'use strict';
  const media = document.getElementById('media');
  const reveal = document.getElementById('reveal');
  const blurredAtStart = media && media.classList.contains('blurred');
  function setRevealed(on) {
    if (!media) return;
    media.classList.toggle('blurred', blurredAtStart && !on);
    media.dataset.revealed = on ? '1' : '0';
  }
  if (media) {
    media.addEventListener('click', function () { setRevealed(media.dataset.revealed !== '1'); });
    media.addEventListener('mouseleave', function () { setRevealed(false); });
  }
  if (reveal) reveal.addEventListener('click', function () { setRevealed(media.dataset.revealed !== '1'); });
  window.addEventListener('blur', function () { setRevealed(false); });
  document.addEventListener('visibilitychange', function () { if (document.hidden) setRevealed(false); });

  for (const b of document.querySelectorAll('button.seek')) {
    b.addEventListener('click', function () {
      const v = media && media.querySelector('video');
      if (v) { v.currentTime = parseFloat(b.dataset.t); }
    });
  }

  // The claim runs out after a few minutes without a decision: renewed while the page is open.
  const article = document.querySelector('article.item');
  if (article) {
    const csrf = document.querySelector('#decide input[name=csrf]').value;
    setInterval(function () {
      const body = new URLSearchParams({csrf: csrf});
      fetch('/review/items/' + article.dataset.item + '/renew', {method: 'POST', body: body,
                                                                 credentials: 'same-origin'});
    }, 60000);
  }

  const form = document.getElementById('decide');
  const reason = document.getElementById('reason');
  function choose(value) {
    const radio = form.querySelector('input[name=decision][value=' + value + ']');
    if (radio) { radio.checked = true; reason.focus(); }
  }
  document.addEventListener('keydown', function (ev) {
    if (!form) return;
    const typing = ev.target && (ev.target.tagName === 'TEXTAREA' || ev.target.tagName === 'INPUT' ||
                                 ev.target.tagName === 'SELECT');
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); form.requestSubmit(); return; }
    if (typing || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key === 'a') { ev.preventDefault(); choose('approve'); }
    else if (ev.key === 'r') { ev.preventDefault(); choose('remove'); }
    else if (ev.key === 'e') { ev.preventDefault(); choose('escalate'); }
    else if (ev.key === 'v') { ev.preventDefault(); setRevealed(media.dataset.revealed !== '1'); }
    else if (ev.key === 'n') { ev.preventDefault(); document.getElementById('skip').click(); }
  });
})();
