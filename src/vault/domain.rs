//! Rules of payment data that need no storage: card numbers, expiry dates, CVVs, bank accounts.

pub mod ach;
pub mod card;
