//! The vault's clock, the one place the vault reads the time. A merchant's time is the
//! process's time plus an offset that only the sandbox's clock endpoint moves, so a test can run
//! a year of billing in milliseconds. Handlers and the scheduler read it once per request or
//! tick and pass `now` down; nothing below them reads a clock.

use std::sync::Arc;

use chrono::{DateTime, Duration, Months, Utc};

use crate::time::TimeSource;
use crate::vault::error::VaultError;
use crate::vault::store::billing::BillingStore;

/// How often an advance retries when other advances of the same merchant keep winning.
const ADVANCE_ATTEMPTS: usize = 100;

#[derive(Clone)]
pub struct Clock {
    source: TimeSource,
    store: Arc<dyn BillingStore>,
}

impl Clock {
    pub fn new(source: TimeSource, store: Arc<dyn BillingStore>) -> Self {
        Self { source, store }
    }

    /// The process's time, before any merchant's offset.
    pub fn process_now(&self) -> DateTime<Utc> {
        self.source.now()
    }

    /// The merchant's time.
    pub async fn now(&self, merchant_id: i64) -> Result<DateTime<Utc>, VaultError> {
        let offset = self.store.clock_offset(merchant_id).await?;
        Ok(self.source.now() + Duration::seconds(offset))
    }

    /// Moves the merchant's time forward and returns the new time. Two advances at once both
    /// apply, one after the other.
    pub async fn advance(
        &self,
        merchant_id: i64,
        by: &IsoDuration,
    ) -> Result<DateTime<Utc>, VaultError> {
        for _ in 0..ADVANCE_ATTEMPTS {
            let offset = self.store.clock_offset(merchant_id).await?;
            let base = self.source.now();
            let later = by
                .after(base + Duration::seconds(offset))
                .ok_or_else(|| VaultError::invalid("advance: the time would be out of range"))?;
            let moved = (later - base).num_seconds();
            if self
                .store
                .swap_clock_offset(merchant_id, offset, moved)
                .await?
            {
                // Webhook retries may have come due.
                crate::vault::events::committed();
                return Ok(later);
            }
        }
        Err(VaultError::Conflict(
            "advance: the clock is being moved by other requests; try again".into(),
        ))
    }

    /// Each merchant with billing to do, with its time now.
    pub async fn billing_merchants(&self) -> Result<Vec<(i64, DateTime<Utc>)>, VaultError> {
        let base = self.source.now();
        Ok(self
            .store
            .billing_merchants()
            .await?
            .into_iter()
            .map(|(merchant_id, offset)| (merchant_id, base + Duration::seconds(offset)))
            .collect())
    }
}

/// An ISO 8601 duration such as `P1Y2M10DT2H30M` or `P3W`, forward only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IsoDuration {
    pub months: u32,
    pub days: u64,
    pub seconds: u64,
}

impl IsoDuration {
    pub fn parse(text: &str) -> Result<Self, VaultError> {
        let bad = || {
            VaultError::invalid("advance: must be an ISO 8601 duration such as P1M, P10D or PT12H")
        };
        let rest = text.trim().strip_prefix('P').ok_or_else(bad)?;
        let (date_part, time_part) = match rest.split_once('T') {
            Some((date, time)) if !time.is_empty() => (date, Some(time)),
            Some(_) => return Err(bad()),
            None => (rest, None),
        };
        let mut duration = Self::default();
        for (value, unit) in components(date_part).ok_or_else(bad)? {
            match unit {
                'Y' => {
                    duration.months +=
                        u32::try_from(value.checked_mul(12).ok_or_else(bad)?).map_err(|_| bad())?
                }
                'M' => duration.months += u32::try_from(value).map_err(|_| bad())?,
                'W' => duration.days += value.checked_mul(7).ok_or_else(bad)?,
                'D' => duration.days += value,
                _ => return Err(bad()),
            }
        }
        for (value, unit) in components(time_part.unwrap_or_default()).ok_or_else(bad)? {
            let seconds = match unit {
                'H' => value.checked_mul(3600),
                'M' => value.checked_mul(60),
                'S' => Some(value),
                _ => None,
            };
            duration.seconds += seconds.ok_or_else(bad)?;
        }
        if date_part.is_empty() && time_part.is_none() {
            return Err(bad());
        }
        if duration.months > 12 * 100
            || duration.days > 366 * 100
            || duration.seconds > 86_400 * 366
        {
            return Err(VaultError::invalid("advance: at most 100 years at a time"));
        }
        Ok(duration)
    }

    /// The time this long after `start`; months are calendar months.
    pub fn after(&self, start: DateTime<Utc>) -> Option<DateTime<Utc>> {
        start
            .checked_add_months(Months::new(self.months))?
            .checked_add_signed(Duration::days(i64::try_from(self.days).ok()?))?
            .checked_add_signed(Duration::seconds(i64::try_from(self.seconds).ok()?))
    }
}

/// `10D3M` → [(10, 'D'), (3, 'M')]; `None` if malformed.
fn components(text: &str) -> Option<Vec<(u64, char)>> {
    let mut out = Vec::new();
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
        } else {
            if number.is_empty() {
                return None;
            }
            out.push((number.parse().ok()?, c));
            number.clear();
        }
    }
    number.is_empty().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_durations_parse() {
        let d = IsoDuration::parse("P1Y2M3W4DT5H6M7S").unwrap();
        assert_eq!(
            d,
            IsoDuration {
                months: 14,
                days: 25,
                seconds: 5 * 3600 + 6 * 60 + 7
            }
        );
        assert_eq!(IsoDuration::parse("P3M").unwrap().months, 3);
        assert_eq!(IsoDuration::parse("PT12H").unwrap().seconds, 43_200);
        for bad in ["", "P", "3M", "PT", "P-1M", "P1X", "PM", "P1.5D", "P99999Y"] {
            assert!(IsoDuration::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn months_are_calendar_months() {
        let start = "2027-01-31T10:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let later = IsoDuration::parse("P1M").unwrap().after(start).unwrap();
        assert_eq!(later.to_rfc3339(), "2027-02-28T10:00:00+00:00");
    }
}
