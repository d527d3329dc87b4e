//! Completing a request: each card's answer from [`test_cards`], the new number of a `202`
//! sealed for the same card id, and one guarded transaction that applies them with
//! `account_updater_request_completed`.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{AUDIT_PURPOSE, AccountUpdaterService, summary, test_cards, to_value};
use crate::vault::crypto::number_aad;
use crate::vault::domain::card::CardNumber;
use crate::vault::error::VaultError;
use crate::vault::events::{EventName, NewEvent};
use crate::vault::store::account_updater::{CardAnswer, NewNumber, RequestCardRow, RequestRow};
use crate::vault::store::timestamp;

impl AccountUpdaterService {
    /// Answers each card of the request and applies the answers, once: `false` when someone
    /// else completed (or canceled) it first.
    pub(super) async fn complete(
        &self,
        request: &RequestRow,
        now: DateTime<Utc>,
    ) -> Result<bool, VaultError> {
        let merchant_id = request.merchant_id;
        let cards = self.store.request_cards(request.request_id).await?;
        let wanted: Vec<(&str, &str)> = cards
            .iter()
            .map(|c| (c.customer_id.as_str(), c.card_id.as_str()))
            .collect();
        let opened = self
            .vault
            .open_cards(merchant_id, &wanted, AUDIT_PURPOSE, now)
            .await?;
        let mut answers = Vec::with_capacity(cards.len());
        let mut event_cards = Vec::with_capacity(cards.len());
        for card in &cards {
            let answer = match opened.get(&card.card_id) {
                Some(open) => {
                    let a = test_cards::answer(open.number.expose(), open.exp_date.as_deref());
                    let number_new = match a.number_new {
                        Some(number) => Some(self.new_number(merchant_id, card, number)?),
                        None => None,
                    };
                    CardAnswer {
                        card_id: card.card_id.clone(),
                        reason_code: a.reason_code,
                        changes_card: test_cards::billable(a.reason_code),
                        exp_date_new: a.exp_date_new,
                        number_new,
                        hold: a.hold,
                    }
                }
                None => CardAnswer {
                    card_id: card.card_id.clone(),
                    reason_code: test_cards::NO_RESPONSE,
                    exp_date_new: None,
                    number_new: None,
                    hold: false,
                    changes_card: false,
                },
            };
            let mut entry = json!({
                "card_id": card.card_id,
                "customer_id": card.customer_id,
                "reason_code": answer.reason_code,
            });
            if let Some(exp) = &answer.exp_date_new {
                entry["exp_date_new"] = json!(exp);
            }
            event_cards.push(entry);
            answers.push(answer);
        }
        let cnt_update = answers
            .iter()
            .filter(|a| test_cards::updates(a.reason_code))
            .count();
        let cnt_update = i64::try_from(cnt_update).unwrap_or(i64::MAX);
        let completed = RequestRow {
            status: "COMPLETED".into(),
            cnt_response: request.cnt_request,
            cnt_update,
            response_date: Some(timestamp(now)),
            ..request.clone()
        };
        let mut data = to_value(summary(completed));
        data["cards"] = Value::Array(event_cards);
        let event = NewEvent {
            merchant_id,
            name: EventName::AccountUpdaterRequestCompleted,
            data,
        };
        let done = self
            .store
            .complete_request(request, &answers, cnt_update, &event, now)
            .await?;
        if done {
            crate::vault::events::committed();
        }
        Ok(done)
    }

    /// A `202` card's new number, sealed for the same card id and fingerprinted.
    fn new_number(
        &self,
        merchant_id: i64,
        card: &RequestCardRow,
        number: &str,
    ) -> Result<NewNumber, VaultError> {
        let parsed = CardNumber::parse(number)
            .map_err(|e| VaultError::Internal(format!("a test card's new number: {e}")))?;
        let aad = number_aad(merchant_id, &card.customer_id, &card.card_id);
        let sealed = self.vault.seal_number(parsed.expose().as_bytes(), &aad);
        Ok(NewNumber {
            masked: parsed.masked(),
            fingerprint: self.vault.fingerprint(merchant_id, parsed.expose()),
            key_id: sealed.key_id,
            ciphertext: sealed.blob,
        })
    }
}
