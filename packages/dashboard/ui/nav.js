// Page-wide helpers the pages share: moving to another page, and the message box.

export function toast(message, tone = 'error') {
  const box = document.getElementById('toast');
  box.textContent = message;
  box.className = `show ${tone}`;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (box.className = ''), 6000);
}

export function navigate(path, params = {}) {
  const search = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== '')).toString();
  location.hash = `#${path}${search ? `?${search}` : ''}`;
}
