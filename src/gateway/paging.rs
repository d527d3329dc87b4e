//! Relay connections over the upstream's `count`/`page` browse. A cursor is the absolute offset
//! of an item in the ordered result, so a forward walk (`first`/`after`) and a backward walk
//! (`last`/`before`) over the same data see the same items in the same order.

use std::future::Future;

use async_graphql::SimpleObject;
use async_graphql::connection::{Connection, Edge};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64;

use crate::gateway::error::GatewayError;
use crate::qualpay::{Filter, ListResponse};
use crate::upstream::{BrowseParams, UpstreamError};

/// Items in a page when neither `first` nor `last` is given.
pub const DEFAULT_PAGE_SIZE: usize = 10;
/// Largest page; larger `first`/`last` are capped to it.
pub const MAX_PAGE_SIZE: usize = 100;

/// The Relay paging arguments of a connection field.
#[derive(Debug, Clone, Default)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

/// One page of a connection: the items, the offset of the first one, and the total.
#[derive(Debug)]
pub struct Window<T> {
    pub items: Vec<T>,
    pub start: usize,
    pub total: usize,
}

impl<T> Window<T> {
    pub fn has_previous_page(&self) -> bool {
        self.start > 0
    }

    pub fn has_next_page(&self) -> bool {
        self.start + self.items.len() < self.total
    }
}

pub fn encode_cursor(offset: usize) -> String {
    BASE64.encode(format!("offset:{offset}"))
}

pub fn decode_cursor(cursor: &str) -> Result<usize, GatewayError> {
    BASE64
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix("offset:")?.parse().ok())
        .ok_or_else(|| {
            GatewayError::BadUserInput(format!("'{cursor}' is not a cursor of this connection"))
        })
}

fn size(name: &str, value: Option<i32>) -> Result<Option<usize>, GatewayError> {
    match value {
        Some(n) if n < 0 => Err(GatewayError::BadUserInput(format!(
            "`{name}` must not be negative"
        ))),
        Some(n) => Ok(Some((n as usize).min(MAX_PAGE_SIZE))),
        None => Ok(None),
    }
}

/// Fetches the page `args` asks for. `fetch(count, page)` is one upstream browse call that
/// returns that page's items and the total number of matches.
pub async fn paginate<T, F, Fut>(args: &PageArgs, fetch: F) -> Result<Window<T>, GatewayError>
where
    F: Fn(usize, usize) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, usize), GatewayError>>,
{
    let first = size("first", args.first)?;
    let last = size("last", args.last)?;
    let mut start = match &args.after {
        Some(cursor) => decode_cursor(cursor)? + 1,
        None => 0,
    };
    let before = args.before.as_deref().map(decode_cursor).transpose()?;
    let end = match (first, last, before) {
        (Some(first), _, before) => before.map_or(start + first, |b| b.min(start + first)),
        (None, Some(_), Some(before)) => before,
        // `last` alone counts back from the end, which takes knowing the total first.
        (None, Some(_), None) => fetch(1, 0).await?.1,
        (None, None, before) => before.map_or(start + DEFAULT_PAGE_SIZE, |b| {
            b.min(start + DEFAULT_PAGE_SIZE)
        }),
    };
    if let Some(last) = last {
        start = start.max(end.saturating_sub(last));
    }
    let end = end.max(start);
    fetch_range(start, end, &fetch).await
}

/// The page `args` asks for of an upstream browse ordered by `order`, with `filters`.
/// `browse` is one upstream browse call (`browse_customers`, `browse_plans`, ...).
pub async fn browse_window<T, F, Fut>(
    args: &PageArgs,
    order: (&'static str, &'static str),
    filters: &[Filter],
    browse: F,
) -> Result<Window<T>, GatewayError>
where
    F: Fn(BrowseParams) -> Fut,
    Fut: Future<Output = Result<ListResponse<T>, UpstreamError>>,
{
    paginate(args, |count, page| {
        let params = BrowseParams {
            count: count as i64,
            page: page as i64,
            order_on: Some(order.0),
            order_by: Some(order.1),
            filters: filters.to_vec(),
        };
        let answer = browse(params);
        async move {
            let page = answer.await?;
            let total = usize::try_from(page.total_records).unwrap_or_default();
            Ok((page.data, total))
        }
    })
    .await
}

