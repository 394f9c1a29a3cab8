//! The one concurrent stage of a run, shared by every command that
//! fetches: work over every item, results in the order they finish.
//!
//! Items are admitted host by host, round-robin, at most a host's own
//! limit of them at once: an item waiting for a busy host never holds a
//! place another host could use. (A plain `buffer_unordered(n)` over a
//! post that lists one slow host's images first would fill all `n`
//! places with that host's waiters, and every other host would wait
//! behind them.) The run-wide limit on requests in flight is a permit the
//! [`super::Fetcher`] takes for each attempt only once its host's slot is
//! had; `admitted` only bounds how many items are under way at once
//! (memory), so it is a few times larger.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::stream::{FuturesUnordered, Stream, StreamExt};

/// Which lane an item goes in, and how many of that lane may be under way.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lane<K> {
    pub key: K,
    pub limit: usize,
}

struct Queue<T> {
    waiting: VecDeque<T>,
    running: usize,
    limit: usize,
    /// Whether the lane is in the ring of lanes that may start one more.
    ready: bool,
}

type Running<'a, K, O> = Pin<Box<dyn Future<Output = (K, O)> + 'a>>;

/// `work` over every item, at most `admitted` under way in all and at
/// most its lane's limit per lane, lanes served in turn.
pub(crate) fn stage<'a, T, K, F, Fut>(
    items: Vec<T>,
    admitted: usize,
    lane: impl Fn(&T) -> Lane<K>,
    mut work: F,
) -> impl Stream<Item = Fut::Output> + 'a
where
    T: 'a,
    K: Eq + Hash + Clone + 'a,
    F: FnMut(T) -> Fut + 'a,
    Fut: Future + 'a,
{
    let admitted = admitted.max(1);
    let mut lanes: HashMap<K, Queue<T>> = HashMap::new();
    let mut ring: VecDeque<K> = VecDeque::new();
    for item in items {
        let Lane { key, limit } = lane(&item);
        let queue = lanes.entry(key.clone()).or_insert_with(|| Queue {
            waiting: VecDeque::new(),
            running: 0,
            limit: limit.max(1),
            ready: false,
        });
        queue.waiting.push_back(item);
        if !queue.ready {
            queue.ready = true;
            ring.push_back(key);
        }
    }
    let mut running: FuturesUnordered<Running<'a, K, Fut::Output>> = FuturesUnordered::new();
    futures::stream::poll_fn(move |cx: &mut Context<'_>| {
        loop {
            // Start what the limits allow, one lane at a time in turn.
            while running.len() < admitted {
                let Some(key) = ring.pop_front() else { break };
                let Some(queue) = lanes.get_mut(&key) else {
                    continue;
                };
                let Some(item) = queue.waiting.pop_front() else {
                    queue.ready = false;
                    continue;
                };
                queue.running += 1;
                if !queue.waiting.is_empty() && queue.running < queue.limit {
                    ring.push_back(key.clone());
                } else {
                    queue.ready = false;
                }
                let fut = work(item);
                running.push(Box::pin(async move { (key, fut.await) }));
            }
            match running.poll_next_unpin(cx) {
                Poll::Ready(Some((key, out))) => {
                    if let Some(queue) = lanes.get_mut(&key) {
                        queue.running -= 1;
                        if queue.waiting.is_empty() {
                            if queue.running == 0 {
                                lanes.remove(&key);
                            }
                        } else if !queue.ready {
                            queue.ready = true;
                            ring.push_back(key);
                        }
                    }
                    return Poll::Ready(Some(out));
                }
                Poll::Ready(None) if ring.is_empty() => return Poll::Ready(None),
                // Nothing running, but lanes remain: start them.
                Poll::Ready(None) => continue,
                Poll::Pending => return Poll::Pending,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::time::Duration;

    /// Two hosts allowed one request each, the first host's items listed
    /// first: the second host starts at once, not after the first's.
    #[tokio::test(start_paused = true)]
    async fn a_host_listed_first_never_holds_back_another_host() {
        let started: Rc<RefCell<Vec<(char, u128)>>> = Rc::default();
        let begin = tokio::time::Instant::now();
        let items: Vec<(char, u32)> = (0..6)
            .map(|i| ('a', i))
            .chain((0..6).map(|i| ('b', i)))
            .collect();
        let s = started.clone();
        let done: Vec<(char, u32)> = stage(
            items,
            4,
            |(host, _)| Lane {
                key: *host,
                limit: 1,
            },
            move |(host, i)| {
                let s = s.clone();
                async move {
                    s.borrow_mut().push((host, begin.elapsed().as_millis()));
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    (host, i)
                }
            },
        )
        .collect()
        .await;
        assert_eq!(done.len(), 12);
        let starts = started.borrow();
        let first_b = starts.iter().find(|(h, _)| *h == 'b').map(|(_, t)| *t);
        assert_eq!(first_b, Some(0), "b's first request starts at once");
        // Both hosts go on side by side: six seconds in all, not twelve.
        assert_eq!(begin.elapsed(), Duration::from_secs(6));
        // Never more than one of a host at a time.
        for host in ['a', 'b'] {
            let mut times: Vec<u128> = starts
                .iter()
                .filter(|(h, _)| *h == host)
                .map(|(_, t)| *t)
                .collect();
            times.sort();
            assert_eq!(times, vec![0, 1000, 2000, 3000, 4000, 5000], "{host}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn at_most_admitted_under_way_in_all() {
        let now = Rc::new(RefCell::new((0usize, 0usize)));
        let n = now.clone();
        let items: Vec<u32> = (0..40).collect();
        let count = stage(
            items,
            3,
            |i| Lane { key: *i, limit: 8 },
            move |_| {
                let n = n.clone();
                async move {
                    {
                        let mut g = n.borrow_mut();
                        g.0 += 1;
                        g.1 = g.1.max(g.0);
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    n.borrow_mut().0 -= 1;
                }
            },
        )
        .count()
        .await;
        assert_eq!(count, 40);
        assert_eq!(now.borrow().1, 3);
    }

    #[tokio::test]
    async fn no_items_is_an_empty_stream() {
        let out: Vec<()> = stage(
            Vec::<u8>::new(),
            4,
            |_| Lane { key: 0, limit: 1 },
            |_| async {},
        )
        .collect()
        .await;
        assert!(out.is_empty());
    }
}
