//! Client-side pagination for long tables (100 accounts must stay usable).

use leptos::prelude::*;

/// Rows per page.
pub const PAGE_SIZE: usize = 20;

/// The slice of `items` on `page` (clamped to the last page).
pub fn page_of<T: Clone>(items: &[T], page: usize) -> (Vec<T>, usize, usize) {
    let pages = items.len().div_ceil(PAGE_SIZE).max(1);
    let page = page.min(pages - 1);
    let start = page * PAGE_SIZE;
    let end = (start + PAGE_SIZE).min(items.len());
    (items[start..end].to_vec(), page, pages)
}

/// Previous / next buttons and "page x of y".
#[component]
pub fn Pager(
    page: RwSignal<usize>,
    #[prop(into)] pages: Signal<usize>,
    #[prop(into)] total: Signal<usize>,
) -> impl IntoView {
    view! {
        <nav class="pager" aria-label="Pages">
            <button
                type="button"
                disabled=move || page.get() == 0
                on:click=move |_| page.update(|p| *p = p.saturating_sub(1))
            >
                "← Previous"
            </button>
            <span aria-live="polite">
                {move || format!("Page {} of {} · {} rows", page.get().min(pages.get().saturating_sub(1)) + 1, pages.get(), total.get())}
            </span>
            <button
                type="button"
                disabled=move || { page.get() + 1 >= pages.get() }
                on:click=move |_| page.update(|p| *p += 1)
            >
                "Next →"
            </button>
        </nav>
    }
}
