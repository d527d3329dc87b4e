//! SQL both backends share besides [`super::backend`]'s: how a completion writes one card's
//! answer (and changes the stored card), and a browse's order and page.

macro_rules! apply_answer_fn {
    ($db:ty) => {
        /// Writes one card's answer, and the change it makes to the stored card.
        async fn apply_answer(
            tx: &mut sqlx::Transaction<'_, $db>,
            request: &RequestRow,
            answer: &CardAnswer,
            at: &str,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "UPDATE aus_request_cards SET response_date = $1, reason_code = $2, \
                 exp_date_new = $3, card_number_new = $4 WHERE request_id = $5 AND card_id = $6",
            )
            .bind(at)
            .bind(answer.reason_code)
            .bind(&answer.exp_date_new)
            .bind(answer.number_new.as_ref().map(|n| n.masked.clone()))
            .bind(request.request_id)
            .bind(&answer.card_id)
            .execute(&mut **tx)
            .await?;
            if !answer.changes_card {
                return Ok(());
            }
            let mut update = sqlx::QueryBuilder::<$db>::new(
                "UPDATE billing_cards SET au_updated_at = ",
            );
            update.push_bind(at.to_owned());
            update.push(", updated_at = ");
            update.push_bind(at.to_owned());
            if let Some(exp_date) = &answer.exp_date_new {
                update.push(", exp_date = ");
                update.push_bind(exp_date.clone());
            }
            if answer.hold {
                update.push(", on_hold = ");
                update.push_bind(true);
            }
            if let Some(number) = &answer.number_new {
                update.push(", masked_number = ");
                update.push_bind(number.masked.clone());
                update.push(", fingerprint = ");
                update.push_bind(number.fingerprint.clone());
                update.push(", key_id = ");
                update.push_bind(number.key_id);
                update.push(", ciphertext = ");
                update.push_bind(number.ciphertext.clone());
            }
            update.push(" WHERE merchant_id = ");
            update.push_bind(request.merchant_id);
            update.push(" AND card_id = ");
            update.push_bind(answer.card_id.clone());
            if let Some(number) = &answer.number_new {
                // A customer who already stores the new number keeps this card as it was
                // (one card per number and customer).
                update.push(
                    " AND NOT EXISTS (SELECT 1 FROM billing_cards o \
                     WHERE o.customer_rec_id = billing_cards.customer_rec_id \
                     AND o.card_id <> billing_cards.card_id AND o.fingerprint = ",
                );
                update.push_bind(number.fingerprint.clone());
                update.push(")");
            }
            update.build().execute(&mut **tx).await?;
            Ok(())
        }
    };
}

/// `ORDER BY` the query's field and `tie`, then `LIMIT`/`OFFSET` of its page.
pub(super) fn push_page<'a, DB>(
    select: &mut sqlx::QueryBuilder<'a, DB>,
    query: &BrowseQuery,
    tie: &str,
) where
    DB: sqlx::Database,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let direction = if query.descending { "DESC" } else { "ASC" };
    let ties: Vec<String> = tie
        .split(", ")
        .map(|column| format!("{column} {direction}"))
        .collect();
    select.push(format_args!(
        " ORDER BY {column} {direction}, {ties} LIMIT ",
        column = query.order_on.column,
        ties = ties.join(", ")
    ));
    select.push_bind(query.count);
    select.push(" OFFSET ");
    select.push_bind(query.count.saturating_mul(query.page));
}

use crate::vault::store::BrowseQuery;
