// The toast: a short note that goes by itself ("Link copied", a refused
// slot, "Saved to slot 1").

const TOAST_MS = 2600;

export function mountToast(store) {
  const toast = document.getElementById('toast');
  let timer = 0;

  function render(st, prev) {
    if (st.toast === prev.toast || !st.toast) return;
    clearTimeout(timer);
    toast.textContent = st.toast.text;
    toast.hidden = false;
    timer = setTimeout(() => {
      toast.hidden = true;
      store.update({ toast: null });
    }, TOAST_MS);
  }

  render(store.get(), {});
  store.subscribe(render);
}
