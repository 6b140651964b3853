//! Pieces every page uses: the loading / empty / error states, a pager, polling.

pub mod chart;
pub mod layout;
pub mod pager;

use crate::api::{ApiFailure, ApiResult};
use leptos::prelude::*;
use std::time::Duration;

/// Shown while the first answer is on its way.
#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="state loading" role="status">"Loading…"</p> }
}

/// Shown when a list has nothing in it; `children` says what to do about it.
#[component]
pub fn Empty(children: Children) -> impl IntoView {
    view! { <div class="state empty">{children()}</div> }
}

/// An API failure, with a retry button when the call can be repeated.
#[component]
pub fn Failure(
    failure: ApiFailure,
    #[prop(optional)] retry: Option<Callback<()>>,
) -> impl IntoView {
    view! {
        <div class="state error" role="alert">
            <p>{failure.to_string()}</p>
            {retry.map(|r| view! {
                <button type="button" on:click=move |_| r.run(())>"Retry"</button>
            })}
        </div>
    }
}

/// A message from the last action (saved, deleted, failed) under a form or table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flash {
    Done(String),
    Failed(String),
}

/// Renders the last [`Flash`], if any.
#[component]
pub fn FlashLine(flash: RwSignal<Option<Flash>>) -> impl IntoView {
    move || {
        flash.get().map(|f| match f {
            Flash::Done(m) => view! { <p class="flash done" role="status">{m}</p> }.into_any(),
            Flash::Failed(m) => view! { <p class="flash failed" role="alert">{m}</p> }.into_any(),
        })
    }
}

/// Renders a resource: [`Loading`] before the first answer, [`Failure`] with a retry
/// button on error, else `ready`. A refetch keeps the last answer on screen, and an
/// answer equal to the last one renders nothing anew (focus stays where it was).
pub fn resource_view<T, V>(
    resource: LocalResource<ApiResult<T>>,
    ready: impl Fn(T) -> V + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + PartialEq + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let latest = Memo::new(move |_| resource.get());
    move || match latest.get() {
        None => view! { <Loading/> }.into_any(),
        Some(Err(failure)) => {
            let retry = Callback::new(move |()| resource.refetch());
            view! { <Failure failure retry/> }.into_any()
        }
        Some(Ok(value)) => ready(value).into_any(),
    }
}

/// Refetches `resource` every `every` while the calling component is mounted.
pub fn poll<T: 'static>(resource: LocalResource<T>, every: Duration) {
    if let Ok(handle) = set_interval_with_handle(move || resource.refetch(), every) {
        on_cleanup(move || handle.clear());
    }
}
