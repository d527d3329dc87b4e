//! The monthly harvest (vaultql's own, `GET|PUT /platform/aus/harvest`): while it is on, on the
//! 1st of each month by the merchant's clock every eligible card (a card, not an ACH account,
//! not on hold, not expired) goes into requests of at most 100 cards, as if the merchant had
//! asked. A month is harvested once: its row in `aus_harvest_runs` is written in the transaction
//! that makes its requests, and its key refuses a second. A month is harvested when it began
//! after the harvest was switched on, at the first tick, clock advance or read on or after its
//! 1st; a clock advance over several months harvests only the month it lands in.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use super::{AccountUpdaterService, MAX_CARDS, created_events, new_request};
use crate::qualpay::AusHarvestSetting;
use crate::vault::domain::card::ExpDate;
use crate::vault::error::VaultError;
use crate::vault::store::account_updater::HarvestRow;
use crate::vault::store::timestamp;

impl AccountUpdaterService {
    pub async fn harvest_setting(&self, merchant_id: i64) -> Result<AusHarvestSetting, VaultError> {
        Ok(setting(self.store.harvest(merchant_id).await?))
    }

    pub async fn set_harvest(
        &self,
        merchant_id: i64,
        enabled: bool,
        now: DateTime<Utc>,
    ) -> Result<AusHarvestSetting, VaultError> {
        let row = self
            .store
            .set_harvest(merchant_id, enabled, &timestamp(now))
            .await?;
        Ok(setting(Some(row)))
    }

    /// Harvests the month of `now` if it is due: how many requests that made.
    pub async fn harvest_due(
        &self,
        merchant_id: i64,
        now: DateTime<Utc>,
    ) -> Result<usize, VaultError> {
        let Some(row) = self.store.harvest(merchant_id).await? else {
            return Ok(0);
        };
        let today = now.date_naive();
        let month = today.format("%Y-%m").to_string();
        let month_start = NaiveDate::from_ymd_opt(today.year(), today.month(), 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| timestamp(d.and_utc()))
            .unwrap_or_default();
        if !row.enabled || row.since >= month_start || row.last_month.as_deref() == Some(&month) {
            return Ok(0);
        }
        let cards: Vec<_> = self
            .store
            .unheld_cards(merchant_id)
            .await?
            .into_iter()
            .filter(|card| {
                card.kind == "card"
                    && card
                        .exp_date
                        .as_deref()
                        .and_then(|e| ExpDate::parse(e).ok())
                        .is_some_and(|e| !e.is_expired(today))
            })
            .collect();
        let requests: Vec<_> = cards
            .chunks(MAX_CARDS)
            .map(|chunk| new_request(merchant_id, "harvest_cust_vault", chunk.to_vec(), &[], now))
            .collect();
        let made = self
            .store
            .insert_requests(&requests, Some((merchant_id, &month)), &created_events, now)
            .await?;
        crate::vault::events::committed();
        Ok(made.map_or(0, |rows| rows.len()))
    }
}

fn setting(row: Option<HarvestRow>) -> AusHarvestSetting {
    match row {
        Some(row) => AusHarvestSetting {
            enabled: row.enabled,
            last_harvest: row.last_month,
        },
        None => AusHarvestSetting::default(),
    }
}
