//! What a query may cost before it runs. A field costs 1 plus what its selection costs; a list
//! field costs its selection once per item it may return: the page size for connections
//! (`first` or `last`, 10 when neither is given) and [`EMBEDDED_LIST`] for lists that come whole
//! with their parent (a customer's cards, addresses, subscriptions). async-graphql adds the costs
//! up while it validates, walking each fragment once per spread and each alias as its own field,
//! and refuses a document over [`MAX_COST`] (the schema's `limit_complexity`) before any
//! resolver runs, so before any upstream call; [`explain`] words that refusal.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation};
use async_graphql::{ServerError, ValidationResult};

use super::error::coded;

/// Most a query may cost.
pub const MAX_COST: usize = 50_000;
/// Items a connection is taken to return when the query gives neither `first` nor `last`.
pub const DEFAULT_PAGE: usize = 10;
/// Items an embedded list (a customer's cards, bank accounts, addresses or subscriptions) is
/// taken to hold: Qualpay sets no limit, and a customer with more is rare.
pub const EMBEDDED_LIST: usize = 10;
/// No one field is taken to cost more than this, so that sums cannot overflow.
const FIELD_CAP: usize = 1 << 40;

/// A connection field: its selection once per item of the page asked for.
pub fn page(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    let items = first
        .or(last)
        .map_or(DEFAULT_PAGE, |n| usize::try_from(n).unwrap_or(0));
    per_item(items, child_complexity)
}

/// A list that comes whole with its parent: its selection once per item it is taken to hold.
pub fn embedded(child_complexity: usize) -> usize {
    per_item(EMBEDDED_LIST, child_complexity)
}

fn per_item(items: usize, child_complexity: usize) -> usize {
    items
        .saturating_mul(child_complexity)
        .saturating_add(1)
        .min(FIELD_CAP)
}

/// async-graphql's own refusal of a query over [`MAX_COST`] (the schema's `limit_complexity`),
/// as this gateway words it: `extensions.code` `QUERY_TOO_COMPLEX`, the limit and what to do.
/// Other errors are left as they are.
pub fn explain(error: &mut ServerError) {
    if error.message == "Query is too complex." {
        *error = coded(
            "QUERY_TOO_COMPLEX",
            format!(
                "query costs over the limit of {MAX_COST}: ask for smaller pages (first/last) \
                 or fewer fields"
            ),
        );
    }
}

/// Puts each operation's cost on its trace span (`graphql.cost`); installed only when traces
/// are exported.
pub struct CostOnSpan;

impl ExtensionFactory for CostOnSpan {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(CostOnSpan)
    }
}

#[async_trait::async_trait]
impl Extension for CostOnSpan {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        crate::telemetry::spans::record_cost(result.complexity);
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_multiply_their_selection_and_never_overflow() {
        assert_eq!(page(Some(50), None, 3), 151);
        assert_eq!(page(None, Some(5), 3), 16);
        assert_eq!(page(None, None, 3), 31);
        assert_eq!(page(Some(-4), None, 3), 1);
        assert_eq!(page(Some(i32::MAX), None, usize::MAX), FIELD_CAP);
        assert_eq!(embedded(4), 41);
    }
}