/// Fetches the items at offsets `start..end` (at most [`MAX_PAGE_SIZE`]) with as few calls as
/// the upstream's page alignment allows: one, when some page size puts them on one page.
async fn fetch_range<T, F, Fut>(
    start: usize,
    end: usize,
    fetch: &F,
) -> Result<Window<T>, GatewayError>
where
    F: Fn(usize, usize) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, usize), GatewayError>>,
{
    let wanted = end - start;
    if wanted == 0 {
        let (_, total) = fetch(1, 0).await?;
        return Ok(Window {
            items: Vec::new(),
            start,
            total,
        });
    }
    let pages = match (wanted..=MAX_PAGE_SIZE).find(|count| start / count == (end - 1) / count) {
        Some(count) => vec![(count, start / count)],
        None => (start / MAX_PAGE_SIZE..=(end - 1) / MAX_PAGE_SIZE)
            .map(|page| (MAX_PAGE_SIZE, page))
            .collect(),
    };
    let mut items = Vec::new();
    let mut total = 0;
    let first_offset = pages[0].0 * pages[0].1;
    for (count, page) in pages {
        let (page_items, page_total) = fetch(count, page).await?;
        items.extend(page_items);
        total = page_total;
    }
    let items = items
        .into_iter()
        .skip(start - first_offset)
        .take(wanted)
        .collect();
    Ok(Window {
        items,
        start,
        total,
    })
}

/// Fields a connection has beside `edges` and `pageInfo`.
#[derive(SimpleObject)]
pub struct ConnectionTotal {
    /// How many items match, on all pages.
    pub total_count: i64,
}

/// A Relay connection from a window; each edge's cursor is its item's offset.
pub fn connection<T: async_graphql::OutputType>(
    window: Window<T>,
) -> Connection<String, T, ConnectionTotal> {
    let mut connection = Connection::with_additional_fields(
        window.has_previous_page(),
        window.has_next_page(),
        ConnectionTotal {
            total_count: window.total as i64,
        },
    );
    let start = window.start;
    connection.edges.extend(
        window
            .items
            .into_iter()
            .enumerate()
            .map(|(i, item)| Edge::new(encode_cursor(start + i), item)),
    );
    connection
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    /// A fake upstream over `0..total`, recording the (count, page) calls it gets.
    async fn run(args: PageArgs, total: usize) -> (Window<usize>, Vec<(usize, usize)>) {
        let calls = RefCell::new(Vec::new());
        let window = paginate(&args, |count, page| {
            calls.borrow_mut().push((count, page));
            let items = (page * count..(page * count + count).min(total)).collect();
            async move { Ok((items, total)) }
        })
        .await
        .unwrap();
        (window, calls.into_inner())
    }

    fn block<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn a_first_page_is_one_call() {
        let (window, calls) = block(run(
            PageArgs {
                first: Some(50),
                ..Default::default()
            },
            500,
        ));
        assert_eq!(window.items, (0..50).collect::<Vec<_>>());
        assert_eq!(calls, [(50, 0)]);
        assert!(window.has_next_page() && !window.has_previous_page());
    }

    #[test]
    fn unaligned_windows_pick_a_page_size_that_covers_them() {
        let after = Some(encode_cursor(4));
        let (window, calls) = block(run(
            PageArgs {
                first: Some(10),
                after,
                ..Default::default()
            },
            500,
        ));
        assert_eq!(window.items, (5..15).collect::<Vec<_>>());
        assert_eq!(calls.len(), 1);
    }

    #[test]
    fn forward_and_backward_walks_see_the_same_items_in_the_same_order() {
        let total = 37;
        let mut forward = Vec::new();
        let mut after = None;
        loop {
            let (window, _) = block(run(
                PageArgs {
                    first: Some(5),
                    after: after.clone(),
                    ..Default::default()
                },
                total,
            ));
            forward.extend(window.items.iter().copied());
            if !window.has_next_page() {
                break;
            }
            after = Some(encode_cursor(window.start + window.items.len() - 1));
        }
        let mut backward = Vec::new();
        let mut before = None;
        loop {
            let (window, _) = block(run(
                PageArgs {
                    last: Some(5),
                    before: before.clone(),
                    ..Default::default()
                },
                total,
            ));
            backward.splice(0..0, window.items.iter().copied());
            if !window.has_previous_page() {
                break;
            }
            before = Some(encode_cursor(window.start));
        }
        assert_eq!(forward, (0..total).collect::<Vec<_>>());
        assert_eq!(backward, forward);
    }

    #[test]
    fn defaults_caps_and_bad_input() {
        let (window, _) = block(run(PageArgs::default(), 500));
        assert_eq!(window.items.len(), DEFAULT_PAGE_SIZE);
        let (window, _) = block(run(
            PageArgs {
                first: Some(1000),
                ..Default::default()
            },
            500,
        ));
        assert_eq!(window.items.len(), MAX_PAGE_SIZE);
        let (window, _) = block(run(
            PageArgs {
                last: Some(3),
                ..Default::default()
            },
            20,
        ));
        assert_eq!(window.items, vec![17, 18, 19]);
        assert!(decode_cursor("nope").is_err());
        let result = block(paginate(
            &PageArgs {
                first: Some(-1),
                ..Default::default()
            },
            |_, _| async { Ok((Vec::<usize>::new(), 0)) },
        ));
        assert!(result.is_err());
    }
}
