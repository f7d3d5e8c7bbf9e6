//! The concurrency tests send the same request several times at once and count the outcomes.

use std::future::Future;

use futures_util::future::join_all;

/// Runs `n` futures at once, `make(i)` building the `i`-th, and returns their outputs in order
/// of `i`. All `n` are built first and then polled together, so none starts before the others
/// exist: a request per future reaches the server as closely together as one client can send.
///
/// ```ignore
/// let statuses = race(4, |_| client.post(&url).form(&fields).send()).await;
/// ```
pub async fn race<T, Fut>(n: usize, make: impl FnMut(usize) -> Fut) -> Vec<T>
where
    Fut: Future<Output = T>,
{
    let all: Vec<Fut> = (0..n).map(make).collect();
    join_all(all).await
}

/// `race` for HTTP requests: sends `n` requests at once (`make(i)` builds the `i`-th) and
/// returns each one's status, in order of `i`.
pub async fn race_statuses(
    n: usize,
    mut make: impl FnMut(usize) -> reqwest::RequestBuilder,
) -> Vec<u16> {
    race(n, |i| {
        let request = make(i);
        async move { request.send().await.expect("a response").status().as_u16() }
    })
    .await
}
